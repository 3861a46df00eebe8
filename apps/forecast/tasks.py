"""What forecast does with a model, in pure TensorFlow: scale, train, forecast, backtest.

- ``SeriesInfo``: what a trained model needs besides its weights (the
  window sizes, the scaling fitted on the training part, the calendar
  periods), saved as ``RUN/series.json`` and in the SavedModel's assets.
- ``model_inputs`` / ``to_original``: raw history and future timestamps ->
  the model's scaled inputs, and its outputs back to original units; the
  same TensorFlow code for training, evaluation and serving.
- ``Forecaster``: the ``serving_default`` function that ``predict`` runs
  and ``export`` saves.
- ``make_task``: the training job (MSE for the mean, pinball loss for the
  quantiles), with a backtest on the validation windows and a fan plot in
  TensorBoard each epoch.
- ``backtest`` / ``evaluate``: rolling-origin metrics of the RNN and the
  baselines on the same windows.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.forecast import baseline, data
from apps.forecast.config import DataConfig, ForecastConfig, ModelConfig
from apps.forecast.model import SeriesForecaster, build_model
from rnnkit import figures
from rnnkit.errors import InputError
from rnnkit.export import ServingModule
from rnnkit.files import write_bytes, write_json
from rnnkit.training import Task

INFO_FILE = "series.json"
EXAMPLES_FILE = "examples.npz"
YEAR, WEEK, DAY = 31_556_952.0, 604_800.0, 86_400.0  # seconds; a mean Gregorian year
INTERVAL = (0.1, 0.9)


@dataclasses.dataclass(frozen=True)
class SeriesInfo:
    """The series as a trained model sees it; JSON in ``RUN/series.json``."""

    name: str
    targets: tuple[str, ...]
    covariates: tuple[str, ...]
    freq: str
    season: int
    lookback: int
    horizon: int
    periods: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    mase_scale: tuple[float, ...]
    quantiles: tuple[float, ...]
    data: dict = dataclasses.field(default_factory=dict)
    seasons: tuple[int, ...] = ()  # every season, the main one (``season``) first

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    @property
    def n_features(self) -> int:
        return len(self.targets) + len(self.covariates)

    @classmethod
    def fit(cls, series: data.Series, config: ForecastConfig) -> SeriesInfo:
        """Scaling and MASE scale from the training part only."""
        train = series.values[: series.val_start]
        std = train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        step = float(np.median(np.diff(series.seconds())))
        return cls(
            name=series.name,
            targets=series.targets,
            covariates=series.covariates,
            freq=series.freq,
            season=series.season,
            seasons=series.seasons,
            lookback=series.lookback,
            horizon=series.horizon,
            periods=tuple(p for p in (YEAR, WEEK, DAY) if step < p / 2),
            mean=tuple(float(x) for x in train.mean(axis=0)),
            std=tuple(float(x) for x in std),
            mase_scale=tuple(
                float(x) for x in mase_scale(train[:, : series.n_targets], series.season)
            ),
            quantiles=tuple(config.model.quantiles),
            data={
                k: getattr(config.data, k)
                for k in ("source", "target", "covariates", "time_col", "freq", "fill")
            },
        )

    def data_config(self, **overrides) -> DataConfig:
        """The data config of the model's series (``overrides`` that are not None win)."""
        fields = {**self.data, **{k: v for k, v in overrides.items() if v is not None}}
        for name in ("target", "covariates"):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        return DataConfig(
            **fields, lookback=self.lookback, horizon=self.horizon,
            season=self.seasons or (self.season,),
        )  # fmt: skip

    def save(self, folder: str | Path) -> Path:
        return write_json(Path(folder) / INFO_FILE, dataclasses.asdict(self))

    @classmethod
    def load(cls, folder: str | Path) -> SeriesInfo:
        path = Path(folder) / INFO_FILE
        if not path.is_file():
            raise InputError(f"{folder} has no {INFO_FILE}: not a forecast run or SavedModel")
        raw = json.loads(path.read_text())
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def mase_scale(train: np.ndarray, season: int) -> np.ndarray:
    """In-sample MAE of the seasonal naive forecast (of the naive one without a season)."""
    m = season if 1 < season < len(train) // 2 else 1
    scale = np.abs(train[m:] - train[:-m]).mean(axis=0)
    naive = np.abs(np.diff(train, axis=0)).mean(axis=0)
    return np.where(scale > 0, scale, np.where(naive > 0, naive, 1.0))


