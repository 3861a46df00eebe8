"""forecast's data: series from statsmodels or the user's CSV, checked, regular and split.

Every source becomes a table with a time column, read by one path
(``frame_to_series``), so the bundled series get the same checks as a
user's file:

- the time column parses, and the timestamps increase;
- the frequency is given (``freq``) or inferred, and every timestamp lies on
  its grid; missing steps become gaps;
- every value is a number; gaps are interpolated (with a warning on stderr)
  or refused (``fill="error"``);
- the series is long enough for its split: train, then validation (picks the
  best epoch), then test (held out for ``evaluate``), in time order.
"""

from __future__ import annotations

import collections
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from apps.forecast import sizes
from apps.forecast.config import DataConfig
from rnnkit.errors import InputError

# The statsmodels series: (frequency, season, lookback, horizon, default targets).
DATASETS = {
    "co2": ("W-SAT", 52, 104, 52, ("co2",)),
    "sunspots": ("YS-JAN", 11, 44, 11, ("SUNACTIVITY",)),
    "elnino": ("MS", 12, 48, 12, ("temperature",)),
    "macrodata": ("QS-JAN", 4, 24, 8, ("realgdp", "realcons", "realinv")),
}
TIME_COL = "time"


@dataclasses.dataclass(frozen=True)
class Series:
    """A regular series: ``values[t]`` holds the targets, then the covariates, at ``times[t]``."""

    name: str
    times: pd.DatetimeIndex
    values: np.ndarray  # float64 [time, targets + covariates]
    targets: tuple[str, ...]
    covariates: tuple[str, ...]
    freq: str
    seasons: tuple[int, ...]
    lookback: int
    horizon: int
    val_start: int
    test_start: int

    @property
    def season(self) -> int:
        """The main season: that of seasonal naive and MASE."""
        return self.seasons[0]

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    @property
    def features(self) -> tuple[str, ...]:
        return self.targets + self.covariates

    def seconds(self) -> np.ndarray:
        """The timestamps as Unix seconds (int64), the form the model reads them in."""
        return unix_seconds(self.times)

    def future_times(self, steps: int) -> pd.DatetimeIndex:
        """The ``steps`` timestamps after the end of the series."""
        return pd.date_range(self.times[-1], periods=steps + 1, freq=self.freq)[1:]


def unix_seconds(times) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(times).as_unit("s").asi8, np.int64)


# -- sources -------------------------------------------------------------------------------


def _statsmodels_frame(name: str) -> pd.DataFrame:
    import statsmodels.api as sm

    data = getattr(sm.datasets, name).load_pandas().data
    if name == "co2":
        return data.rename_axis(TIME_COL).reset_index()
    if name == "sunspots":
        years = data["YEAR"].astype(int).astype(str)
        return pd.DataFrame({TIME_COL: years + "-01-01", "SUNACTIVITY": data["SUNACTIVITY"]})
    if name == "elnino":
        months = data.columns[1:]
        long = data.melt(id_vars="YEAR", value_vars=list(months), var_name="month")
        long["m"] = long["month"].map({m: i + 1 for i, m in enumerate(months)})
        long = long.sort_values(["YEAR", "m"])
        stamps = long["YEAR"].astype(int).astype(str) + "-" + long["m"].astype(str) + "-01"
        return pd.DataFrame({TIME_COL: stamps.values, "temperature": long["value"].values})
    # macrodata: quarterly.
    stamps = [f"{int(y)}-{3 * int(q) - 2:02d}-01" for y, q in zip(data["year"], data["quarter"])]
    return pd.concat(
        [pd.DataFrame({TIME_COL: stamps}), data.drop(columns=["year", "quarter"])], axis=1
    )


