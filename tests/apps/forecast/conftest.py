"""forecast's test helpers: CSV series written for a test (``write_csv``, ``write_hourly``)."""

import numpy as np
import pandas as pd
import pytest


def _write_csv(path, n=160, freq="D", drop=(), bad=None, seed=0):
    """A daily series with a weekly season and a trend, a covariate, and optional gaps."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-01-01", periods=n, freq=freq)
    t = np.arange(n)
    frame = pd.DataFrame(
        {
            "day": times.strftime("%Y-%m-%d"),
            "sales": 50 + 0.1 * t + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.5, n),
            "price": 10 + rng.normal(0, 1, n),
        }
    )
    frame = frame.drop(index=list(drop))
    if bad is not None:
        row, column, value = bad
        frame[column] = frame[column].astype(object)
        frame.iloc[row, frame.columns.get_loc(column)] = value
    frame.to_csv(path, index=False)
    return path


def _write_hourly(path, days=60, trend=0.5, noise=0.02, seed=0):
    """Hourly values: a daily sine, a trend of ``trend`` a day and Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(24 * days)
    values = 15 + 5 * np.sin(2 * np.pi * t / 24) + trend * t / 24 + rng.normal(0, noise, len(t))
    times = pd.date_range("2024-03-01", periods=len(t), freq="h")
    pd.DataFrame({"time": times, "temp": values}).to_csv(path, index=False)
    return path


@pytest.fixture
def write_csv():
    return _write_csv


@pytest.fixture
def write_hourly():
    return _write_hourly