# -- scaling, in the graph -----------------------------------------------------------------


def calendar(seconds: tf.Tensor, periods) -> tf.Tensor:
    """Sine and cosine of each period's phase at Unix times ``seconds`` (int64)."""
    t = tf.cast(seconds, tf.float64)
    features = []
    for period in periods:
        phase = 2.0 * math.pi * tf.math.floormod(t, period) / period
        features += [tf.sin(phase), tf.cos(phase)]
    if not features:
        return tf.zeros(tf.concat([tf.shape(seconds), [0]], 0), tf.float32)
    return tf.cast(tf.stack(features, axis=-1), tf.float32)


def model_inputs(info: SeriesInfo, history: tf.Tensor, future_times: tf.Tensor):
    """Raw ``history [b, lookback, features]`` and ``future_times [b, horizon]`` ->
    ``(model inputs, last [b, targets])``.

    Targets are centred on the window's last value and divided by their
    training std; covariates are standardised; ``level`` tells the model
    where that last value lies in the training range.
    """
    n = info.n_targets
    mean = tf.constant(info.mean, tf.float32)
    std = tf.constant(info.std, tf.float32)
    history = tf.convert_to_tensor(history, tf.float32)
    last = history[:, -1, :n]
    targets = (history[:, :, :n] - last[:, None, :]) / std[:n]
    covariates = (history[:, :, n:] - mean[n:]) / std[n:]
    inputs = {
        "history": tf.concat([targets, covariates], axis=-1),
        "level": (last - mean[:n]) / std[:n],
        "calendar": calendar(future_times, info.periods),
    }
    return inputs, last


def to_original(info: SeriesInfo, mean, quantiles, last):
    std = tf.constant(info.std[: info.n_targets], tf.float32)
    return {
        "mean": last[:, None, :] + mean * std,
        "quantiles": last[:, None, None, :] + quantiles * std,
    }


class Forecaster(ServingModule):
    """``serving_default``: raw history window and future timestamps -> forecasts.

    Inputs: ``history`` float32 ``[batch, lookback, features]`` (targets,
    then covariates, in original units) and ``future_times`` int64
    ``[batch, horizon]`` (Unix seconds of the steps to forecast: their
    calendar features are the known-future covariates). Outputs: ``mean``
    ``[batch, horizon, targets]`` and ``quantiles``
    ``[batch, horizon, quantiles, targets]``, in original units.
    """

    def __init__(self, model: SeriesForecaster, info: SeriesInfo):
        super().__init__(model=model)
        self.info = info
        spec = [
            tf.TensorSpec([None, info.lookback, info.n_features], tf.float32, name="history"),
            tf.TensorSpec([None, info.horizon], tf.int64, name="future_times"),
        ]
        self.serve = tf.function(self._serve, input_signature=spec)

    def _serve(self, history, future_times):
        history = tf.debugging.assert_all_finite(history, "history holds NaN or inf")
        inputs, last = model_inputs(self.info, history, future_times)
        mean, quantiles = self.models["model"](inputs, training=False)
        return to_original(self.info, mean, quantiles, last)

    def __call__(self, history, future_times) -> dict[str, np.ndarray]:
        out = self.serve(tf.constant(history, tf.float32), tf.constant(future_times, tf.int64))
        return {k: v.numpy() for k, v in out.items()}


# -- metrics -------------------------------------------------------------------------------


def metrics(actual, point, lower, upper, scale) -> dict[str, float]:
    """MAE, RMSE, sMAPE (%), MASE and interval coverage (%) over ``[windows, horizon, targets]``."""
    actual, point = np.asarray(actual, np.float64), np.asarray(point, np.float64)
    error = actual - point
    denominator = np.abs(actual) + np.abs(point)
    smape = np.where(
        denominator > 0, 200.0 * np.abs(error) / np.where(denominator > 0, denominator, 1), 0.0
    )
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "smape": float(smape.mean()),
        "mase": float((np.abs(error).mean(axis=(0, 1)) / np.asarray(scale)).mean()),
        "coverage": float(100.0 * ((actual >= lower) & (actual <= upper)).mean()),
    }


