"""forecast train: quality on clean series, the losses, calibration, the run folder."""

import json

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.forecast import config as cfg
from apps.forecast import evaluate as forecast_evaluate
from apps.forecast import features, train
from apps.forecast.cli import APP
from rnnkit import configs, runs
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("forecast")


def test_the_model_beats_seasonal_naive_on_a_smooth_periodic_series(tmp_path, write_hourly):
    """A daily sine with a trend (hourly): seasonal naive lags the trend by a day; the
    tiny model, which starts from it, learns the correction. The first model (the
    last value plus a learned correction) ends far worse, and train and evaluate say so.
    With the baselines (the default) validation chooses at each step what beats it."""
    path = write_hourly(tmp_path / "h.csv", days=40)
    options = ["--data", f"csv:{path}", "--time-col", "time", "--target", "temp", "--epochs", 4]
    reports = {}
    for base in ("seasonal", "naive", "auto"):
        run = tmp_path / base
        # The networks of one base alone: without the baselines to fall back on.
        alone = ["--set", "model.baselines=false"] if base != "auto" else []
        result = invoke(
            "train",
            "--preset",
            "tiny",
            *options,
            "--base",
            base,
            *alone,
            "--run-dir",
            run,
            "--quiet",
        )
        assert result.exit_code == 0, result.output
        warned = "worse than seasonal naive's" in result.stderr
        evaluated = invoke("evaluate", run, "--windows", 3, "--json")
        reports[base] = json.loads(evaluated.stdout)
        table = forecast_evaluate.format_report(reports[base])  # evaluate without --json
        assert warned == (base == "naive") == ("Warning: the RNN's MASE" in table), base
    seasonal, naive = reports["seasonal"], reports["naive"]
    assert seasonal["season"] == 24 and seasonal["lookback"] == 72
    assert seasonal["choice"] == {"seasonal": 24}
    assert naive["choice"] == {"naive": 24}
    assert seasonal["rnn_beats_seasonal_naive"] and not naive["rnn_beats_seasonal_naive"]
    snaive = seasonal["models"]["seasonal_naive"]["mae"]
    assert seasonal["models"]["rnn"]["mae"] < 0.5 * snaive < naive["models"]["rnn"]["mae"]
    # auto: every weighting is scored on the validation windows, and the one chosen
    # at each step does at least as well as the best of the networks' alone.
    best = json.loads((tmp_path / "auto" / "metrics.json").read_text())["best"]
    baselines = ("baseline_naive", "baseline_seasonal_naive", "baseline_ets")
    scored = {name: best[f"val_{name}_mase"] for name in ("seasonal", "naive", "all")}
    assert all(f"val_{name}_mase" in best for name in baselines)
    assert best["val_mase"] <= min(scored.values()) + 1e-6
    assert best["val_baseline_seasonal_naive_mase"] == pytest.approx(
        best["val_seasonal_naive_mase"], rel=1e-4
    )
    assert reports["auto"]["rnn_beats_seasonal_naive"]


def test_the_model_reproduces_a_pure_seasonal_series(tmp_path, write_hourly):
    """A noisy daily sine with no trend: seasonal naive is the best forecast there is
    (but for the noise); quick training keeps the model on it, to within the noise."""
    noise = 0.02
    path = write_hourly(tmp_path / "h.csv", days=30, trend=0.0, noise=noise)
    run = tmp_path / "run"
    result = invoke(
        "train",
        "--preset",
        "quick",
        "--data",
        f"csv:{path}",
        "--time-col",
        "time",
        "--target",
        "temp",
        "--run-dir",
        run,
        "--quiet",
    )
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
    events = EventAccumulator(str(run_dir / "tb" / "train"))
    events.Reload()
    images = events.Tensors("forecast/validation")
    assert [e.step for e in images] == [4, 8]
    width, height, png = images[-1].tensor_proto.string_val
    assert png.startswith(b"\x89PNG") and (int(width), int(height)) == (640, 280)


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


def test_two_replicas_fit_the_same_calibration(run_dir, tiny_runs):
    """The same global batches, so the same calibration offsets on two replicas."""
    mirrored = tiny_runs.mirrored("forecast")
    offsets = [runs.load_run(APP, p).model.calibration.numpy() for p in (run_dir, mirrored)]
    np.testing.assert_allclose(offsets[1], offsets[0], rtol=1e-3, atol=1e-5)
