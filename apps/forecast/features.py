"""What a forecast model reads and gives, in the graph: the same code trains and serves.

- ``SeriesInfo``: what a trained model needs besides its weights (the
  window sizes, the scaling fitted on the training part, the calendar
  periods), saved as ``RUN/series.json`` and in the SavedModel's assets.
- ``model_inputs`` / ``to_original``: raw history and future timestamps ->
  the model's scaled inputs, and its outputs back to original units.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from apps.forecast import data
from apps.forecast.config import DataConfig, ForecastConfig
from rnnkit.runs import RunFile

YEAR, WEEK, DAY = 31_556_952.0, 604_800.0, 86_400.0  # seconds; a mean Gregorian year

INFO_FILE = "series.json"
EXAMPLES_FILE = "examples.npz"


@dataclasses.dataclass(frozen=True)
class SeriesInfo(RunFile, file=INFO_FILE, app="forecast"):
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
            **fields,
            lookback=self.lookback,
            horizon=self.horizon,
            season=self.seasons or (self.season,),
        )


def mase_scale(train: np.ndarray, season: int) -> np.ndarray:
    """In-sample MAE of the seasonal naive forecast (of the naive one without a season)."""
    m = season if 1 < season < len(train) // 2 else 1
    scale = np.abs(train[m:] - train[:-m]).mean(axis=0)
    naive = np.abs(np.diff(train, axis=0)).mean(axis=0)
    return np.where(scale > 0, scale, np.where(naive > 0, naive, 1.0))


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
