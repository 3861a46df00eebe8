"""speechtag's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit.configs import FULL_TRAIN, QUICK_TRAIN, TINY_TRAIN, AppConfig
from rnnkit.fields import RATE, Config, setting

CELLS = ("lstm", "gru", "elman")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Where the labelled speech comes from.

    ``dir:PATH`` gives 10% of the files for validation and 10% for test.
    """

    source: str = setting(
        "espeak",
        "Data source: espeak (digit strings synthesized with eSpeak NG, the default) or "
        "dir:PATH (WAV files with TextGrid or .PHN/.WRD labels).",
        flag="--data",
    )
    utterances: int = setting(2000, "espeak: training utterances.", flag=True, min=1)
    validation: int = setting(200, "espeak: validation utterances.", min=1)
    test: int = setting(300, "espeak: test utterances.", min=1)
    corpus_seed: int = setting(0, "espeak: the seed the utterances are drawn from.")
    mixed_voices: float = setting(
        0.5,
        "espeak: the share of training utterances spoken by a mixed voice, a variant made "
        "for the utterance from the training variants' settings, each formant, pitch, tone "
        "and voicing line from one drawn at random (0: none).",
        min=0,
        max=1,
    )
    reverb: float = setting(
        0.0,
        "The share of training utterances heard in a simulated room, drawn anew every "
        "epoch (RT60 0.2-0.8 s; pyroomacoustics's image-source model; 0: none).",
        min=0,
        max=1,
    )
    phone_tier: str = setting(
        "phones", "dir: the TextGrid tier of phones (default phones).", flag=True
    )
    word_tier: str = setting("words", "dir: the TextGrid tier of words (default words).", flag=True)
    speed_perturb: float = setting(
        0.0,
        "Speed perturbation: each epoch plays every training utterance at 1 - this, 1 or "
        "1 + this times its speed, drawn at random (0: off; Ko et al. 2015 use 0.1). Timing, "
        "pitch and formants change together, and the labels move with the audio.",
        flag=True,
        min=0,
        max=0.3,
    )


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """The tagger: log-mel features, stacked rnnkit layers, two softmax heads."""

    cell: str = setting("lstm", "Recurrent cell.", flag=True, choices=CELLS)
    layers: int = setting(2, "Stacked recurrent layers.", flag=True, min=1)
    units: int = setting(128, "Units per layer and direction.", flag=True, min=1)
    dropout: float = setting(0.1, "Dropout between layers.", flag=True, **RATE)
    streaming: bool = setting(
        False,
        "Unidirectional layers with a causal normalisation (chunked inference), or "
        "bidirectional ones over whole utterances (the default).",
        flag=True,
        off="--offline",
    )
    n_mels: int = setting(40, "Log-mel bands of the features.", min=8)
    spec_augment: bool = setting(
        True, "SpecAugment time and frequency masks on the training features.", flag=True
    )
    lookahead: int = setting(
        0,
        "Streaming: 10 ms frames each tag waits for (its latency), heard past the frame it tags.",
        flag=True,
        min=0,
        metavar="FRAMES",
    )
    channel_augment: bool = setting(
        True,
        "Coloured noise (0-20 dB SNR) and low-pass cuts (3-7 kHz) on the training audio.",
        flag=True,
    )

    vtlp: float = setting(
        0.1,
        "Vocal tract length perturbation: each training utterance's frequency axis "
        "stretched by a factor uniform in 1 +- this (0: off), as a longer or shorter vocal "
        "tract moves the formants.",
        flag=True,
        min=0,
        max=0.5,
    )
    pitch_shift: float = setting(
        0.0,
        "Pitch perturbation: each training utterance's harmonics moved by a factor "
        "log-uniform within this many semitones either way, its spectral envelope kept "
        "(0: off).",
        min=0,
        max=12,
    )

    def __post_init__(self):
        super().__post_init__()
        if self.lookahead and not self.streaming:
            raise ValueError(
                "`lookahead` applies to the streaming model only (streaming=True, --streaming). "
                f"Received: lookahead={self.lookahead} with streaming=False"
            )


@dataclasses.dataclass(frozen=True)
class SpeechtagConfig(AppConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()


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
            vtlp=0.0,
        ),
        train=TINY_TRAIN.replace(batch_size=8, checkpoint_every=6),
    ),
    # The demo: a few minutes on two CPU cores.
    "quick": SpeechtagConfig(
        data=DataConfig(utterances=2000, validation=200, test=300),
        model=ModelConfig(layers=2, units=64, dropout=0.1),
        train=QUICK_TRAIN.replace(warmup_steps=30),
    ),
    # The best quality: about 30 minutes on two CPU cores.
    "full": SpeechtagConfig(
        data=DataConfig(utterances=5000, validation=300, test=500),
        model=ModelConfig(layers=2, units=128, dropout=0.2),
        train=FULL_TRAIN.replace(epochs=12),
    ),
}
# The streaming model: one direction of twice the width (the same cost per
# step as quick's two directions), tags 100 ms late, and twice quick's epochs
# (about 16 minutes; README, speechtag quality).
PRESETS["quick-streaming"] = PRESETS["quick"].replace(
    model=PRESETS["quick"].model.replace(streaming=True, units=128, lookahead=10),
    train=PRESETS["quick"].train.replace(epochs=24),
)
