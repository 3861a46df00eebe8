"""forecast end to end: the real CLI on the tiny preset, its files, baselines and contracts."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.forecast import baseline, data, export, features, metrics, train
from apps.forecast import config as cfg
from apps.forecast import evaluate as forecast_evaluate
from apps.forecast import model as forecast_model
from apps.forecast.cli import APP
from rnnkit import configs, errors, runs
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing import snapshot
from rnnkit.testing.distribute import train_mirrored
from rnnkit.testing.serving import saved_model_cli_run

invoke = rcli.invoker("forecast")


def write_csv(path, n=160, freq="D", drop=(), bad=None, seed=0):
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


def write_hourly(path, days=60, trend=0.5, noise=0.02, seed=0):
    """Hourly values: a daily sine, a trend of ``trend`` a day and Gaussian noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(24 * days)
    values = 15 + 5 * np.sin(2 * np.pi * t / 24) + trend * t / 24 + rng.normal(0, noise, len(t))
    times = pd.date_range("2024-03-01", periods=len(t), freq="h")
    pd.DataFrame({"time": times, "temp": values}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return rcli.train("forecast", tmp_path_factory.mktemp("forecast") / "run", steps=8)


@pytest.fixture(scope="module")
def saved_model(run_dir, tmp_path_factory):
    return rcli.export("forecast", run_dir, tmp_path_factory.mktemp("saved") / "forecast")


# -- data ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, points, freq, season, targets",
    [
        ("co2", 2284, "W-SAT", 52, ("co2",)),
        ("sunspots", 309, "YS-JAN", 11, ("SUNACTIVITY",)),
        ("elnino", 732, "MS", 12, ("temperature",)),
        ("macrodata", 203, "QS-JAN", 4, ("realgdp", "realcons", "realinv")),
    ],
)
def test_statsmodels_series(name, points, freq, season, targets):
    series = data.load_series(cfg.DataConfig(source=f"statsmodels:{name}"))
    assert series.values.shape == (points, len(targets))
    assert (series.freq, series.season, series.targets) == (freq, season, targets)
    assert np.isfinite(series.values).all()
    assert series.lookback + series.horizon <= series.val_start < series.test_start < points
    assert (np.diff(series.seconds()) > 0).all()


def test_co2_gaps_are_interpolated_with_a_warning(capsys):
    series = data.load_series(cfg.DataConfig())
    assert "59 missing values in co2" in capsys.readouterr().err
    # 1958-05-10 is missing between 1958-05-03 (316.9) and 1958-05-17 (317.5).
    i = series.times.get_loc(pd.Timestamp("1958-05-10"))
    assert series.values[i, 0] == pytest.approx((316.9 + 317.5) / 2)
    with pytest.raises(errors.InputError, match="59 missing values"):
        data.load_series(cfg.DataConfig(fill="error"))


def test_csv_source_with_gaps_and_covariates(tmp_path, capsys):
    path = write_csv(tmp_path / "s.csv", drop=[10, 11])
    config = cfg.DataConfig(
        source=f"csv:{path}", time_col="day", target=("sales",), covariates=("price",), freq="D"
    )
    series = data.load_series(config)
    assert series.features == ("sales", "price")
    assert len(series.times) == 160 and series.season == 7 and series.horizon == 7
    assert series.lookback == 21
    assert "4 missing values in s" in capsys.readouterr().err
    original = pd.read_csv(path)
    assert series.values[9, 0] == pytest.approx(original["sales"][9])
    # Without --freq the frequency is inferred from a gap-free file.
    inferred = data.load_series(
        cfg.DataConfig(
            source=f"csv:{write_csv(tmp_path / 'f.csv')}", time_col="day", target=("sales",)
        )
    )
    assert inferred.freq == "D"


