"""forecast's window sizes and split points: the defaults a series gets from its
frequency and length, and where validation and test begin."""

from __future__ import annotations

from apps.forecast.config import DataConfig
from rnnkit.errors import InputError

# A long series' default lookback: 14 main seasons (two weeks of hourly data), else 7,
# where the series holds LONG_SERIES times as many points, so that the training part
# keeps many windows. Chosen on the validation MASE of the benchmark's hourly and daily
# series (quick runs; docs/benchmarks.md, "A longer lookback"): the in-graph ETS
# candidate, which sees only the window, gains most.
LONG_SEASONS, LONG_SERIES = (14, 7), 20


def window_sizes(
    config: DataConfig, freq: str, defaults, points: int
) -> tuple[tuple[int, ...], int, int]:
    """``(seasons, lookback, horizon)``: the config's, else the data set's, else from
    ``freq`` and the series' length (``points``)."""
    seasons = config.season or ((defaults[0] if defaults else season_of(freq)),)
    season, longest = seasons[0], max(seasons)
    horizon = config.horizon or (defaults[2] if defaults else (season if 1 < season <= 64 else 8))
    if config.lookback:
        lookback = config.lookback
    elif defaults and defaults[1] >= longest:
        lookback = defaults[1]
    elif longest <= 64 or config.season:
        # Two main seasons, and at least the longest season plus the horizon.
        lookback = max(2 * season, longest + horizon, 3 * horizon)
        long = [k * season for k in LONG_SEASONS if LONG_SERIES * k * season <= points]
        if long:
            lookback = max(lookback, long[0])
    else:  # a long inferred season (minutes: a day) is left to the recurrent layers
        lookback = 3 * horizon
    if config.season and longest > lookback:
        raise InputError(
            f"--lookback {lookback} is shorter than the season {longest}: the model reads the "
            "values one season back, so the lookback must cover every --season"
        )
    return tuple(seasons), lookback, horizon


def split_points(n: int, config: DataConfig, lookback: int, horizon: int, name: str, split: bool):
    """``(val_start, test_start)``; enough points for the windows, else an ``InputError``."""
    test_start = n - max(int(round(config.test_fraction * n)), horizon)
    val_start = test_start - max(int(round(config.val_fraction * n)), horizon)
    if not split:
        if n < lookback:
            raise InputError(f"{name} has {n} points, fewer than the lookback {lookback}")
    elif n < lookback + horizon:
        raise InputError(
            f"{name} has {n} points, fewer than lookback {lookback} + horizon {horizon}"
        )
    elif val_start < lookback + horizon:
        raise InputError(
            f"{name} has {n} points: its training part ({val_start} points, before validation "
            f"and test) is shorter than lookback {lookback} + horizon {horizon}; "
            "lower --lookback or --horizon"
        )
    return val_start, test_start


def season_of(freq: str) -> int:
    from statsmodels.tsa.tsatools import freq_to_period

    try:
        return int(freq_to_period(freq))
    except ValueError:
        return 1
