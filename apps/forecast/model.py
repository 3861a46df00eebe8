"""forecast's model: an rnnkit encoder over the lookback window -> the whole horizon at once."""

import keras
import tensorflow as tf

import rnnkit.layers
from apps.forecast.config import ModelConfig

_LAYERS = {"lstm": rnnkit.layers.LSTM, "gru": rnnkit.layers.GRU, "elman": rnnkit.layers.Elman}


@keras.saving.register_keras_serializable(package="forecast")
class SeriesForecaster(keras.Model):
    """Direct multi-horizon forecaster with a point forecast and quantiles.

    Works in scaled units (see ``apps.forecast.tasks.Transform``): the
    history is centred on its last value, so a zero output is the naive
    forecast. Stacked rnnkit layers read the history; a small MLP maps the
    last layer's final output, the level of the series and the calendar
    features of every future step to the whole horizon: the mean and each
    quantile, per target. An optional linear highway from the history to the
    horizon (LSTNet) carries what a linear autoregression can do.
    Quantiles are sorted, so they never cross.

    Args:
        lookback: Steps of history read.
        horizon: Steps forecast.
        n_features: Features per history step (targets first, then covariates).
        n_targets: Targets forecast.
        n_calendar: Calendar features per future step.
        n_quantiles: Quantile levels forecast.
        cell: ``"lstm"``, ``"gru"`` or ``"elman"``.
        layers: Stacked recurrent layers.
        units: Units per recurrent layer.
        head_units: Width of the head's hidden layer.
        dropout: Dropout on the recurrent outputs while training.
        highway: Whether to add the linear history-to-horizon map.

    Call arguments:
        inputs: dict with ``history [batch, lookback, n_features]``,
            ``level [batch, n_targets]`` and
            ``calendar [batch, horizon, n_calendar]``.
        training: Python boolean; enables dropout.

    Returns ``(mean [batch, horizon, n_targets],
    quantiles [batch, horizon, n_quantiles, n_targets])``.
    """

    def __init__(
        self,
        lookback,
        horizon,
        n_features,
        n_targets,
        n_calendar,
        n_quantiles,
        cell="lstm",
        layers=1,
        units=64,
        head_units=64,
        dropout=0.0,
        highway=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.lookback = lookback
        self.horizon = horizon
        self.n_features = n_features
        self.n_targets = n_targets
        self.n_calendar = n_calendar
        self.n_quantiles = n_quantiles
        self.cell = cell
        self.num_layers = layers
        self.units = units
        self.head_units = head_units
        self.dropout = dropout
        self.highway = highway
        # One attribute per layer: tf.train.Checkpoint does not see layers
        # held in a list attribute of a Keras 3 model.
        for i in range(layers):
            last = i == layers - 1
            setattr(
                self,
                f"rnn_{i}",
                _LAYERS[cell](units, return_sequences=not last, name=f"{cell}_{i}"),
            )
        self.drop = keras.layers.Dropout(dropout, name="dropout")
        self.hidden = keras.layers.Dense(head_units, activation="relu", name="hidden")
        self.out = keras.layers.Dense(horizon * (1 + n_quantiles) * n_targets, name="out")
        if highway:
            self.ar = keras.layers.Dense(horizon * n_targets, name="highway")

    @property
    def rnns(self) -> list:
        return [getattr(self, f"rnn_{i}") for i in range(self.num_layers)]

    def build(self, input_shape=None):
        # Each layer builds in its own name scope, so variable names are unique
        # (TF Serving's loader finds variables by name).
        width = self.n_features
        for rnn in self.rnns:
            with keras.name_scope(rnn.name):
                rnn.build((None, self.lookback, width))
            width = self.units
        head_in = self.units + self.n_targets + self.horizon * self.n_calendar
        with keras.name_scope(self.hidden.name):
            self.hidden.build((None, head_in))
        with keras.name_scope(self.out.name):
            self.out.build((None, self.head_units))
        if self.highway:
            with keras.name_scope(self.ar.name):
                self.ar.build((None, self.lookback * self.n_targets))

    def call(self, inputs, training=False):
        history = inputs["history"]
        batch = tf.shape(history)[0]
        x = history
        for rnn in self.rnns:
            x = self.drop(rnn(x, training=training), training=training)
        calendar = tf.reshape(inputs["calendar"], [batch, self.horizon * self.n_calendar])
        h = self.hidden(tf.concat([x, inputs["level"], calendar], axis=-1))
        out = tf.reshape(self.out(h), [batch, self.horizon, 1 + self.n_quantiles, self.n_targets])
        if self.highway:
            past = tf.reshape(history[:, :, : self.n_targets], [batch, -1])
            ar = tf.reshape(self.ar(past), [batch, self.horizon, 1, self.n_targets])
            out = out + ar
        mean = out[:, :, 0]
        quantiles = tf.sort(out[:, :, 1:], axis=2)
        return mean, quantiles

    def get_config(self):
        return {
            **super().get_config(),
            "lookback": self.lookback,
            "horizon": self.horizon,
            "n_features": self.n_features,
            "n_targets": self.n_targets,
            "n_calendar": self.n_calendar,
            "n_quantiles": self.n_quantiles,
            "cell": self.cell,
            "layers": self.num_layers,
            "units": self.units,
            "head_units": self.head_units,
            "dropout": self.dropout,
            "highway": self.highway,
        }


def build_model(
    config: ModelConfig, lookback: int, horizon: int, n_features: int, n_targets: int,
    n_calendar: int,
) -> SeriesForecaster:  # fmt: skip
    """A built ``SeriesForecaster`` (its variables exist, so checkpoints restore into it)."""
    model = SeriesForecaster(
        lookback,
        horizon,
        n_features,
        n_targets,
        n_calendar,
        len(config.quantiles),
        cell=config.cell,
        layers=config.layers,
        units=config.units,
        head_units=config.head_units,
        dropout=config.dropout,
        highway=config.highway,
    )
    model.build()
    return model