def load_series(config: DataConfig, split: bool = True) -> Series:
    """The configured series, checked, regular and split; ``InputError`` on bad input.

    ``split=False`` (a forecast from recent history): the series needs only
    ``lookback`` points.
    """
    kind, _, arg = config.source.partition(":")
    if kind == "statsmodels":
        if arg not in DATASETS:
            raise InputError(
                f"unknown statsmodels series {arg!r}: choose one of {', '.join(DATASETS)}"
            )
        freq, season, lookback, horizon, targets = DATASETS[arg]
        return frame_to_series(
            _statsmodels_frame(arg),
            name=arg,
            config=config,
            time_col=TIME_COL,
            targets=config.target or targets,
            default_freq=freq,
            defaults=(season, lookback, horizon),
            split=split,
        )
    if kind == "csv":
        path = Path(arg)
        if not arg or not path.is_file():
            raise InputError(f"no such CSV file: {arg!r}")
        if config.time_col is None:
            raise InputError("CSV data needs --time-col COL (the column of timestamps)")
        if not config.target:
            raise InputError("CSV data needs --target COL[,COL...] (the columns to forecast)")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            raise InputError(
                f"{path} is not a readable CSV file: {str(e).splitlines()[0]}"
            ) from None
        return frame_to_series(
            frame,
            name=path.stem,
            config=config,
            time_col=config.time_col,
            targets=config.target,
            split=split,
        )
    raise InputError(
        f"unknown data source {config.source!r}: use statsmodels:NAME "
        f"({', '.join(DATASETS)}) or csv:PATH"
    )


def _infer_freq(times: pd.DatetimeIndex) -> str | None:
    """The frequency of the timestamps, also when some steps are missing (gaps)."""
    if len(times) < 3:
        return None
    found = pd.infer_freq(times)
    if found:
        return found
    # With gaps: the frequency most short runs agree on (checked against every timestamp later).
    votes = collections.Counter()
    for i in range(min(len(times) - 3, 500)):
        try:
            votes[pd.infer_freq(times[i : i + 4])] += 1
        except ValueError:
            pass
    votes.pop(None, None)
    return votes.most_common(1)[0][0] if votes else None


# Larger than any measurement; the model's float32 math (a square in a
# standard deviation) overflows from about 1e19.
LARGEST = 1e15


