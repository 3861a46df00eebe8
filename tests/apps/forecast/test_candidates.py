"""forecast's baselines in the graph (ETS as a linear map), the validation runs, and the
per-step choice between the networks and the baselines."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from apps.forecast import candidates, train
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("forecast")


def _statsmodels_forecast(y, params, horizon, season, init):
    """statsmodels' ETS forecast from known initial states and fixed parameters."""
    level, trend, seasonal = init
    kw = {"seasonal": "add", "seasonal_periods": season, "initial_seasonal": seasonal}
    model = ETSModel(
        pd.Series(y),
        error="add",
        trend="add",
        damped_trend=True,
        initialization_method="known",
        initial_level=level,
        initial_trend=trend,
        **(kw if season > 1 else {}),
    )
    alpha, beta, gamma, phi = params
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.smooth([alpha, beta, gamma, phi] if season > 1 else [alpha, beta, phi])
    return fit.forecast(horizon).to_numpy()


@pytest.mark.parametrize("season", [1, 4])
def test_the_ets_map_is_statsmodels_ets_from_the_windows_own_states(season):
    rng = np.random.default_rng(season)
    lookback, horizon = 30, 9
    t = np.arange(lookback)
    y = np.sin(2 * np.pi * t / 4) + 0.1 * t + rng.normal(0, 0.1, lookback)
    params = (0.3, 0.1, 0.2 if season > 1 else 0.0, 0.9)
    found = candidates.ets_map(params, lookback, horizon, season)
    assert found.shape == (horizon, lookback)
    if season > 1:  # the states the map starts from, written out
        k = lookback // season
        means = [y[j * season : (j + 1) * season].mean() for j in range(k)]
        trend = (means[-1] - means[0]) / ((k - 1) * season)
        ramp = (np.arange(season) - (season - 1) / 2) * trend
        seasonal = np.mean(
            [y[j * season : (j + 1) * season] - means[j] - ramp for j in range(k)], axis=0
        )
        init = (means[0] - ((season - 1) / 2 + 1) * trend, trend, seasonal)
    else:
        init = (y[0], (y[4] - y[0]) / 4, None)
    expected = _statsmodels_forecast(y, params, horizon, season, init)
    np.testing.assert_allclose(found @ y, expected, rtol=1e-9, atol=1e-9)
    # A constant window forecasts itself: the map works on centred windows.
    np.testing.assert_allclose(found.sum(axis=1), 1.0, rtol=1e-9)


def test_the_textbook_start_is_statsmodels_ets_from_the_first_seasons():
    rng = np.random.default_rng(7)
    lookback, horizon, season = 24, 6, 4
    y = np.sin(2 * np.pi * np.arange(lookback) / 4) + rng.normal(0, 0.1, lookback)
    params = (0.3, 0.1, 0.2, 0.9)
    found = candidates.ets_map(params, lookback, horizon, season, start="first")
    level = y[:season].mean()
    init = (level, (y[season : 2 * season].mean() - level) / season, y[:season] - level)
    expected = _statsmodels_forecast(y, params, horizon, season, init)
    np.testing.assert_allclose(found @ y, expected, rtol=1e-9, atol=1e-9)
    assert not np.allclose(found, candidates.ets_map(params, lookback, horizon, season))


def test_ets_maps_fit_on_a_series_and_refuse_too_short_a_one():
    t = np.arange(200)
    values = np.stack([10 + np.sin(2 * np.pi * t / 12) + 0.01 * t, 3 + 0.02 * t], axis=1)
    maps = candidates.fit_ets_maps(values, 36, 6, 12)
    assert maps.shape == (2, 6, 36) and maps.dtype == np.float32
    # On the series it was fitted to, the map forecasts a smooth seasonal curve well.
    window = values[-42:-6, 0]
    forecast = maps[0] @ window
    assert np.abs(forecast - values[-6:, 0]).max() < 0.1
    assert candidates.fit_ets_maps(values[:20], 36, 6, 12) is None


