"""forecast's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit.configs import FULL_TRAIN, QUICK_TRAIN, TINY_TRAIN, AppConfig
from rnnkit.fields import RATE, Config, setting

CELLS = ("lstm", "gru", "elman")
BASES = ("auto", "seasonal", "naive")
FILLS = ("interpolate", "error")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Which series, and how it is cut into windows.

    ``lookback``, ``horizon`` and ``season`` left at None take the data set's
    defaults (for a CSV: from its frequency). The lookback must cover the
    longest season the model reads. The last ``test_fraction`` of the series
    is held out for ``evaluate``; the ``val_fraction`` before it picks the
    best epoch.
    """

    source: str = setting(
        "statsmodels:co2",
        "Data source: statsmodels:NAME (co2, the default; sunspots, elnino, macrodata) or "
        "csv:PATH (with --time-col and --target).",
        flag="--data",
    )
    target: tuple[str, ...] | None = setting(None, "Columns to forecast: COL[,COL...].", flag=True)
    covariates: tuple[str, ...] | None = setting(
        None, "Observed input columns (not forecast): COL[,COL...].", flag=True
    )
    time_col: str | None = setting(None, "The CSV column of timestamps.", flag=True)
    freq: str | None = setting(
        None,
        "Pandas offset alias of the time step (h, D, W-SUN, MS, QS); default: inferred.",
        flag=True,
    )
    fill: str = setting(
        "interpolate", "Gaps and NaNs: interpolate (warns) or error.", flag=True, choices=FILLS
    )
    lookback: int | None = setting(None, "History steps read.", flag=True, min=1)
    horizon: int | None = setting(None, "Steps forecast.", flag=True, min=1)
    season: tuple[int, ...] | None = setting(
        None,
        "Season length in steps (seasonal naive, MASE), or several: 24,168 (hourly data: a "
        "day and a week; the first is the main one, the model reads the values one of each "
        "season back).",
        flag=True,
    )
    val_fraction: float = setting(
        0.1,
        "The share of forecast origins before the test period that validates: it picks the "
        "best epoch, the forecast at each horizon step (networks or baselines) and the "
        "intervals' calibration.",
        min=0,
        max=0.5,
        min_open=True,
        max_open=True,
    )
    val_blocks: int = setting(
        3,
        "The validation origins come in this many runs: the last just before the test "
        "period, the others spread over the training part (left out of training), so one "
        "stretch of the series does not decide alone.",
        min=1,
    )
    test_fraction: float = setting(
        0.2,
        "The share at the end held out for evaluate.",
        min=0,
        max=0.5,
        min_open=True,
        max_open=True,
    )

    def __post_init__(self):
        if isinstance(self.season, int):  # a single period (also from older config files)
            object.__setattr__(self, "season", (self.season,))
        super().__post_init__()
        if self.season is not None:
            season = self.season
            if (
                not season
                or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in season)
                or len(set(season)) != len(season)
            ):
                raise ValueError(
                    f"`season` must be distinct positive integers. Received: season={self.season!r}"
                )


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """The encoder (stacked rnnkit layers) and the direct multi-horizon head.

    ``base``: what the networks correct. ``"seasonal"``: the seasonal naive
    forecast (the value one season back), with the values one of each
    season back as inputs of the head, whose output layers start at zero, so
    an untrained model forecasts seasonal naive exactly; ``"naive"``: the
    last value, with randomly initialised output layers; ``"auto"``:
    ``members`` networks of each, and after every epoch the validation
    windows choose the seasonal ones, the naive ones or all of them, at
    each horizon step and target; with ``baselines``, or a baseline there,
    or an average of the choice and ETS.
    """

    cell: str = setting("lstm", "Recurrent cell.", flag=True, choices=CELLS)
    layers: int = setting(1, "Stacked recurrent layers.", flag=True, min=1)
    units: int = setting(64, "Units per layer.", flag=True, min=1)
    head_units: int = setting(64, "Units of the forecast head's hidden layer.", min=1)
    dropout: float = setting(0.0, "Output dropout.", flag=True, **RATE)
    quantiles: tuple[float, ...] = setting(
        (0.1, 0.5, 0.9), "The quantile levels trained with the pinball loss (ascending)."
    )
    highway: bool = setting(
        True,
        "Add a linear map of the history window to the forecast (LSTNet's autoregressive "
        "highway), so the recurrent part models what a linear autoregression misses.",
    )
    members: int = setting(
        1, "Ensemble members (averaged), each trained on its own loss.", flag=True, min=1
    )
    base: str = setting(
        "auto",
        "What the networks correct: seasonal naive, the last value, or auto: networks of "
        "both, chosen on the validation windows.",
        flag=True,
        choices=BASES,
    )
    baselines: bool = setting(
        True,
        "Hold the naive forecast, seasonal naive and ETS beside the networks, so the "
        "validation windows can choose a baseline, or an average with ETS, at the horizon "
        "steps where it is better.",
    )
    choice_margin: float = setting(
        2.0,
        "Standard errors of the paired difference by which a baseline must beat the networks "
        "at a horizon step on the validation windows to replace them there (0: the lowest "
        "error outright); benchmarks/forecast_choice.py scores each margin on held-out "
        "validation runs.",
        min=0,
    )

    def __post_init__(self):
        super().__post_init__()
        q = tuple(self.quantiles)
        if not q or any(not 0 < x < 1 for x in q) or list(q) != sorted(set(q)):
            raise ValueError(
                f"`quantiles` must be ascending, distinct and in (0, 1). Received: quantiles={q}"
            )


@dataclasses.dataclass(frozen=True)
class ForecastConfig(AppConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()


PRESETS = {
    # Seconds: for tests.
    "tiny": ForecastConfig(
        model=ModelConfig(units=8, head_units=8), train=TINY_TRAIN.replace(steps_per_epoch=4)
    ),
    # The demo: about a minute on two CPU cores.
    "quick": ForecastConfig(
        model=ModelConfig(units=32, head_units=32), train=QUICK_TRAIN.replace(epochs=20)
    ),
    # The best quality: a few minutes a series on two CPU cores. GRU and 5
    # members had the best validation MASE of the sizes tried (README,
    # forecast quality).
    "full": ForecastConfig(
        model=ModelConfig(cell="gru", units=64, head_units=64, dropout=0.1, members=5),
        train=FULL_TRAIN.replace(epochs=60, warmup_steps=50, patience=12),
    ),
}
