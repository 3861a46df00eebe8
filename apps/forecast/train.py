"""forecast's training job: MSE for the mean, pinball loss for the quantiles.

Each epoch backtests the validation windows (``val_mase``, the member
weights chosen on them, the calibration offsets) and draws a fan plot in
TensorBoard.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.forecast import baseline, data
from apps.forecast.config import ForecastConfig
from apps.forecast.evaluate import rnn_forecast
from apps.forecast.export import Forecaster
from apps.forecast.features import EXAMPLES_FILE, SeriesInfo, model_inputs, to_original
from apps.forecast.metrics import INTERVAL, interval_index, metrics
from apps.forecast.model import build_model_for
from apps.forecast.plots import fan_figure
from rnnkit import figures
from rnnkit.files import write_bytes
from rnnkit.training import Task


def _examples(info: SeriesInfo, windows: dict) -> tuple[dict, np.ndarray]:
    inputs, last = model_inputs(info, windows["history"], windows["future_times"])
    std = np.asarray(info.std[: info.n_targets], np.float32)
    target = (windows["actual"] - last.numpy()[:, None, :]) / std
    return {k: v.numpy() for k, v in inputs.items()}, target.astype(np.float32)


def per_example_loss(model, inputs, target, quantiles, training):
    """Squared error of the mean plus the pinball loss of each quantile, per window.

    Each ensemble member is scored on its own forecast (so the members stay
    independent), and on its raw quantiles: the calibration fitted after each
    epoch must not feed back into training.
    """
    mean, predicted = model.member_outputs(inputs, training=training)
    squared = tf.reduce_mean(tf.square(mean - target), axis=[0, 2, 3])
    q = tf.constant(quantiles, tf.float32)[None, None, None, :, None]
    error = target[None, :, :, None, :] - predicted
    pinball = tf.reduce_mean(tf.maximum(q * error, (q - 1.0) * error), axis=[0, 2, 3, 4])
    return squared + pinball


def calibration_offsets(quantiles, target, levels) -> np.ndarray:
    """Offsets ``[horizon, quantiles, targets]`` that calibrate each central interval.

    Conformalized quantile regression (Romano et al., 2019), per horizon step
    and target: for the interval between levels ``q_i`` and ``q_j = 1 - q_i``
    the conformity score of a window is ``max(lower - y, y - upper)``; both
    ends move out (or in) by its ``(q_j - q_i)(1 + 1/n)`` empirical quantile
    over the ``n`` windows, so about ``q_j - q_i`` of new values fall inside.
    A median (unpaired level) is left as is.
    """
    quantiles, target = np.asarray(quantiles), np.asarray(target)
    n = len(target)
    offsets = np.zeros(quantiles.shape[1:], np.float32)
    levels = list(levels)
    for i in range(len(levels) // 2):
        j = len(levels) - 1 - i
        score = np.maximum(quantiles[:, :, i] - target, target - quantiles[:, :, j])
        level = min(1.0, (levels[j] - levels[i]) * (1 + 1 / n))
        width = np.quantile(score, level, axis=0, method="higher")
        offsets[:, i], offsets[:, j] = -width, width
    return offsets


def make_task(config: ForecastConfig, run_dir: Path) -> Task:
    """Loads the series, saves its ``series.json`` into ``run_dir`` and returns the task."""
    series = data.load_series(config.data)
    info = SeriesInfo.fit(series, config)
    info.save(run_dir)
    train_at = data.origins(series, 0, series.val_start, None, 1)
    train_inputs, train_target = _examples(info, data.windows(series, train_at))
    val = _Validation(series, info)
    # Real requests for the SavedModel's warmup and self-check; written
    # atomically (every worker of a multi-worker job writes the same file).
    buffer = io.BytesIO()
    history, future = val.windows["history"][-2:], val.windows["future_times"][-2:]
    np.savez(buffer, history=history, future_times=future)
    write_bytes(run_dir / EXAMPLES_FILE, buffer.getvalue())

    def loss(model, batch, training):
        inputs, target = batch
        return per_example_loss(model, inputs, target, info.quantiles, training)

    def train_data(epoch):
        dataset = tf.data.Dataset.from_tensor_slices((train_inputs, train_target))
        dataset = dataset.shuffle(len(train_target), seed=config.seed * 1000 + epoch)
        return dataset.batch(config.train.batch_size)

    def val_data():
        dataset = tf.data.Dataset.from_tensor_slices((val.inputs, val.target))
        return dataset.batch(config.train.batch_size)

    build = lambda: build_model_for(config.model, info)
    return Task(
        build, loss, train_data, val_data, samples=val.samples, validation_metrics=val.metrics
    )


class _Validation:
    """The validation windows: what each epoch backtests, calibrates and draws."""

    def __init__(self, series: data.Series, info: SeriesInfo):
        self.series, self.info = series, info
        self.at = data.origins(series, series.val_start, series.test_start, None, 1)
        self.windows = data.windows(series, self.at)
        self.inputs, self.target = _examples(info, self.windows)
        targets = series.values[:, : info.n_targets]
        snaive = baseline.seasonal_naive(
            targets, self.at, info.horizon, info.season, series.val_start, INTERVAL
        )
        self.snaive_mase = metrics(self.windows["actual"], *snaive, info.mase_scale)["mase"]
        self.last = tf.constant(self.windows["history"][:, -1, : info.n_targets])
        self._forecaster: tuple = (None, None)

    def _backtest_raw(self, mean, raw) -> dict:
        out = to_original(self.info, mean, raw, self.last)
        q = out["quantiles"].numpy()
        low, high = interval_index(self.info.quantiles)
        actual = self.windows["actual"]
        return metrics(actual, out["mean"], q[:, :, low], q[:, :, high], self.info.mase_scale)

    def metrics(self, model) -> dict:
        """Each candidate weighting of the members (seasonal, naive, all) is
        backtested on the raw quantiles; the best MASE is kept, then the
        calibration is fitted on the same windows."""
        means, quantiles = model.member_outputs(self.inputs)
        scored = []
        for name, weights in model.candidate_weights():
            mean, raw = model.combine(means, quantiles, weights)
            scored.append((self._backtest_raw(mean, raw), name, weights, raw))
        found, name, weights, raw = min(scored, key=lambda s: s[0]["mase"])
        model.member_weights.assign(weights)
        offsets = calibration_offsets(raw.numpy(), self.target, self.info.quantiles)
        model.calibration.assign(offsets)
        chosen = {f"{n}_mase": s["mase"] for s, n, _, _ in scored} if len(scored) > 1 else {}
        return {
            "mae": found["mae"],
            "mase": found["mase"],
            "raw_coverage": found["coverage"],
            "seasonal_naive_mase": self.snaive_mase,
            **chosen,
        }

    def samples(self, model, epoch) -> dict:
        """The last validation window: its history, forecast fan and actuals."""
        if self._forecaster[0] is not model:
            self._forecaster = (model, Forecaster(model, self.info))
        info, series, last = self.info, self.series, self.at[-1:]
        window = data.windows(series, last)
        _, _, _, out = rnn_forecast(self._forecaster[1], window)
        o = int(last[0])
        figure = fan_figure(
            info,
            series.times[o - info.lookback : o],
            window["history"][0],
            series.times[o : o + info.horizon],
            {k: v[0] for k, v in out.items()},
            actual=window["actual"][0],
            title=f"{info.name}: last validation window, epoch {epoch}",
        )
        return {"forecast/validation": figures.image(figure)}


def train_warnings(best: dict) -> list[str]:
    """A model worse than seasonal naive on the validation windows, said plainly."""
    mase, snaive = best.get("val_mase"), best.get("val_seasonal_naive_mase")
    if mase is None or snaive is None or mase <= snaive:
        return []
    return [
        f"on the validation windows the model's MASE {mase:.3f} is worse than seasonal "
        f"naive's {snaive:.3f}: prefer seasonal naive for this series, or try --season with "
        "all of its periods, a longer --lookback, or the full preset"
    ]