def interval_index(quantiles) -> tuple[int, int]:
    """The quantiles nearest 0.1 and 0.9: the interval whose coverage is reported."""
    q = np.asarray(quantiles)
    return int(np.argmin(np.abs(q - INTERVAL[0]))), int(np.argmin(np.abs(q - INTERVAL[1])))


def rnn_forecast(forecaster: Forecaster, windows: dict) -> tuple[np.ndarray, ...]:
    out = forecaster(windows["history"], windows["future_times"])
    low, high = interval_index(forecaster.info.quantiles)
    return out["mean"], out["quantiles"][:, :, low], out["quantiles"][:, :, high], out


# -- training ------------------------------------------------------------------------------


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


def fan_figure(info, history_times, history, future_times, out, actual=None, title=""):
    """A matplotlib figure, one panel per target: history, forecast mean, quantile fan."""
    from matplotlib.figure import Figure

    n = info.n_targets
    figure = Figure(figsize=(8, 1.0 + 2.5 * n), dpi=80)
    q = np.asarray(info.quantiles)
    for t, axes in enumerate(
        np.atleast_1d(figure.subplots(n, 1, sharex=True, squeeze=False)[:, 0])
    ):
        axes.plot(history_times, history[:, t], color="black", lw=1, label="history")
        quantiles = out["quantiles"][:, :, t]
        for i in range(len(q) // 2):
            j = len(q) - 1 - i
            axes.fill_between(
                future_times, quantiles[:, i], quantiles[:, j], color="tab:blue",
                alpha=0.15 + 0.1 * i, lw=0, label=f"{q[i]:g}-{q[j]:g}",
            )  # fmt: skip
        axes.plot(future_times, out["mean"][:, t], color="tab:blue", lw=1.5, label="forecast")
        if actual is not None:
            axes.plot(future_times, actual[:, t], color="tab:red", lw=1, label="actual")
        axes.set_ylabel(info.targets[t])
        if t == 0:
            axes.set_title(title or info.name)
            axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def build_model_for(config: ModelConfig, info: SeriesInfo) -> SeriesForecaster:
    """The model for a series: its window sizes, features and calendar come from ``info``."""
    n_calendar = 2 * len(info.periods)  # a sine and a cosine per period
    return build_model(
        config, info.lookback, info.horizon, info.n_features, info.n_targets, n_calendar,
        seasons=info.seasons or (info.season,),
    )  # fmt: skip


def make_task(config: ForecastConfig, run_dir: Path) -> Task:
    """Loads the series, saves its ``series.json`` into ``run_dir`` and returns the task."""
    series = data.load_series(config.data)
    info = SeriesInfo.fit(series, config)
    info.save(run_dir)
    train_at = data.origins(series, 0, series.val_start, None, 1)
    val_at = data.origins(series, series.val_start, series.test_start, None, 1)
    train_inputs, train_target = _examples(info, data.windows(series, train_at))
    val_windows = data.windows(series, val_at)
    val_inputs, val_target = _examples(info, val_windows)
    targets = series.values[:, : info.n_targets]
    snaive = baseline.seasonal_naive(
        targets, val_at, info.horizon, info.season, series.val_start, INTERVAL
    )
    snaive_mase = metrics(val_windows["actual"], *snaive, info.mase_scale)["mase"]
    # Real requests for the SavedModel's warmup and self-check; written
    # atomically (every worker of a multi-worker job writes the same file).
    buffer = io.BytesIO()
    np.savez(
        buffer,
        history=val_windows["history"][-2:],
        future_times=val_windows["future_times"][-2:],
    )
    write_bytes(run_dir / EXAMPLES_FILE, buffer.getvalue())
    holder: dict = {}

    def build():
        return build_model_for(config.model, info)

    def loss(model, batch, training):
        inputs, target = batch
        return per_example_loss(model, inputs, target, info.quantiles, training)

    def train_data(epoch):
        dataset = tf.data.Dataset.from_tensor_slices((train_inputs, train_target))
        dataset = dataset.shuffle(len(train_target), seed=config.seed * 1000 + epoch)
        return dataset.batch(config.train.batch_size)

    def val_data():
        dataset = tf.data.Dataset.from_tensor_slices((val_inputs, val_target))
        return dataset.batch(config.train.batch_size)

    def forecaster(model):
        if holder.get("model") is not model:
            holder.update(model=model, forecaster=Forecaster(model, info))
        return holder["forecaster"]

    last = tf.constant(val_windows["history"][:, -1, : info.n_targets])
    low, high = interval_index(info.quantiles)

    def backtest_raw(mean, raw):
        out = to_original(info, mean, raw, last)
        q = out["quantiles"].numpy()
        return metrics(
            val_windows["actual"], out["mean"], q[:, :, low], q[:, :, high], info.mase_scale
        )

    def validation_metrics(model):
        # Each candidate weighting of the members (seasonal, naive, all) is
        # backtested on the raw quantiles; the best MASE is kept, then the
        # calibration is fitted on the same windows.
        means, quantiles = model.member_outputs(val_inputs)
        scored = []
        for name, weights in model.candidate_weights():
            mean, raw = model.combine(means, quantiles, weights)
            scored.append((backtest_raw(mean, raw), name, weights, raw))
        found, name, weights, raw = min(scored, key=lambda s: s[0]["mase"])
        model.member_weights.assign(weights)
        model.calibration.assign(calibration_offsets(raw.numpy(), val_target, info.quantiles))
        chosen = {f"{n}_mase": s["mase"] for s, n, _, _ in scored} if len(scored) > 1 else {}
        return {
            "mae": found["mae"],
            "mase": found["mase"],
            "raw_coverage": found["coverage"],
            "seasonal_naive_mase": snaive_mase,
            **chosen,
        }

    def samples(model, epoch):
        # The last validation window: its history, forecast fan and actuals.
        last = val_at[-1:]
        window = data.windows(series, last)
        _, _, _, out = rnn_forecast(forecaster(model), window)
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

    return Task(
        build_model=build,
        loss=loss,
        train_data=train_data,
        val_data=val_data,
        samples=samples,
        validation_metrics=validation_metrics,
    )


# -- evaluation ----------------------------------------------------------------------------


def backtest(forecaster: Forecaster, series: data.Series, windows: int, stride: int | None) -> dict:
    """Rolling-origin backtest over the last ``windows`` origins of the test part."""
    info = forecaster.info
    stride = stride or max(1, info.horizon // 4)
    at = data.origins(series, series.test_start, len(series.times), windows, stride)
    if len(at) == 0:
        raise InputError(f"the test part of {series.name} holds no full forecast window")
    found = data.windows(series, at)
    actual = found["actual"]
    values = series.values[:, : info.n_targets]
    point, low, high, _ = rnn_forecast(forecaster, found)
    models = {"rnn": metrics(actual, point, low, high, info.mase_scale)}
    models["naive"] = metrics(
        actual, *baseline.naive(values, at, info.horizon, series.val_start, INTERVAL),
        info.mase_scale,
    )  # fmt: skip
    # With no season (season 1) the seasonal naive forecast is the naive one.
    models["seasonal_naive"] = metrics(
        actual,
        *baseline.seasonal_naive(values, at, info.horizon, info.season, series.val_start, INTERVAL),
        info.mase_scale,
    )
    models["ets"] = metrics(
        actual, *baseline.ets(values, at, info.horizon, info.season, INTERVAL), info.mase_scale
    )
    return {
        "data": series.name,
        "rnn_beats_seasonal_naive": models["rnn"]["mase"] <= models["seasonal_naive"]["mase"],
        "targets": list(info.targets),
        "lookback": info.lookback,
        "horizon": info.horizon,
        "season": info.season,
        "windows": int(len(at)),
        "stride": int(stride),
        "first_origin": str(series.times[at[0]]),
        "last_origin": str(series.times[at[-1]]),
        "interval": list(INTERVAL),
        "models": models,
    }


def evaluate(config: ForecastConfig, model, info: SeriesInfo, options: dict) -> dict:
    """The backtest of a trained model on its own data set (read again from its source)."""
    series = data.load_series(config.data)
    report = backtest(Forecaster(model, info), series, options["windows"], options["stride"])
    return {"source": config.data.source, "members": model.chosen_members(), **report}


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