@pytest.mark.parametrize(
    "csv_kwargs, options, message",
    [
        (None, [], "no such CSV file"),
        ({}, ["--target", "nope"], "no column 'nope' in s; its columns: day, sales, price"),
        ({"bad": (5, "sales", "abc")}, [], "non-numeric value 'abc' (data row 6)"),
        ({"bad": (7, "day", "yesterday")}, [], "cannot parse the time 'yesterday'"),
        ({"bad": (7, "day", "2024-01-03")}, [], "timestamps must increase: 2024-01-03"),
        ({"n": 20}, [], "20 points, fewer than lookback 21 + horizon 7"),
        ({"drop": [3]}, ["--fill", "error"], "has 1 missing value (the first at 2024-01-04"),
        ({"drop": [3]}, ["--freq", "bogus"], "--freq 'bogus' is not a pandas offset alias"),
        ({}, ["--freq", "W-MON"], "is off the W-MON grid"),
        ({}, ["--season", "7,30", "--lookback", "21"], "is shorter than the season 30"),
    ],
)
def test_bad_csv_is_a_one_line_usage_error(tmp_path, csv_kwargs, options, message):
    if csv_kwargs is not None:
        write_csv(tmp_path / "s.csv", **csv_kwargs)
    args = ["train", "--preset", "tiny", "--run-dir", tmp_path / "r", "--data"]
    args += [f"csv:{tmp_path / 's.csv'}", "--time-col", "day"]
    if "--target" not in options:
        args += ["--target", "sales"]
    result = invoke(*args, *options)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if not line.startswith("Warn")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0]
    assert not (tmp_path / "r").exists()


def test_the_frequency_is_inferred_across_gaps_but_not_from_irregular_steps(tmp_path):
    path = write_csv(tmp_path / "s.csv", drop=[3, 50, 51])
    config = cfg.DataConfig(source=f"csv:{path}", time_col="day", target=("sales",))
    assert data.load_series(config).freq == "D"
    irregular = pd.DataFrame(
        {"day": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(60) ** 2, "D"), "sales": 1.0}
    )
    irregular.to_csv(path, index=False)
    with pytest.raises(errors.InputError, match="cannot infer the frequency"):
        data.load_series(config)


def test_scaling_is_fitted_on_the_training_part_only():
    series = data.load_series(cfg.DataConfig(source="statsmodels:elnino"))
    info = features.SeriesInfo.fit(series, cfg.PRESETS["tiny"])
    train = series.values[: series.val_start]
    assert info.mean == pytest.approx(train.mean(axis=0))
    assert info.std == pytest.approx(train.std(axis=0))
    # Changing the held-out part changes nothing.
    changed = data.Series(**{**series.__dict__, "values": series.values.copy()})
    changed.values[series.val_start :] += 100.0
    assert features.SeriesInfo.fit(changed, cfg.PRESETS["tiny"]) == info
    # MASE's scale: the in-sample seasonal naive MAE.
    assert info.mase_scale[0] == pytest.approx(np.abs(train[12:] - train[:-12]).mean())


def test_windows_and_origins():
    series = data.load_series(cfg.DataConfig(source="statsmodels:sunspots"))
    at = data.origins(series, series.test_start, len(series.times), 3, 2)
    assert list(at) == [
        len(series.times) - 11 - 4,
        len(series.times) - 11 - 2,
        len(series.times) - 11,
    ]
    found = data.windows(series, at)
    assert found["history"].shape == (3, 44, 1) and found["actual"].shape == (3, 11, 1)
    o = at[0]
    np.testing.assert_allclose(found["history"][0, :, 0], series.values[o - 44 : o, 0], rtol=1e-6)
    np.testing.assert_array_equal(found["actual"][0, :, 0], series.values[o : o + 11, 0])
    assert found["future_times"][0, 0] == series.seconds()[o]


def test_calendar_features_follow_the_year():
    times = pd.DatetimeIndex(["2001-01-01", "2001-07-02 12:00", "2002-01-01 06:00"])
    got = features.calendar(tf.constant(data.unix_seconds(times)), [features.YEAR]).numpy()
    # The same day of the year gives (nearly) the same phase; half a year, the opposite one.
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got[0], got[2], atol=0.01)
    np.testing.assert_allclose(got[1], -got[0], atol=0.02)
    assert features.calendar(tf.constant([[1, 2]], tf.int64), []).shape == (1, 2, 0)


