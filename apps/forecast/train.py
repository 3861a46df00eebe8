"""forecast's training job: MSE for the mean, pinball loss for the quantiles.

Each epoch backtests the validation windows (``val_mase``; the candidate
chosen on them at each horizon step; the calibration offsets) and draws a
fan plot in TensorBoard.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.forecast import baseline, candidates, data
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


def scaled_examples(info: SeriesInfo, windows: dict) -> tuple[dict, np.ndarray]:
    """The model's inputs for ``windows`` and their targets, centred on each
    window's last value and divided by the series' standard deviation."""
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
    first, horizon = series.lookback, series.horizon
    runs = candidates.validation_origins(
        first, series.val_start, series.test_start, horizon, config.data.val_blocks
    )
    train_at = candidates.training_origins(first, series.test_start, horizon, runs)
    train_inputs, train_target = scaled_examples(info, data.windows(series, train_at))
    val = _Validation(series, info, np.concatenate(runs), config.model.choice_margin)
    # ETS's smoothing parameters come from the series before the first
    # validation target, so validation judges ETS on values it did not fit.
    ets_map = candidates.fit_ets_maps(
        series.values[: runs[0][0], : info.n_targets], first, horizon, info.season
    )
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

    def build():
        model = build_model_for(config.model, info)
        if model.baselines:
            set_baselines(model, ets_map, train_inputs, train_target, info.quantiles)
        return model

    return Task(
        build, loss, train_data, val_data, samples=val.samples, validation_metrics=val.metrics
    )


def set_baselines(model, ets_map, inputs, target, levels) -> None:
    """Gives ``model``'s baselines what they learn from the training windows
    (``inputs``, scaled ``target``): the ETS map (without one, ETS forecasts
    the last value and validation will not choose it), and the quantiles of
    each baseline's errors at each horizon step, added to its point forecast
    for its intervals."""
    if ets_map is None:
        ets_map = np.zeros(model.ets_map.shape, np.float32)
        ets_map[:, :, -1] = 1.0
    model.ets_map.assign(ets_map)  # first: the ETS points below read it
    points = model.baseline_points(tf.constant(inputs["history"])).numpy()
    errors = target[None] - points  # [baselines, windows, horizon, targets]
    offsets = np.quantile(errors, levels, axis=1)  # [levels, baselines, horizon, targets]
    model.baseline_offsets.assign(np.transpose(offsets, (1, 2, 0, 3)).astype(np.float32))


def choose(errors: np.ndarray, networks: int, horizon: int, z: float = 2.0) -> np.ndarray:
    """``[horizon, targets]``: the index of the weighting each step and target uses.

    ``errors [weightings, windows, horizon, targets]``: absolute errors, the
    first ``networks`` weightings the networks', the rest a baseline each.
    The networks' weighting with the lowest mean error is kept unless a
    baseline's mean error is lower by more than ``z`` standard errors of the
    paired difference (``model.choice_margin``; 0: the lowest error
    outright): close calls on a few windows can be noise, and the networks
    are what the model was trained to be. Consecutive windows share
    targets, so the standard error counts runs of ``horizon`` windows as one
    observation.
    """
    mean = errors.mean(axis=1)
    best = np.argmin(mean[:networks], axis=0)  # [horizon, targets]
    taken = np.take_along_axis(errors, best[None, None], axis=0)[0]  # [windows, h, t]
    runs = max(1, errors.shape[1] // horizon)
    for j in range(networks, len(errors)):
        gain = taken - errors[j]  # > 0 where the baseline is better
        run_means = np.stack([g.mean(axis=0) for g in np.array_split(gain, runs)])
        # Fewer than two runs of windows give no standard error: no baseline
        # then, unless z is 0 (the lowest error outright).
        se = run_means.std(axis=0, ddof=1) / np.sqrt(runs) if runs > 1 else np.inf
        better = (gain.mean(axis=0) > (z * se if z > 0 else 0.0)) & (
            mean[j] < np.take_along_axis(mean, best[None], 0)[0]
        )
        best = np.where(better, j, best)
        taken = np.where(better[None], errors[j], taken)
    return best


# The shares of ETS in the averages of the chosen weighting and ETS that
# validation may take instead of it. Measured on validation runs alone
# (benchmarks/forecast_choice.py): under the same margin they gain on the
# hourly series, and on the bundled ones they are taken at two steps at
# most and score within 0.001 of the rule alone.
ETS_SHARES = (0.25, 0.5, 0.75)


def choose_weights(
    point: np.ndarray, target: np.ndarray, weights: np.ndarray, networks: int, z: float, ets=None
) -> np.ndarray:
    """``[horizon, targets, candidates]``: the weights each step and target
    forecasts with.

    ``point [weightings, windows, horizon, targets]`` is each weighting's
    forecast of ``target [windows, horizon, targets]`` and ``weights
    [weightings, candidates]`` its weights; ``choose`` picks one per step.
    Given ``ets`` (the ETS baseline's row), averages of the pick and ETS
    (``ETS_SHARES``) then replace the pick where they are clearly better,
    under the same margin: forecasts that err in different ways often err
    less together, and where the networks and ETS are close on validation
    neither alone is the safer bet.
    """
    horizon = point.shape[2]
    pick = choose(np.abs(point - target[None]), networks, horizon, z)
    choice = weights[pick]
    if ets is None:
        return choice
    taken = np.take_along_axis(point, pick[None, None], axis=0)[0]
    mixed = np.stack([taken] + [(1 - a) * taken + a * point[ets] for a in ETS_SHARES])
    share = np.asarray((0.0, *ETS_SHARES))[choose(np.abs(mixed - target[None]), 1, horizon, z)]
    return (1 - share)[..., None] * choice + share[..., None] * weights[ets][None, None]


class _Validation:
    """The validation windows: what each epoch backtests, calibrates and draws."""

    def __init__(self, series: data.Series, info: SeriesInfo, at: np.ndarray, margin: float):
        self.series, self.info = series, info
        self.at, self.margin = at, margin
        self.windows = data.windows(series, self.at)
        self.inputs, self.target = scaled_examples(info, self.windows)
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
        """Each candidate weighting (the networks correcting seasonal naive, those
        correcting the last value, all of them, each baseline) is backtested.
        At each horizon step and target the networks' weighting with the lowest
        mean absolute error there is chosen, and a baseline, or an average
        with ETS, replaces it where it is clearly better (``choose_weights``); then the
        calibration is fitted on the chosen forecast's raw quantiles over the
        same windows."""
        means, quantiles = model.candidate_outputs(self.inputs)
        named = model.candidate_weights()
        weights = np.asarray([w for _, w in named], np.float32)  # [weightings, candidates]
        point = np.einsum("wc,cbht->wbht", weights, means.numpy())
        names = [name for name, _ in named]
        networks = sum(not name.startswith("baseline_") for name in names)
        ets = names.index("baseline_ets") if "baseline_ets" in names else None
        choice = choose_weights(point, self.target, weights, networks, self.margin, ets)
        model.choice.assign(choice)
        mean, raw = model.combine(means, quantiles, choice)
        found = self._backtest_raw(mean, raw)
        offsets = calibration_offsets(raw.numpy(), self.target, self.info.quantiles)
        model.calibration.assign(offsets)
        scored = {}
        if len(named) > 1:
            for name, w in named:
                alone = self._backtest_raw(*model.combine(means, quantiles, w))
                scored[f"{name}_mase"] = alone["mase"]
        return {
            "mae": found["mae"],
            "mase": found["mase"],
            "raw_coverage": found["coverage"],
            "seasonal_naive_mase": self.snaive_mase,
            **scored,
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
