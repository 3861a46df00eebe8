"""textgen's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit.configs import FULL_TRAIN, QUICK_TRAIN, TINY_TRAIN, AppConfig
from rnnkit.fields import RATE, Config, setting

CELLS = ("lstm", "gru", "elman")
# The most characters one request may ask for (the CLI and the SavedModel agree).
MAX_NEW_CHARS = 10_000
# Dynamic evaluation (apps.textgen.dynamic): chosen on the end of the training
# split of the embedded corpus (README, textgen quality), never on the
# validation text it is reported on.
DYNAMIC_SEGMENT = 50
DYNAMIC_LR = 3e-4
DYNAMIC_DECAY = 1e-3


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Where the text comes from and how it is cut into training windows."""

    source: str = setting(
        "embedded",
        "Data source: embedded (the Shakespeare corpus shipped with rnnkit), file:PATH (a "
        "UTF-8 text file or folder of them) or tfds:tiny_shakespeare (with --data-dir).",
        flag="--data",
    )
    data_dir: str | None = setting(
        None, "TFDS data dir for --data tfds:NAME.", flag=True, path="dir"
    )
    seq_len: int = setting(100, "Training window length.", flag=True, min=2)
    val_fraction: float = setting(
        0.1,
        "The share of the text held out for validation.",
        min=0,
        max=0.5,
        min_open=True,
        max_open=True,
    )
    max_chars: int | None = setting(None, "Read at most this many characters.", min=1)
    tbptt: int | None = setting(
        None,
        "Train on consecutive K-char windows with the state carried across them (the quick "
        "preset: 100); 0: random --seq-len windows from zero states.",
        flag=True,
        min=0,
    )

    def __post_init__(self):
        if self.tbptt == 0:  # 0: off, as None (`--tbptt 0` turns a preset's off)
            object.__setattr__(self, "tbptt", None)
        super().__post_init__()


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """The character model and its regularisers (AWD-LSTM's, Merity et al. 2018)."""

    cell: str = setting("lstm", "Recurrent cell.", flag=True, choices=CELLS)
    layers: int = setting(2, "Stacked recurrent layers.", flag=True, min=1)
    units: int = setting(256, "Units per layer.", flag=True, min=1)
    embedding_dim: int = setting(64, "Size of the character embedding.", min=1)
    dropout: float = setting(0.0, "Output dropout.", flag=True, **RATE)
    locked: bool = setting(
        False,
        "One dropout mask per sequence (variational), not one per step.",
        flag="--locked-dropout",
    )
    input_dropout: float = setting(0.0, "Dropout on the embeddings.", flag=True, **RATE)
    embedding_dropout: float = setting(
        0.0, "Fraction of characters whose embedding is dropped per batch.", flag=True, **RATE
    )
    weight_dropout: float = setting(
        0.0, "DropConnect on the recurrent kernels (one mask per batch).", flag=True, **RATE
    )
    activation_reg: float = setting(
        0.0, "AR: weight of the mean squared last-layer output.", flag=True, min=0
    )
    temporal_reg: float = setting(
        0.0,
        "TAR: weight of the mean squared step-to-step change of that output.",
        flag=True,
        min=0,
    )


@dataclasses.dataclass(frozen=True)
class TextgenConfig(AppConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    sample_prompt: str = setting("ROMEO:", "The prompt of the samples written to TensorBoard.")


PRESETS = {
    # Seconds: for tests. A slice of the corpus, a few steps.
    "tiny": TextgenConfig(
        data=DataConfig(seq_len=32, max_chars=40_000),
        model=ModelConfig(layers=1, units=32, embedding_dim=16),
        train=TINY_TRAIN.replace(learning_rate=5e-3, steps_per_epoch=6, validation_steps=4),
    ),
    # The demo: about 7.5 minutes of training on two CPU cores (8-13 before
    # the loop stopped tf.data's autotuning, docs/benchmarks.md). The state is
    # carried across 100-char windows, as evaluation reads the text, at a
    # higher peak LR (README, textgen quality).
    "quick": TextgenConfig(
        data=DataConfig(tbptt=100),
        model=ModelConfig(layers=2, units=256, embedding_dim=64, dropout=0.1),
        train=QUICK_TRAIN.replace(
            epochs=15, batch_size=64, learning_rate=8e-3, warmup_steps=50, log_every=20
        ),
    ),
    # The best quality: about 20 minutes on two CPU cores. The AWD recipe
    # (locked dropout, weight drop) with the state carried beat 2 x 512 with
    # plain dropout on three seeds, in less time (docs/benchmarks.md).
    "full": TextgenConfig(
        data=DataConfig(tbptt=100),
        model=ModelConfig(
            layers=2, units=384, embedding_dim=64, dropout=0.4, locked=True, weight_dropout=0.2
        ),
        train=FULL_TRAIN.replace(epochs=24, batch_size=64, learning_rate=6e-3, log_every=50),
    ),
}