def test_model_inputs_round_trip():
    series = data.load_series(cfg.DataConfig(source="statsmodels:macrodata", covariates=("unemp",)))
    info = features.SeriesInfo.fit(series, cfg.PRESETS["tiny"])
    windows = data.windows(series, np.array([100, 150]))
    inputs, target = train._examples(info, windows)
    assert inputs["history"].shape == (2, 24, 4) and inputs["calendar"].shape == (2, 8, 2)
    np.testing.assert_allclose(inputs["history"][:, -1, :3], 0.0)  # centred on the last value
    last = tf.constant(windows["history"][:, -1, :3])
    back = features.to_original(info, target, target[:, :, None, :], last)
    np.testing.assert_allclose(back["mean"], windows["actual"], rtol=1e-5)


# -- model, loss, metrics, baselines -------------------------------------------------------


def test_model_shapes_and_sorted_quantiles():
    config = cfg.ModelConfig(
        units=8, head_units=8, quantiles=(0.1, 0.5, 0.9), members=3, base="naive"
    )
    model = forecast_model.build_model(config, 12, 5, 3, 2, 4)
    inputs = {
        "history": tf.random.normal([4, 12, 3]),
        "level": tf.random.normal([4, 2]),
        "calendar": tf.random.normal([4, 5, 4]),
    }
    mean, quantiles = model(inputs)
    assert mean.shape == (4, 5, 2) and quantiles.shape == (4, 5, 3, 2)
    assert (np.diff(quantiles.numpy(), axis=2) >= 0).all()
    # The forecast is the members' average; the members differ.
    means, member_quantiles = model.member_outputs(inputs)
    assert means.shape == (3, 4, 5, 2) and member_quantiles.shape == (3, 4, 5, 3, 2)
    np.testing.assert_allclose(mean, means.numpy().mean(axis=0), rtol=1e-5, atol=1e-6)
    assert np.abs((means[0] - means[1]).numpy()).max() > 1e-3
    names = [v.path for v in model.weights]
    assert len(names) == len(set(names)) and "member_2/hidden/hidden/kernel" in " ".join(names)


def test_an_untrained_model_forecasts_seasonal_naive(tmp_path):
    """The seasonal base: output layers at zero, so the forecast is the value one season back."""
    config = cfg.ForecastConfig(
        data=cfg.DataConfig(
            source=f"csv:{write_csv(tmp_path / 's.csv')}", time_col="day", target=("sales",),
            covariates=("price",), horizon=10, season=(7, 3),
        ),
        model=cfg.ModelConfig(units=8, head_units=8, members=2, base="seasonal"),
    )  # fmt: skip
    series = data.load_series(config.data)
    assert series.seasons == (7, 3) and series.season == 7 and series.lookback == 30
    info = features.SeriesInfo.fit(series, config)
    model = forecast_model.build_model_for(config.model, info)
    assert (model.lags, model.member_bases) == ((7, 3), (7, 7))
    at = np.array([40, 77, 100])
    windows = data.windows(series, at)
    out = export.Forecaster(model, info)(windows["history"], windows["future_times"])
    # Horizon 10 > season 7: steps 7-9 repeat the last observed week again.
    expected, _, _ = baseline.seasonal_naive(series.values[:, :1], at, 10, 7, series.val_start)
    np.testing.assert_allclose(out["mean"], expected, rtol=1e-5)
    np.testing.assert_allclose(out["quantiles"][:, :, 1], expected, rtol=1e-5)
    # The lags are inputs of the head: its input width counts them.
    assert model.m0_hidden.kernel.shape[0] == 8 + 1 + 10 * (2 * len(info.periods) + 2)
    # The first model ("naive" base): no lags, random output layers.
    naive = forecast_model.build_model_for(dataclasses.replace(config.model, base="naive"), info)
    assert (naive.lags, naive.member_bases) == ((), (0, 0))
    out = export.Forecaster(naive, info)(windows["history"], windows["future_times"])
    assert np.abs(out["mean"] - expected).max() > 1e-3
    # "auto" (the default): as many naive members again, weighted 0 until validation
    # picks them.
    assert cfg.ModelConfig().base == "auto"
    auto = forecast_model.build_model_for(dataclasses.replace(config.model, base="auto"), info)
    assert (auto.lags, auto.member_bases) == ((7, 3), (7, 7, 0, 0))
    assert [name for name, _ in auto.candidate_weights()] == ["seasonal", "naive", "all"]
    np.testing.assert_allclose(auto.member_weights.numpy(), [0.5, 0.5, 0, 0])
    out = export.Forecaster(auto, info)(windows["history"], windows["future_times"])
    np.testing.assert_allclose(out["mean"], expected, rtol=1e-5)
    assert auto.chosen_members() == "seasonal"
    auto.member_weights.assign([0.0, 0.0, 0.5, 0.5])
    assert auto.chosen_members() == "naive"
    inputs, _ = features.model_inputs(info, windows["history"], windows["future_times"])
    means, _ = auto.member_outputs(inputs)
    np.testing.assert_allclose(auto(inputs)[0], means.numpy()[2:].mean(axis=0), rtol=1e-5)


