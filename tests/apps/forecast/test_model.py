"""forecast's SeriesForecaster: shapes, sorted quantiles, seasonal naive at the start."""

import dataclasses

import numpy as np
import tensorflow as tf

from apps.forecast import baseline, data, export, features
from apps.forecast import config as cfg
from apps.forecast import model as forecast_model


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


def test_an_untrained_model_forecasts_seasonal_naive(tmp_path, write_csv):
    """The seasonal base: output layers at zero, so the forecast is the value one season back."""
    config = cfg.ForecastConfig(
        data=cfg.DataConfig(
            source=f"csv:{write_csv(tmp_path / 's.csv')}",
            time_col="day",
            target=("sales",),
            covariates=("price",),
            horizon=10,
            season=(7, 3),
        ),
        model=cfg.ModelConfig(units=8, head_units=8, members=2, base="seasonal"),
    )
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
    # picks them; and the baselines, each a candidate of its own.
    assert cfg.ModelConfig().base == "auto"
    auto = forecast_model.build_model_for(dataclasses.replace(config.model, base="auto"), info)
    assert (auto.lags, auto.member_bases) == ((7, 3), (7, 7, 0, 0))
    assert auto.baselines == ("naive", "seasonal_naive", "ets") and auto.season == 7
    names = [name for name, _ in auto.candidate_weights()]
    assert names == ["seasonal", "naive", "all"] + [f"baseline_{b}" for b in auto.baselines]
    assert auto.choice.shape == (10, 1, 7)
    np.testing.assert_allclose(auto.choice.numpy()[4, 0], [0.5, 0.5, 0, 0, 0, 0, 0])
    out = export.Forecaster(auto, info)(windows["history"], windows["future_times"])
    np.testing.assert_allclose(out["mean"], expected, rtol=1e-5)
    assert auto.chosen() == [["seasonal"]] * 10
    # The choice is per horizon step: the naive networks for the first five steps,
    # the seasonal naive baseline for the rest.
    weights = dict(auto.candidate_weights())
    choice = [weights["naive"]] * 5 + [weights["baseline_seasonal_naive"]] * 5
    auto.choice.assign(np.asarray(choice, np.float32)[:, None])
    assert auto.chosen() == [["naive"]] * 5 + [["baseline_seasonal_naive"]] * 5
    inputs, _ = features.model_inputs(info, windows["history"], windows["future_times"])
    means, _ = auto.member_outputs(inputs)
    mean = auto(inputs)[0].numpy()
    np.testing.assert_allclose(mean[:, :5], means.numpy()[2:, :, :5].mean(axis=0), rtol=1e-5)
    points = auto.baseline_points(inputs["history"]).numpy()
    np.testing.assert_allclose(mean[:, 5:], points[1][:, 5:], rtol=1e-5)
    out = export.Forecaster(auto, info)(windows["history"], windows["future_times"])
    np.testing.assert_allclose(out["mean"][:, 5:], expected[:, 5:], rtol=1e-5)
    # An average of a weighting and ETS has a name of its own and is what the model forecasts.
    ets = np.asarray(weights["baseline_ets"])
    choice[0] = 0.75 * np.asarray(weights["naive"]) + 0.25 * ets
    auto.choice.assign(np.asarray(choice, np.float32)[:, None])
    assert auto.chosen()[:2] == [["naive+ets:0.25"], ["naive"]]
    mean = auto(inputs)[0].numpy()
    np.testing.assert_allclose(
        mean[:, 0], 0.75 * means.numpy()[2:, :, 0].mean(axis=0) + 0.25 * points[2][:, 0], rtol=1e-5
    )
    # Without baselines the networks are the only candidates.
    alone = forecast_model.build_model_for(
        dataclasses.replace(config.model, base="auto", baselines=False), info
    )
    assert alone.baselines == () and alone.choice.shape == (10, 1, 4)
