"""forecast's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit import fields
from rnnkit.training import TrainConfig

CELLS = ("lstm", "gru", "elman")
BASES = ("auto", "seasonal", "naive")
FILLS = ("interpolate", "error")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which series, and how it is cut into windows.

    ``source``: ``statsmodels:NAME`` (``co2``, the default; ``sunspots``,
    ``elnino``, ``macrodata``) or ``csv:PATH`` (with ``time_col`` and
    ``target``). ``lookback``, ``horizon`` and ``season`` left at None take
    the data set's defaults (for a CSV: from its frequency). ``season`` may
    name several periods (hourly data: ``(24, 168)``, a day and a week): the
    first is the season of seasonal naive and MASE, and the one the model
    starts from; the model also reads the values one of each season back.
    The lookback must cover the longest season the model reads.
    ``covariates`` are observed with the targets: inputs, not forecast.
    The last ``test_fraction`` of the series is held out for ``evaluate``;
    the ``val_fraction`` before it picks the best epoch.
    """

    source: str = "statsmodels:co2"
    target: tuple[str, ...] | None = None
    covariates: tuple[str, ...] | None = None
    time_col: str | None = None
    freq: str | None = None
    fill: str = "interpolate"
    lookback: int | None = None
    horizon: int | None = None
    season: tuple[int, ...] | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.2

    def __post_init__(self):
        fields.positive_ints(self, "lookback", "horizon", optional=True)
        if isinstance(self.season, int):  # a single period (also from older config files)
            object.__setattr__(self, "season", (self.season,))
        if self.season is not None:
            season = tuple(self.season)
            if (
                not season
                or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in season)
                or len(set(season)) != len(season)
            ):
                raise ValueError(
                    f"`season` must be distinct positive integers. Received: season={self.season!r}"
                )
            object.__setattr__(self, "season", season)
        fields.one_of(self, "fill", FILLS)
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0 < value < 0.5:
                raise ValueError(f"`{name}` must be in (0, 0.5). Received: {name}={value}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The encoder (stacked rnnkit layers) and the direct multi-horizon head.

    ``quantiles``: the levels trained with the pinball loss (ascending, in
    (0, 1)). ``highway``: add a linear map of the history window to the
    forecast (LSTNet's autoregressive highway), so the recurrent part models
    what a linear autoregression misses. ``members``: a deep ensemble of that
    many networks, each trained on its own loss, averaged. ``base``: what
    the networks correct. ``"seasonal"``: the seasonal naive forecast (the
    value one season back), with the values one of each season back as
    inputs of the head, whose output layers start at zero, so an untrained
    model forecasts seasonal naive exactly; ``"naive"``: the last value,
    with randomly initialised output layers (the first model); ``"auto"``:
    ``members`` networks of each, and after every epoch the validation
    windows choose the seasonal ones, the naive ones or all of them (the
    untrained model is seasonal naive, as with ``"seasonal"``).
    """

    cell: str = "lstm"
    layers: int = 1
    units: int = 64
    head_units: int = 64
    dropout: float = 0.0
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    highway: bool = True
    members: int = 1
    base: str = "auto"

    def __post_init__(self):
        fields.one_of(self, "cell", CELLS)
        fields.one_of(self, "base", BASES)
        fields.positive_ints(self, "layers", "units", "head_units", "members")
        fields.rate(self, "dropout")
        q = tuple(self.quantiles)
        if not q or any(not 0 < x < 1 for x in q) or list(q) != sorted(set(q)):
            raise ValueError(
                f"`quantiles` must be ascending, distinct and in (0, 1). Received: quantiles={q}"
            )


@dataclasses.dataclass(frozen=True)
class ForecastConfig:
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    seed: int = 0


PRESETS = {
    # Seconds: for tests.
    "tiny": ForecastConfig(
        model=ModelConfig(units=8, head_units=8),
        train=TrainConfig(
            epochs=2,
            batch_size=16,
            learning_rate=3e-3,
            steps_per_epoch=4,
            checkpoint_every=4,
            log_every=2,
        ),
    ),
    # The demo: about a minute on two CPU cores.
    "quick": ForecastConfig(
        model=ModelConfig(units=32, head_units=32),
        train=TrainConfig(
            epochs=20, batch_size=32, learning_rate=3e-3, checkpoint_every=200, log_every=10
        ),
    ),
    # The best quality: a few minutes a series on two CPU cores (base auto
    # trains 5 networks of each kind; one kind took under a minute).
    # GRU and 5 members: the best validation MASE on co2, sunspots and elnino
    # among 1-2 LSTM/GRU layers, 32-64 units and 1-5 members.
    "full": ForecastConfig(
        model=ModelConfig(cell="gru", units=64, head_units=64, dropout=0.1, members=5),
        train=TrainConfig(
            epochs=60,
            batch_size=32,
            learning_rate=2e-3,
            warmup_steps=50,
            checkpoint_every=500,
            log_every=20,
            patience=12,
        ),
    ),
}