def test_the_model_beats_seasonal_naive_on_a_smooth_periodic_series(tmp_path):
    """A daily sine with a trend (hourly): seasonal naive lags the trend by a day; the
    tiny model, which starts from it, learns the correction. The first model (the
    last value plus a learned correction) ends far worse, and train and evaluate say so."""
    path = write_hourly(tmp_path / "h.csv", days=40)
    options = ["--data", f"csv:{path}", "--time-col", "time", "--target", "temp", "--epochs", 4]
    reports = {}
    for base in ("seasonal", "naive", "auto"):
        run = tmp_path / base
        result = invoke("train", "--preset", "tiny", *options, "--base", base,
                        "--run-dir", run, "--quiet")  # fmt: skip
        assert result.exit_code == 0, result.output
        warned = "worse than seasonal naive's" in result.stderr
        evaluated = invoke("evaluate", run, "--windows", 3, "--json")
        reports[base] = json.loads(evaluated.stdout)
        table = forecast_evaluate.format_report(reports[base])  # evaluate without --json
        assert warned == (base == "naive") == ("Warning: the RNN's MASE" in table), base
    seasonal, naive = reports["seasonal"], reports["naive"]
    assert seasonal["season"] == 24 and seasonal["lookback"] == 72
    assert (seasonal["members"], naive["members"]) == ("seasonal", "naive")
    assert seasonal["rnn_beats_seasonal_naive"] and not naive["rnn_beats_seasonal_naive"]
    snaive = seasonal["models"]["seasonal_naive"]["mae"]
    assert seasonal["models"]["rnn"]["mae"] < 0.5 * snaive < naive["models"]["rnn"]["mae"]
    # auto: the weighting with the best validation MASE at the best epoch is the one kept.
    best = json.loads((tmp_path / "auto" / "metrics.json").read_text())["best"]
    scored = {name: best[f"val_{name}_mase"] for name in ("seasonal", "naive", "all")}
    assert reports["auto"]["members"] == min(scored, key=scored.get)
    assert best["val_mase"] == pytest.approx(min(scored.values()))
    assert reports["auto"]["rnn_beats_seasonal_naive"]


