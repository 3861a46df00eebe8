"""forecast's scores: MAE, RMSE, sMAPE, MASE and the coverage of the 10-90% interval."""

from __future__ import annotations

import numpy as np

INTERVAL = (0.1, 0.9)


def metrics(actual, point, lower, upper, scale) -> dict[str, float]:
    """MAE, RMSE, sMAPE, MASE and interval coverage over ``[windows, horizon, targets]``.

    sMAPE and coverage are fractions (sMAPE in [0, 2], coverage in [0, 1]),
    as every rate in rnnkit's JSON; the report's table shows them in percent.
    """
    actual, point = np.asarray(actual, np.float64), np.asarray(point, np.float64)
    error = actual - point
    denominator = np.abs(actual) + np.abs(point)
    smape = np.where(
        denominator > 0, 2.0 * np.abs(error) / np.where(denominator > 0, denominator, 1), 0.0
    )
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "smape": float(smape.mean()),
        "mase": float((np.abs(error).mean(axis=(0, 1)) / np.asarray(scale)).mean()),
        "coverage": float(((actual >= lower) & (actual <= upper)).mean()),
    }


def interval_index(quantiles) -> tuple[int, int]:
    """The quantiles nearest 0.1 and 0.9: the interval whose coverage is reported."""
    q = np.asarray(quantiles)
    return int(np.argmin(np.abs(q - INTERVAL[0]))), int(np.argmin(np.abs(q - INTERVAL[1])))