def test_validation_runs_and_training_windows_never_share_a_target():
    first, start, stop, horizon = 48, 600, 700, 12
    runs = candidates.validation_origins(first, start, stop, horizon, 3)
    assert len(runs) == 3
    total = stop - horizon + 1 - start
    assert all(len(r) == total // 3 for r in runs)
    assert runs[-1][-1] == stop - horizon  # the last run's targets end where validation does
    assert runs[0][0] >= first and runs[1][0] < start  # the others lie in the training part
    held = np.concatenate(runs)
    train_at = candidates.training_origins(first, stop, horizon, runs)
    assert train_at.min() >= first and train_at.max() <= stop - horizon
    gaps = np.abs(train_at[:, None] - held[None, :])
    assert gaps.min() >= horizon
    # Only those near a run are left out.
    assert len(train_at) == (stop - horizon + 1 - first) - sum(
        len(r) + 2 * horizon - 2 for r in runs[:-1]
    ) - (len(runs[-1]) + horizon - 1)
    # One run: the validation part as it is; also where the training part is too
    # short to hold the others.
    (one,) = candidates.validation_origins(first, start, stop, horizon, 1)
    np.testing.assert_array_equal(one, np.arange(start, stop - horizon + 1))
    (short,) = candidates.validation_origins(first, 49, 75, horizon, 2)
    np.testing.assert_array_equal(short, np.arange(49, 75 - horizon + 1))


def test_a_baseline_replaces_the_networks_only_where_it_is_clearly_better():
    rng = np.random.default_rng(0)
    windows, horizon = 120, 4
    networks = np.abs(rng.normal(1.0, 0.3, (windows, horizon, 1)))
    # Two network weightings (the second worse), then one baseline: much better at
    # step 0, a hair better at step 1 (noise), worse at steps 2 and 3.
    other = networks + 0.5
    baseline = networks.copy()
    baseline[:, 0] *= 0.5
    baseline[:, 1] = networks[:, 1] - 0.001 + rng.normal(0, 0.3, (windows, 1))
    baseline[:, 2:] += 0.2
    errors = np.abs(np.stack([networks, other, baseline]))
    chosen = train.choose(errors, networks=2, horizon=horizon)
    assert chosen.shape == (horizon, 1)
    assert chosen[:, 0].tolist() == [2, 0, 0, 0]
    # With no margin the lowest mean error wins outright, noise or not.
    outright = train.choose(errors, networks=2, horizon=horizon, z=0.0)
    np.testing.assert_array_equal(outright, np.argmin(errors.mean(axis=1), axis=0))
    assert outright[1, 0] == 2


def test_an_average_with_ets_replaces_the_pick_only_where_it_is_clearly_better():
    rng = np.random.default_rng(1)
    windows, horizon = 120, 3
    target = rng.normal(0, 1, (windows, horizon, 1))
    # One network weighting and ETS, each a candidate's forecast; weights over
    # [network, ets]. Step 0: they err in opposite directions, so their average
    # is far better than either. Step 1: ETS's errors only add noise to the
    # network's. Step 2: ETS alone is far better (the rule's own choice).
    net = target + rng.normal(0, 0.2, target.shape)
    ets = target + rng.normal(0, 0.2, target.shape)
    net[:, 0] += 1.0
    ets[:, 0] -= 1.0
    net[:, 1] += 0.05
    ets[:, 1] = net[:, 1] + rng.normal(0, 1.0, (windows, 1))
    net[:, 2] += 2.0
    weights = np.eye(2, dtype=np.float32)
    point = np.stack([net, ets])
    choice = train.choose_weights(point, target, weights, networks=1, z=2.0, ets=1)
    assert choice.shape == (horizon, 1, 2)
    np.testing.assert_allclose(choice[:, 0], [[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    # Without ETS, the rule's choice alone.
    alone = train.choose_weights(point, target, weights, networks=1, z=2.0)
    np.testing.assert_allclose(alone[:, 0], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])


def test_on_a_random_walk_validation_picks_the_last_value(tmp_path):
    """Where nothing beats the last value and the networks barely trained, the
    validation windows choose the naive baseline, and the SavedModel serves it."""
    rng = np.random.default_rng(3)
    times = pd.date_range("2020-01-01", periods=600, freq="D")
    values = 100 + np.cumsum(rng.normal(0, 1, len(times)))
    path = tmp_path / "walk.csv"
    pd.DataFrame({"day": times.strftime("%Y-%m-%d"), "v": values}).to_csv(path, index=False)
    run = tmp_path / "run"
    data = ["--data", f"csv:{path}", "--time-col", "day", "--target", "v"]
    result = invoke("train", "--preset", "tiny", *data, "--epochs", 1, "--run-dir", run, "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(invoke("evaluate", run, "--windows", 10, "--json").stdout)
    assert report["choice"].get("baseline_naive", 0) >= report["horizon"] // 2
    rnn, naive = report["models"]["rnn"], report["models"]["naive"]
    assert rnn["mase"] <= 1.05 * naive["mase"]
    assert len(report["choice_per_step"]) == report["horizon"]