def test_the_model_reproduces_a_pure_seasonal_series(tmp_path):
    """A noisy daily sine with no trend: seasonal naive is the best forecast there is
    (but for the noise); quick training keeps the model on it, to within the noise."""
    noise = 0.02
    path = write_hourly(tmp_path / "h.csv", days=30, trend=0.0, noise=noise)
    run = tmp_path / "run"
    result = invoke("train", "--preset", "quick", "--data", f"csv:{path}", "--time-col", "time",
                    "--target", "temp", "--run-dir", run, "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(invoke("evaluate", run, "--windows", 5, "--json").stdout)
    rnn, snaive = report["models"]["rnn"], report["models"]["seasonal_naive"]
    # Seasonal naive's error is the difference of two noise terms: MAE 2 * noise / sqrt(pi).
    assert snaive["mae"] == pytest.approx(2 * noise / np.sqrt(np.pi), rel=0.3)
    assert rnn["mae"] < 2 * noise and rnn["mase"] < 1.5 * snaive["mase"]


def test_pinball_loss_is_the_quantile_loss():
    class Fixed:
        def member_outputs(self, inputs, training=False):
            # Two members: [member, batch, horizon, (quantile,) target].
            mean = tf.constant([[[[0.0]]], [[[2.0]]]])
            quantiles = tf.constant([[[[[-1.0], [0.0], [2.0]]]], [[[[1.0], [1.0], [1.0]]]]])
            return mean, quantiles

    target = tf.constant([[[1.0]]])
    loss = train.per_example_loss(Fixed(), None, target, (0.1, 0.5, 0.9), False).numpy()
    # Member 0: (0 - 1)^2 = 1; pinball 0.1 * 2, 0.5 * 1, (0.9 - 1) * -1, averaged.
    # Member 1: (2 - 1)^2 = 1; pinball 0. Each member on its own forecast, averaged.
    assert loss == pytest.approx([(1.0 + (0.2 + 0.5 + 0.1) / 3 + 1.0) / 2])


def test_calibration_offsets_reach_the_nominal_coverage():
    rng = np.random.default_rng(0)
    # Quantiles that claim +-0.5 while the noise is N(0, 1): far too narrow.
    raw = np.broadcast_to(np.array([-0.5, 0.0, 0.5])[None, None, :, None], (4000, 3, 3, 1))
    fit, fresh = rng.normal(size=(2, 4000, 3, 1))
    offsets = train.calibration_offsets(raw[:2000], fit[:2000], (0.1, 0.5, 0.9))
    assert offsets.shape == (3, 3, 1) and (offsets[:, 1] == 0).all()
    low, high = raw[..., 0, :] + offsets[:, 0], raw[..., 2, :] + offsets[:, 2]
    before = ((fresh > raw[..., 0, :]) & (fresh < raw[..., 2, :])).mean()
    after = ((fresh > low) & (fresh < high)).mean()
    assert before < 0.45 and after == pytest.approx(0.8, abs=0.03)
    # Too wide an interval shrinks.
    wide = train.calibration_offsets(raw * 10, fit, (0.1, 0.5, 0.9))
    assert (wide[:, 0] > 0).all() and (wide[:, 2] < 0).all()


def test_metrics_by_hand():
    actual = np.array([[[2.0], [4.0]]])
    point = np.array([[[1.0], [4.0]]])
    found = metrics.metrics(actual, point, point - 0.5, point + 0.5, [2.0])
    assert found["mae"] == pytest.approx(0.5)
    assert found["rmse"] == pytest.approx(np.sqrt(0.5))
    assert found["smape"] == pytest.approx((200 * 1 / 3 + 0) / 2)
    assert found["mase"] == pytest.approx(0.25)
    assert found["coverage"] == pytest.approx(50.0)


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


# -- the CLI end to end --------------------------------------------------------------------


def test_train_writes_the_run_directory(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert configs.config_from_dict(cfg.ForecastConfig, config) == cfg.PRESETS["tiny"]
    info = features.SeriesInfo.load(run_dir)
    assert (info.name, info.lookback, info.horizon, info.targets) == ("co2", 104, 52, ("co2",))
    assert info.periods == (features.YEAR,)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert {"val_loss", "val_mae", "val_mase", "val_raw_coverage"} <= set(metrics["history"][0])
    assert metrics["history"][1]["loss"] < metrics["history"][0]["loss"]


def test_tensorboard_holds_losses_backtest_and_fan_plot(run_dir):
    val = EventAccumulator(str(run_dir / "tb" / "validation"))
    val.Reload()
    assert {"loss", "mae", "mase", "raw_coverage"} <= set(val.Tags()["tensors"])
    train = EventAccumulator(str(run_dir / "tb" / "train"))
    train.Reload()
    images = train.Tensors("forecast/validation")
    assert [e.step for e in images] == [4, 8]
    width, height, png = images[-1].tensor_proto.string_val
    assert png.startswith(b"\x89PNG") and (int(width), int(height)) == (640, 280)


def test_evaluate_backtests_the_rnn_and_the_baselines(run_dir):
    result = invoke("evaluate", run_dir, "--json", "--windows", 3)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["models"]) == {"rnn", "naive", "seasonal_naive", "ets"}
    assert report["windows"] == 3 and report["stride"] == 13 and report["horizon"] == 52
    for found in report["models"].values():
        assert set(found) == {"mae", "rmse", "smape", "mase", "coverage"}
        assert 0 < found["mae"] <= found["rmse"] and 0 <= found["coverage"] <= 100
    # The naive forecast's metrics, computed here independently.
    series = data.load_series(cfg.DataConfig())
    at = data.origins(series, series.test_start, len(series.times), 3, 13)
    actual = np.stack([series.values[o : o + 52, 0] for o in at])
    last = series.values[at - 1, 0][:, None]
    assert report["models"]["naive"]["mae"] == pytest.approx(np.abs(actual - last).mean())
    assert json.loads((run_dir / "evaluation.json").read_text()) == report
    table = invoke("evaluate", run_dir, "--windows", 3).output
    assert "seasonal_naive" in table and "MASE" in table


def test_the_calibration_is_checkpointed_and_served(run_dir):
    run = runs.load_run(APP, run_dir)
    offsets = run.model.calibration.numpy()
    assert offsets.shape == (52, 3, 1) and np.abs(offsets).max() > 0
    inputs = {
        "history": tf.zeros([1, 104, 1]),
        "level": tf.zeros([1, 1]),
        "calendar": tf.zeros([1, 52, 2]),
    }
    _, raw = run.model(inputs, calibrated=False)
    _, calibrated = run.model(inputs)
    np.testing.assert_allclose(
        calibrated.numpy(), np.sort(raw.numpy() + offsets, axis=2), atol=1e-6
    )


def test_saved_model_serves_forecasts_in_original_units(saved_model, run_dir):
    loaded = tf.saved_model.load(str(saved_model))
    signature = loaded.signatures["serving_default"]
    assert set(signature.structured_outputs) == {"mean", "quantiles"}
    run = runs.load_run(APP, run_dir)
    info = features.SeriesInfo.load(saved_model / "assets")
    assert info == features.SeriesInfo.load(run_dir)
    series = data.load_series(cfg.DataConfig())
    windows = data.windows(series, np.array([1900, 2000, 2100]))
    got = signature(
        history=tf.constant(windows["history"]), future_times=tf.constant(windows["future_times"])
    )
    want = export.Forecaster(run.model, info)(windows["history"], windows["future_times"])
    assert got["mean"].shape == (3, 52, 1) and got["quantiles"].shape == (3, 52, 3, 1)
    np.testing.assert_allclose(got["mean"].numpy(), want["mean"], rtol=1e-5)
    np.testing.assert_allclose(got["quantiles"].numpy(), want["quantiles"], rtol=1e-5)
    # In original units: near the last observed value, not near zero.
    assert np.abs(got["mean"].numpy()[:, 0, 0] - windows["history"][:, -1, 0]).max() < 20
    # A gap in the history is refused, not forecast from.
    broken = windows["history"].copy()
    broken[0, 5, 0] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="history holds NaN or inf"):
        signature(history=tf.constant(broken), future_times=tf.constant(windows["future_times"]))


