"""The baselines a forecast model holds beside its networks, and the validation folds.

Validation chooses, per horizon step and target, between the networks and
the baselines (``apps.forecast.train``), so the baselines must run in the
graph: the naive forecast, seasonal naive, and Holt-Winters (ETS) with its
smoothing parameters fitted once on the training part. ETS with fixed
parameters is a linear filter of the history, so its forecast from a
lookback window is one matrix (``ets_map``) applied to the window: no
statsmodels, no loop, nothing fitted at serving time.
"""

from __future__ import annotations

import sys

import numpy as np

BASELINES = ("naive", "seasonal_naive", "ets")


def ets_parameters(values: np.ndarray, season: int) -> tuple[float, float, float, float]:
    """``(alpha, beta, gamma, phi)`` of statsmodels' additive-error, damped
    additive-trend ETS (additive season when ``season > 1``) fitted to
    ``values [time]``; gamma is 0 without a season."""
    from apps.forecast.baseline import fit_ets

    seasonal = season > 1
    fit = fit_ets(values, season)
    p = dict(zip(fit.model.param_names, np.asarray(fit.params, np.float64)))
    gamma = float(p["smoothing_seasonal"]) if seasonal else 0.0
    return (
        float(p["smoothing_level"]),
        float(p["smoothing_trend"]),
        gamma,
        float(p["damping_trend"]),
    )


def ets_map(params, lookback: int, horizon: int, season: int, start: str = "seasons") -> np.ndarray:
    """``[horizon, lookback]``: the ETS forecast as a linear map of the window.

    The states start from the window itself (trend: the change of the
    seasons' means from the first to the last whole season; level: the first
    season's mean, moved back by the trend to the step before the window;
    season: the departures of every whole season from its mean and trend,
    averaged over them) and are updated over every
    step of the window in the error-correction form
    ``l += phi b + alpha e; b = phi b + beta e; s += gamma e``. Each state is
    kept as its coefficients on the window's values, so the forecast's
    coefficients come out directly. A constant window forecasts itself (the
    rows sum to 1), so the map works on centred, scaled windows too.

    ``start="first"``: the textbook start instead (level the first season's
    mean, trend from the first two seasons' means, season the first season's
    departures), kept for ``benchmarks/forecast_choice.py``'s comparison.
    """
    alpha, beta, gamma, phi = params
    m = season if season > 1 and lookback >= 2 * season else 1
    eye = np.eye(lookback)
    if m > 1 and start == "first":
        level = eye[:m].mean(axis=0)
        trend = (eye[m : 2 * m].mean(axis=0) - level) / m
        seasonal = [eye[i] - level for i in range(m)]
    elif m > 1:
        # Every whole season of the window is averaged: one season alone
        # makes the seasonal states as noisy as that season's values.
        k = lookback // m
        means = [eye[j * m : (j + 1) * m].mean(axis=0) for j in range(k)]
        trend = (means[-1] - means[0]) / ((k - 1) * m)
        # A season's mean is its level half-way through it; the states are
        # those of the step before the window, and the trend within each
        # season comes off its departures (else a trend reads as a season).
        middle = (m - 1) / 2
        level = means[0] - (middle + 1) * trend
        seasonal = [
            np.mean([eye[j * m + i] - means[j] - (i - middle) * trend for j in range(k)], axis=0)
            for i in range(m)
        ]
    else:
        k = min(lookback - 1, 4)
        level = eye[0]
        trend = (eye[k] - eye[0]) / k if k else np.zeros(lookback)
        seasonal = [np.zeros(lookback)]
    for t in range(lookback):
        s = seasonal[t % m]
        error = eye[t] - level - phi * trend - s
        level = level + phi * trend + alpha * error
        trend = phi * trend + beta * error
        seasonal[t % m] = s + gamma * error
    out = np.zeros([horizon, lookback])
    damped = 0.0
    for h in range(horizon):
        damped += phi ** (h + 1)
        out[h] = level + damped * trend + seasonal[(lookback + h) % m]
    return out


def fit_ets_maps(values: np.ndarray, lookback: int, horizon: int, season: int) -> np.ndarray | None:
    """``[targets, horizon, lookback]``: one ETS map per column of ``values
    [time, targets]`` (the training part), or None where ETS does not fit
    (too short a series, or statsmodels fails on it)."""
    if len(values) < max(2 * season + 2, 10):
        return None
    maps = []
    for t in range(values.shape[1]):
        try:
            params = ets_parameters(values[:, t], season)
        except (ValueError, np.linalg.LinAlgError) as e:  # e.g. a constant column
            print(f"forecast: no ETS candidate ({e})", file=sys.stderr)
            return None
        if not np.all(np.isfinite(params)):
            return None
        maps.append(ets_map(params, lookback, horizon, season))
    return np.stack(maps).astype(np.float32)


def validation_origins(first: int, start: int, stop: int, horizon: int, blocks: int) -> list:
    """``blocks`` runs of forecast origins, ascending, for validation.

    The last run ends where the validation part ends (``stop``: its windows'
    targets end there); the others are spread over the training part
    (origins from ``first``), so the choice between candidates rests on
    several stretches of the series and not on the one before the test part.
    Together they hold as many origins as the validation part
    ``[start, stop)`` does.
    """
    total = stop - horizon + 1 - start
    size = max(1, total // blocks)
    last = np.arange(stop - horizon + 1 - size, stop - horizon + 1)
    found = []
    # The earlier runs sit at even intervals of the span before the last one's
    # targets, far enough from each other that no window's targets overlap.
    span = last[0] - horizon - first
    for j in range(blocks - 1):
        begin = first + (j + 1) * span // blocks - size // 2
        if begin >= first and begin + size + horizon <= last[0]:
            found.append(np.arange(begin, begin + size))
    if not found:  # too short a training part for more runs: the whole validation part
        return [np.arange(stop - horizon + 1 - total, stop - horizon + 1)]
    return [*found, last]


def training_origins(first: int, stop: int, horizon: int, held: list) -> np.ndarray:
    """Origins from ``first`` whose targets end by ``stop`` and touch no
    target of a validation run in ``held``."""
    at = np.arange(first, stop - horizon + 1)
    keep = np.ones(len(at), bool)
    for run in held:
        # Window o's targets [o, o + horizon) overlap the run's [run[0], run[-1] + horizon).
        keep &= (at + horizon <= run[0]) | (at >= run[-1] + horizon)
    return at[keep]
