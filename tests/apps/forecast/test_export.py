"""forecast export: the SavedModel forecasts in original units; warmup records."""

import numpy as np
import pytest
import tensorflow as tf

from apps.forecast import config as cfg
from apps.forecast import data, export, features
from apps.forecast.cli import APP
from rnnkit import runs
from rnnkit.serving import layout
from rnnkit.testing.serving import saved_model_cli_run


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
