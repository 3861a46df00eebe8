"""textgen's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit import fields
from rnnkit.training import TrainConfig

CELLS = ("lstm", "gru", "elman")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the text comes from and how it is cut into training windows.

    ``source``: ``embedded`` (the Shakespeare corpus shipped with rnnkit),
    ``file:PATH`` (a UTF-8 text file or a folder of them) or
    ``tfds:tiny_shakespeare`` (prepared under ``data_dir``).
    """

    source: str = "embedded"
    data_dir: str | None = None
    seq_len: int = 100
    val_fraction: float = 0.1
    max_chars: int | None = None
    tbptt: int | None = None

    def __post_init__(self):
        if not isinstance(self.seq_len, int) or self.seq_len < 2:
            raise ValueError(f"`seq_len` must be an integer >= 2. Received: seq_len={self.seq_len}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(
                f"`val_fraction` must be in (0, 0.5). Received: val_fraction={self.val_fraction}"
            )
        if self.tbptt == 0:  # 0: off, as None (`--tbptt 0` turns a preset's off)
            object.__setattr__(self, "tbptt", None)
        fields.positive_ints(self, "tbptt", optional=True)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The character model and its regularisers (AWD-LSTM's, Merity et al. 2018).

    ``dropout``: on each recurrent layer's outputs; ``locked``: one mask per
    sequence for every step (variational dropout), else a mask per step.
    ``input_dropout``: the same on the embeddings. ``embedding_dropout``:
    whole characters' embeddings dropped, one mask per batch.
    ``weight_dropout``: DropConnect on each recurrent kernel, one mask per
    batch (the native kernels take the dropped kernel). ``activation_reg``
    and ``temporal_reg``: AR and TAR, the weights of the mean squared last
    layer output (dropped) and of its mean squared step-to-step change.
    """

    cell: str = "lstm"
    layers: int = 2
    units: int = 256
    embedding_dim: int = 64
    dropout: float = 0.0
    locked: bool = False
    input_dropout: float = 0.0
    embedding_dropout: float = 0.0
    weight_dropout: float = 0.0
    activation_reg: float = 0.0
    temporal_reg: float = 0.0

    def __post_init__(self):
        fields.one_of(self, "cell", CELLS)
        fields.positive_ints(self, "layers", "units", "embedding_dim")
        for name in ("dropout", "input_dropout", "embedding_dropout", "weight_dropout"):
            fields.rate(self, name)
        for name in ("activation_reg", "temporal_reg"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"`{name}` must be >= 0. Received: {name}={getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class TextgenConfig:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    seed: int = 0
    sample_prompt: str = "ROMEO:"


PRESETS = {
    # Seconds: for tests. A slice of the corpus, a few steps.
    "tiny": TextgenConfig(
        data=DataConfig(seq_len=32, max_chars=40_000),
        model=ModelConfig(layers=1, units=32, embedding_dim=16),
        train=TrainConfig(
            epochs=2,
            batch_size=16,
            learning_rate=5e-3,
            steps_per_epoch=6,
            validation_steps=4,
            checkpoint_every=4,
            log_every=2,
        ),
    ),
    # The demo: 8-13 minutes of training on two CPU cores (30-43 s an epoch,
    # with the machine's load).
    # The state carried across 100-char windows (as evaluation reads the
    # text) and a higher peak LR: 2.077 bits/char against 2.175 for random
    # windows at 3e-3 (tbptt at 3e-3: 2.150, at 5e-3: 2.106).
    "quick": TextgenConfig(
        data=DataConfig(tbptt=100),
        model=ModelConfig(layers=2, units=256, embedding_dim=64, dropout=0.1),
        train=TrainConfig(
            epochs=15,
            batch_size=64,
            learning_rate=8e-3,
            warmup_steps=50,
            checkpoint_every=200,
            log_every=20,
        ),
    ),
    # The best quality: about 32 minutes on two CPU cores (early stop after ~24
    # epochs). Dropout 0.4 beat 0.25 (2.052 against 2.073 bits/char).
    "full": TextgenConfig(
        model=ModelConfig(layers=2, units=512, embedding_dim=64, dropout=0.4),
        train=TrainConfig(
            epochs=30,
            batch_size=64,
            learning_rate=2e-3,
            warmup_steps=100,
            checkpoint_every=500,
            log_every=50,
            patience=4,
        ),
    ),
}
