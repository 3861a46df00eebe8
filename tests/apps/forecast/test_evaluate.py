"""forecast evaluate: the metrics, the baselines, the backtest."""

import json

import numpy as np
import pytest

from apps.forecast import baseline, data, metrics
from apps.forecast import config as cfg
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("forecast")


def test_metrics_by_hand():
    actual = np.array([[[2.0], [4.0]]])
    point = np.array([[[1.0], [4.0]]])
    found = metrics.metrics(actual, point, point - 0.5, point + 0.5, [2.0])
    assert found["mae"] == pytest.approx(0.5)
    assert found["rmse"] == pytest.approx(np.sqrt(0.5))
    assert found["smape"] == pytest.approx((2 * 1 / 3 + 0) / 2)
    assert found["mase"] == pytest.approx(0.25)
    assert found["coverage"] == pytest.approx(0.5)  # a fraction, as every rate in --json


def test_baselines_on_series_they_fit():
    t = np.arange(200, dtype=np.float64)
    seasonal = (10 + np.sin(2 * np.pi * t / 12))[:, None]
    at = np.array([150, 170, 188])
    point, low, high = baseline.seasonal_naive(seasonal, at, 12, 12, 140)
    np.testing.assert_allclose(point, seasonal[at[:, None] + np.arange(12)], atol=1e-9)
    assert (low <= point + 1e-9).all() and (high >= point - 1e-9).all()
    point, _, _ = baseline.naive(seasonal, at, 3, 140)
    np.testing.assert_allclose(point[:, :, 0], np.repeat(seasonal[at - 1], 3, axis=1))
    trend = (5 + 0.5 * t + 2 * np.sin(2 * np.pi * t / 12))[:, None]
    point, low, high = baseline.ets(trend, at[:1], 12, 12)
    snaive, _, _ = baseline.seasonal_naive(trend, at[:1], 12, 12, 140)
    # Holt-Winters follows trend and season; the damped trend lags a little.
    ets_error = np.abs(point[0] - trend[150:162]).mean()
    assert ets_error < 0.1 * np.abs(snaive[0] - trend[150:162]).mean()
    assert (low < point).all() and (high > point).all()


def test_evaluate_backtests_the_rnn_and_the_baselines(run_dir):
    result = invoke("evaluate", run_dir, "--json", "--windows", 3)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["models"]) == {"rnn", "naive", "seasonal_naive", "ets"}
    assert report["windows"] == 3 and report["stride"] == 13 and report["horizon"] == 52
    for found in report["models"].values():
        assert set(found) == {"mae", "rmse", "smape", "mase", "coverage"}
        assert 0 < found["mae"] <= found["rmse"] and 0 <= found["coverage"] <= 1
        assert 0 <= found["smape"] <= 2
    # The naive forecast's metrics, computed here independently.
    series = data.load_series(cfg.DataConfig())
    at = data.origins(series, series.test_start, len(series.times), 3, 13)
    actual = np.stack([series.values[o : o + 52, 0] for o in at])
    last = series.values[at - 1, 0][:, None]
    assert report["models"]["naive"]["mae"] == pytest.approx(np.abs(actual - last).mean())
    assert json.loads((run_dir / "evaluation.json").read_text()) == report
    table = invoke("evaluate", run_dir, "--windows", 3).output
    assert "seasonal_naive" in table and "MASE" in table


def test_ets_forecasts_are_kept_in_the_run_and_refit_when_the_data_change(
    tmp_path, monkeypatch, capsys
):
    t = np.arange(120, dtype=np.float64)
    values = (5 + 0.5 * t + 2 * np.sin(2 * np.pi * t / 12))[:, None]
    at = np.array([96, 102])
    first = baseline.ets(values, at, 6, 12, cache=tmp_path)
    assert "ETS baseline: refitting at 2 origins" in capsys.readouterr().err
    assert len(list(tmp_path.glob("ets-*.npz"))) == 1

    def no_refit(*args):
        raise AssertionError("refitted although the forecasts were kept")

    fit = baseline._fit_ets
    monkeypatch.setattr(baseline, "_fit_ets", no_refit)
    again = baseline.ets(values, at, 6, 12, cache=tmp_path)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert capsys.readouterr().err == ""  # kept: nothing to wait for
    monkeypatch.setattr(baseline, "_fit_ets", fit)
    changed = values.copy()
    changed[50] += 1.0  # data before the last origin: another key
    baseline.ets(changed, at, 6, 12, cache=tmp_path)
    baseline.ets(values, at, 6, 12, (0.05, 0.95), cache=tmp_path)  # another interval
    assert len(list(tmp_path.glob("ets-*.npz"))) == 3