def _numbers(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """The column as float64; missing values are NaN, infinite or huge ones an error."""
    values = _parse_numbers(frame, column, where)
    with np.errstate(invalid="ignore"):
        bad = np.isinf(values) | (np.abs(values) > LARGEST)
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(
            f"column {column!r} of {where} holds {frame[column].iloc[row]!r} (data row "
            f"{row + 1}): values must be finite and within ±{LARGEST:g}; rescale the series"
        )
    return values


def _parse_numbers(frame: pd.DataFrame, column: str, where: str) -> np.ndarray:
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        return raw.to_numpy(np.float64)
    text = raw.astype(str).str.strip()
    blank = text.isin(["", "nan", "NaN", "NA", "N/A", "null", "None"])
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise InputError(
            f"column {column!r} of {where} holds a non-numeric value {raw.iloc[row]!r} "
            f"(data row {row + 1})"
        )
    return values.to_numpy(np.float64)


def frame_to_series(
    frame: pd.DataFrame,
    *,
    name: str,
    config: DataConfig,
    time_col: str,
    targets,
    default_freq: str | None = None,
    defaults: tuple[int, int, int] | None = None,
    split: bool = True,
) -> Series:
    """A checked ``Series`` from a data frame: its columns, times on one grid, gaps filled.

    ``defaults``: the data set's ``(season, lookback, horizon)``, used where
    ``config`` leaves them None. Every problem is an ``InputError`` naming it.
    """
    targets, covariates = tuple(targets), tuple(config.covariates or ())
    _check_columns(frame, name, time_col, targets, covariates)
    times = _parse_times(frame[time_col], time_col)
    values = np.stack([_numbers(frame, c, name) for c in targets + covariates], axis=1)
    freq = config.freq or default_freq or _infer_freq(times)
    grid = _grid(times, freq, name)
    values = pd.DataFrame(values, index=times).reindex(grid).to_numpy()
    values = _fill_gaps(values, grid, name, targets + covariates, config.fill)
    seasons, lookback, horizon = sizes.window_sizes(config, freq, defaults, len(grid))
    val_start, test_start = sizes.split_points(len(grid), config, lookback, horizon, name, split)
    return Series(
        name=name,
        times=grid,
        values=values.astype(np.float64),
        targets=targets,
        covariates=covariates,
        freq=freq,
        seasons=seasons,
        lookback=lookback,
        horizon=horizon,
        val_start=val_start,
        test_start=test_start,
    )


def _check_columns(frame, name, time_col, targets, covariates) -> None:
    columns = [str(c) for c in frame.columns]
    for column in (time_col, *targets, *covariates):
        if column not in columns:
            raise InputError(f"no column {column!r} in {name}; its columns: {', '.join(columns)}")
    overlap = set(targets) & set(covariates) | ({time_col} & set(targets + covariates))
    if overlap:
        raise InputError(f"columns {sorted(overlap)} are given twice (time, target, covariate)")
    if len(frame) == 0:
        raise InputError(f"{name} holds no rows")


def _parse_times(raw_times: pd.Series, time_col: str) -> pd.DatetimeIndex:
    """Increasing timestamps (time zones dropped) from a column of text or numbers."""
    times = pd.to_datetime(raw_times, errors="coerce", format="mixed", utc=True)
    if times.isna().any():
        row = int(np.argmax(times.isna().to_numpy()))
        raise InputError(
            f"cannot parse the time {raw_times.iloc[row]!r} in column {time_col!r} "
            f"(data row {row + 1})"
        )
    times = pd.DatetimeIndex(times).tz_localize(None)
    steps = np.diff(times.asi8)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        raise InputError(
            f"timestamps must increase: {times[row]} (data row {row + 1}) follows {times[row - 1]}"
        )
    return times


def _grid(times: pd.DatetimeIndex, freq: str | None, name: str) -> pd.DatetimeIndex:
    """Every step of ``freq`` from the first time to the last; each time must be on it."""
    if freq is None:
        raise InputError(
            f"cannot infer the frequency of {name}'s timestamps (irregular steps): "
            "pass --freq, a pandas offset alias such as h, D, W-SUN, MS, QS"
        )
    try:
        grid = pd.date_range(times[0], times[-1], freq=freq)
    except ValueError:
        raise InputError(
            f"--freq {freq!r} is not a pandas offset alias (h, D, W-SUN, MS, QS, YS)"
        ) from None
    if grid[0] != times[0]:
        raise InputError(f"{times[0]} is not on the --freq {freq} grid")
    off_grid = ~times.isin(grid)
    if off_grid.any():
        row = int(np.argmax(off_grid))
        raise InputError(f"timestamp {times[row]} (data row {row + 1}) is off the {freq} grid")
    return grid


def _fill_gaps(values: np.ndarray, grid, name: str, columns, fill: str) -> np.ndarray:
    """Missing values interpolated (with a warning), or an error with ``fill="error"``."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    first = grid[int(np.argmax(missing.any(axis=1)))]
    count = int(missing.sum())
    count_text = f"{count} missing value{'s' if count != 1 else ''}"
    if missing.all(axis=0).any():
        column = columns[int(np.argmax(missing.all(axis=0)))]
        raise InputError(f"column {column!r} of {name} holds no value")
    if fill == "error":
        raise InputError(
            f"{name} has {count_text} (the first at {first}): pass --fill interpolate to fill them"
        )
    print(f"Warning: {count_text} in {name} (the first at {first}) interpolated", file=sys.stderr)
    return pd.DataFrame(values).interpolate(limit_direction="both").to_numpy()


def origins(series: Series, start: int, stop: int, count: int | None, stride: int) -> np.ndarray:
    """Forecast origins ``o`` (the first forecast step) with ``start <= o`` and
    ``o + horizon <= stop``: the last ``count`` of them, ``stride`` apart, ascending."""
    last = stop - series.horizon
    first = max(start, series.lookback)
    if last < first:
        return np.zeros([0], np.int64)
    found = np.arange(last, first - 1, -stride)
    if count is not None:
        found = found[:count]
    return np.sort(found)


def windows(series: Series, at: np.ndarray) -> dict[str, np.ndarray]:
    """The raw model inputs and the actuals at each origin in ``at``."""
    lookback, horizon, seconds = series.lookback, series.horizon, series.seconds()
    history = np.stack([series.values[o - lookback : o] for o in at]).astype(np.float32)
    future = np.stack([seconds[o : o + horizon] for o in at])
    actual = np.stack([series.values[o : o + horizon, : series.n_targets] for o in at])
    return {
        "history": history.reshape(len(at), lookback, len(series.features)),
        "future_times": future.reshape(len(at), horizon),
        "actual": actual.reshape(len(at), horizon, series.n_targets),
    }
