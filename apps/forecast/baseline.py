"""The baselines forecast must beat, on the same windows: naive, seasonal naive, ETS.

Every function takes the whole series ``values [time, targets]`` and the
forecast origins (the index of each window's first forecast step; only
values before it are read) and returns ``point, lower, upper``, each
``[windows, horizon, targets]``, in original units.

- ``naive``: the last value; ``seasonal_naive``: the value one season
  earlier. Their intervals are the empirical quantiles of the method's own
  errors at each horizon step over the training part (distribution-free).
- ``ets``: statsmodels' ``ETSModel`` (additive errors, damped additive
  trend, additive season when the series has one: Holt-Winters), refitted at
  every origin on everything before it; intervals from the fitted model.
  Refitting takes minutes, so with ``cache`` (a run's folder) the forecasts
  are kept, keyed by the data before the last origin and every setting.
"""

from __future__ import annotations

import hashlib
import sys
import time
import warnings
from pathlib import Path

import numpy as np

# Bump when ets() would forecast differently for the same inputs.
ETS_VERSION = 1


def _naive_points(values, at, horizon, season):
    steps = np.arange(horizon)
    # Step h of a window at origin o repeats the value season * k steps back,
    # the latest one observed before o.
    back = season * (steps // season + 1)
    index = np.asarray(at)[:, None] + steps[None, :] - back[None, :]
    return values[index]


def _error_quantiles(values, horizon, season, train_end, levels):
    at = np.arange(season, train_end - horizon + 1)
    if len(at) == 0:
        return np.zeros([len(levels), horizon, values.shape[1]])
    errors = values[at[:, None] + np.arange(horizon)[None, :]] - _naive_points(
        values, at, horizon, season
    )
    return np.quantile(errors, levels, axis=0)


def seasonal_naive(values, at, horizon, season, train_end, levels=(0.1, 0.9)):
    point = _naive_points(values, at, horizon, season)
    low, high = _error_quantiles(values, horizon, season, train_end, levels)
    return point, point + low[None], point + high[None]


def naive(values, at, horizon, train_end, levels=(0.1, 0.9)):
    return seasonal_naive(values, at, horizon, 1, train_end, levels)


def _cache_key(values, at, horizon, season, levels) -> str:
    import statsmodels

    at = np.asarray(at, np.int64)
    digest = hashlib.sha256(np.ascontiguousarray(values[: at.max()], np.float64).tobytes())
    digest.update(at.tobytes())
    digest.update(repr((horizon, season, tuple(levels), ETS_VERSION)).encode())
    digest.update(statsmodels.__version__.encode())
    return digest.hexdigest()[:20]


def ets(values, at, horizon, season, levels=(0.1, 0.9), cache: Path | None = None):
    """ETS forecasts at every origin; read from ``cache/ets-KEY.npz`` when kept there."""
    from rnnkit.files import atomic_path

    path = None
    if cache is not None:
        path = Path(cache) / f"ets-{_cache_key(values, at, horizon, season, levels)}.npz"
        if path.is_file():
            with np.load(path) as kept:
                return kept["point"], kept["lower"], kept["upper"]
    found = _fit_ets(values, at, horizon, season, levels)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, point=found[0], lower=found[1], upper=found[2])
    return found


def _fit_ets(values, at, horizon, season, levels):
    alpha = 1.0 - (levels[1] - levels[0])
    point, lower, upper = (np.zeros([len(at), horizon, values.shape[1]]) for _ in range(3))
    print(f"ETS baseline: refitting at {len(at)} origins", file=sys.stderr, flush=True)
    start = last = time.monotonic()
    for i, origin in enumerate(at):
        if time.monotonic() - last > 10:  # a minute or two in all: say how far it is
            print(f"ETS baseline: origin {i + 1} of {len(at)}", file=sys.stderr, flush=True)
            last = time.monotonic()
        for t in range(values.shape[1]):
            seasonal = season if origin >= 2 * season + 2 else 1
            fit = fit_ets(values[:origin, t], seasonal)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                frame = fit.get_prediction(start=origin, end=origin + horizon - 1).summary_frame(
                    alpha=alpha
                )
            point[i, :, t] = frame["mean"].to_numpy()
            lower[i, :, t] = frame["pi_lower"].to_numpy()
            upper[i, :, t] = frame["pi_upper"].to_numpy()
    took = time.monotonic() - start
    print(f"ETS baseline: refitted in {took:.0f} s", file=sys.stderr, flush=True)
    return point, lower, upper


def fit_ets(values, season: int):
    """statsmodels' ETS fitted to ``values [time]``: additive errors, a damped
    additive trend and, when ``season > 1``, an additive season (Holt-Winters);
    its convergence warnings silenced."""
    import pandas as pd
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = season > 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        # A pandas series: ETSModel.get_prediction fails on a bare array.
        return ETSModel(
            pd.Series(np.asarray(values, np.float64)),
            error="add",
            trend="add",
            damped_trend=True,
            seasonal="add" if seasonal else None,
            seasonal_periods=season if seasonal else None,
        ).fit(disp=False)