def test_saved_model_warmup_and_cli(saved_model):
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert [name for name, _ in records] == ["serving_default"] * 2
    assert records[0][1]["history"].shape == (1, 104, 1)
    replies = layout.replay_warmup(
        tf.saved_model.load(str(saved_model)), saved_model / layout.WARMUP_FILE
    )
    assert replies[1]["quantiles"].shape == (2, 52, 3, 1)
    history = [[[float(340 + i % 52 / 10)] for i in range(104)]]
    times = [[1_000_000_000 + 604_800 * i for i in range(52)]]
    out = saved_model_cli_run(
        saved_model, "serving_default", f"history={history};future_times={times}"
    )
    assert "Result for output key mean:" in out and "Result for output key quantiles:" in out


def test_predict_writes_csv_and_plot(saved_model, run_dir, tmp_path):
    out, plot = tmp_path / "f.csv", tmp_path / "f.png"
    result = invoke("predict", saved_model.parent, "--out", out, "--plot", plot)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["time", "target", "mean", "q0.1", "q0.5", "q0.9"]
    assert len(frame) == 52 and frame["time"][0] == "2002-01-05T00:00:00"
    assert (frame["q0.1"] <= frame["q0.5"]).all() and (frame["q0.5"] <= frame["q0.9"]).all()
    assert plot.read_bytes().startswith(b"\x89PNG")
    # The run directory gives the same forecast as its SavedModel.
    again = tmp_path / "g.csv"
    assert invoke("predict", run_dir, "--out", again).exit_code == 0
    assert again.read_text() == out.read_text()


