"""speechtag's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit import fields
from rnnkit.training import TrainConfig

CELLS = ("lstm", "gru", "elman")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the labelled speech comes from.

    ``source``: ``espeak`` (digit strings synthesized with eSpeak NG, the
    default; ``utterances`` / ``validation`` / ``test`` of them, from
    ``corpus_seed``) or ``dir:PATH`` (WAV files with TextGrid or
    ``.PHN``/``.WRD`` labels; 10% of the files for validation and 10% for
    test). ``phone_tier`` / ``word_tier``: the TextGrid tier names.
    """

    source: str = "espeak"
    utterances: int = 2000
    validation: int = 200
    test: int = 300
    corpus_seed: int = 0
    phone_tier: str = "phones"
    word_tier: str = "words"

    def __post_init__(self):
        fields.positive_ints(self, "utterances", "validation", "test")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The tagger: log-mel features, stacked rnnkit layers, two softmax heads.

    ``streaming``: unidirectional layers and a causal normalisation, for
    chunked inference; else bidirectional layers over the whole utterance.
    ``lookahead`` (streaming only): 10 ms frames each tag waits for, heard
    past the frame it tags. ``channel_augment``: coloured noise and low-pass
    cuts on the training audio's spectrum (see ``SpeechTagger``).
    """

    cell: str = "lstm"
    layers: int = 2
    units: int = 128
    dropout: float = 0.1
    streaming: bool = False
    n_mels: int = 40
    spec_augment: bool = True
    lookahead: int = 0
    channel_augment: bool = True

    def __post_init__(self):
        fields.one_of(self, "cell", CELLS)
        fields.positive_ints(self, "layers", "units", "n_mels")
        fields.rate(self, "dropout")
        if not isinstance(self.lookahead, int) or self.lookahead < 0:
            raise ValueError(
                f"`lookahead` must be a non-negative integer. Received: lookahead={self.lookahead}"
            )
        if self.lookahead and not self.streaming:
            raise ValueError(
                "`lookahead` applies to the streaming model only (streaming=True, --streaming). "
                f"Received: lookahead={self.lookahead} with streaming=False"
            )
        if self.n_mels < 8:
            raise ValueError(f"`n_mels` must be at least 8. Received: n_mels={self.n_mels}")


@dataclasses.dataclass(frozen=True)
class SpeechtagConfig:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    seed: int = 0


PRESETS = {
    # Seconds: for tests; no dropout or SpecAugment, so runs on one and on two
    # replicas see the same random draws (none).
    "tiny": SpeechtagConfig(
        data=DataConfig(utterances=48, validation=12, test=12),
        model=ModelConfig(
            layers=1,
            units=16,
            n_mels=16,
            dropout=0.0,
            spec_augment=False,
            channel_augment=False,
        ),
        train=TrainConfig(
            epochs=2, batch_size=8, learning_rate=3e-3, checkpoint_every=6, log_every=2
        ),
    ),
    # The demo: a few minutes on two CPU cores.
    "quick": SpeechtagConfig(
        data=DataConfig(utterances=2000, validation=200, test=300),
        model=ModelConfig(layers=2, units=64, dropout=0.1),
        train=TrainConfig(
            epochs=12, batch_size=32, learning_rate=3e-3, warmup_steps=30, log_every=10
        ),
    ),
    # The best quality: about 30 minutes on two CPU cores.
    "full": SpeechtagConfig(
        data=DataConfig(utterances=5000, validation=300, test=500),
        model=ModelConfig(layers=2, units=128, dropout=0.2),
        train=TrainConfig(
            epochs=12,
            batch_size=32,
            learning_rate=2e-3,
            warmup_steps=100,
            checkpoint_every=500,
            log_every=20,
            patience=4,
        ),
    ),
}
# The streaming model: one direction of twice the width (the same cost per
# step as quick's two directions), tags 100 ms late, and twice quick's epochs
# (about 16 minutes): its WER was 15.2% at 8 epochs, 7.9% at 16, 5.6% at 24
# (seed 0).
PRESETS["quick-streaming"] = dataclasses.replace(
    PRESETS["quick"],
    model=dataclasses.replace(PRESETS["quick"].model, streaming=True, units=128, lookahead=10),
    train=dataclasses.replace(PRESETS["quick"].train, epochs=24),
)
