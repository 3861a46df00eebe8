"""forecast's in-graph features: scaling, calendar, model inputs."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from apps.forecast import config as cfg
from apps.forecast import data, features, train


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
    inputs, target = train.scaled_examples(info, windows)
    assert inputs["history"].shape == (2, 24, 4) and inputs["calendar"].shape == (2, 8, 2)
    np.testing.assert_allclose(inputs["history"][:, -1, :3], 0.0)  # centred on the last value
    last = tf.constant(windows["history"][:, -1, :3])
    back = features.to_original(info, target, target[:, :, None, :], last)
    np.testing.assert_allclose(back["mean"], windows["actual"], rtol=1e-5)