def test_multivariate_csv_end_to_end(tmp_path):
    path = write_csv(tmp_path / "s.csv")
    run = tmp_path / "run"
    common = ["--data", f"csv:{path}", "--time-col", "day"]
    result = invoke(
        "train", "--preset", "tiny", "--run-dir", run, "--quiet", *common,
        "--target", "sales,price", "--horizon", "5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = features.SeriesInfo.load(run)
    assert info.targets == ("sales", "price") and info.periods == (features.YEAR, features.WEEK)
    report = json.loads(invoke("evaluate", run, "--json", "--windows", 2).stdout)
    assert report["targets"] == ["sales", "price"] and report["windows"] == 2
    # Predict from the newest 30 rows only: a forecast needs just the lookback.
    recent = tmp_path / "recent.csv"
    pd.read_csv(path).tail(30).to_csv(recent, index=False)
    out = tmp_path / "f.csv"
    result = invoke("predict", run, "--data", f"csv:{recent}", "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 10 and list(frame["target"][:2]) == ["sales", "price"]
    assert frame["time"][0] == "2024-06-09T00:00:00"
    # Too little history: a usage error.
    pd.read_csv(path).tail(10).to_csv(recent, index=False)
    short = invoke("predict", run, "--data", f"csv:{recent}", "--out", out)
    assert short.exit_code == 2
    assert "recent has 10 points, fewer than the lookback 15" in short.output


def test_bad_commands_are_usage_errors(tmp_path, run_dir):
    cases = [
        (["evaluate", tmp_path], "has no config.json"),
        (["predict", tmp_path / "nothing"], "no such run or SavedModel"),
        (["train", "--data", "statsmodels:nope"], "unknown statsmodels series 'nope'"),
        (["train", "--data", "s3:x"], "unknown data source 's3:x'"),
        (["train", "--data", f"csv:{tmp_path}"], "no such CSV file"),
        (["train", "--horizon", "0"], "Invalid value for '--horizon'"),
        (["train", "--season", "7,x"], "'7,x' is not a list of integers such as 24,168"),
        (["train", "--season", "7,7"], "`season` must be distinct positive integers"),
        (["predict", run_dir, "--target", "nope", "--out", tmp_path / "x.csv"], "no column 'nope'"),
        (["predict", run_dir, "--out", tmp_path / "no" / "f.csv"], "its folder does not exist"),
        (["predict", run_dir, "--plot", tmp_path / "no" / "f.png"], "its folder does not exist"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_mirrored_on_two_cpus_matches_one_replica(run_dir, tmp_path):
    """The same global batches, so the same losses, backtest and calibration on two replicas."""
    train_mirrored("forecast", tmp_path / "run")
    one, two = (json.loads((p / "metrics.json").read_text()) for p in (run_dir, tmp_path / "run"))
    for a, b in zip(one["history"], two["history"]):
        for key in ("loss", "val_loss", "val_mase", "val_raw_coverage"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key
    offsets = [runs.load_run(APP, p).model.calibration.numpy() for p in (run_dir, tmp_path / "run")]
    np.testing.assert_allclose(offsets[1], offsets[0], rtol=1e-3, atol=1e-5)


def test_predict_on_tf_serving_writes_the_local_csv(saved_model, tmp_path, StandIn):
    local = tmp_path / "local.csv"
    assert invoke("predict", saved_model, "--out", local).exit_code == 0
    with StandIn(saved_model.parent.parent) as server:
        for protocol, url in (("rest", server.rest_url), ("grpc", server.grpc_url)):
            out = tmp_path / f"{protocol}.csv"
            result = invoke("predict", saved_model, "--out", out, "--server", url)
            assert result.exit_code == 0, result.output
            assert out.read_text() == local.read_text()
        assert [p for p, _ in server.requests].count("grpc") == 2  # metadata, then Predict


def test_export_keeps_the_signatures_of_the_snapshot(saved_model):
    snapshot.assert_signatures("forecast", saved_model)
