"""forecast's model: an rnnkit encoder over the lookback window -> the whole horizon at once."""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import rnnkit.layers
from apps.forecast.candidates import BASELINES
from apps.forecast.config import ForecastConfig, ModelConfig
from apps.forecast.features import SeriesInfo
from rnnkit.configs import ConfiguredModel

_LAYERS = {"lstm": rnnkit.layers.LSTM, "gru": rnnkit.layers.GRU, "elman": rnnkit.layers.Elman}


@keras.saving.register_keras_serializable(package="forecast")
class SeriesForecaster(ConfiguredModel, keras.Model):
    """Direct multi-horizon forecaster with a point forecast and quantiles.

    Works in scaled units (see ``apps.forecast.features.model_inputs``): the
    history is centred on its last value, so a zero output is the naive
    forecast. Stacked rnnkit layers read the history; a small MLP maps the
    last layer's final output, the level of the series, the calendar
    features of every future step and, for each of ``lags``, the value one
    season before every future step, to the whole horizon: the mean and each
    quantile, per target. An optional linear highway from the history to the
    horizon (LSTNet) carries what a linear autoregression can do. Each
    member corrects a base forecast (``member_bases``): the seasonal naive
    forecast of a season, with output and highway layers that start at
    zero, so the untrained member forecasts seasonal naive exactly and
    training only has to learn where the series departs from it; or the
    last value, with randomly initialised output layers. Quantiles are
    sorted, so they never cross. Beside the members the model holds the
    ``baselines`` (``apps.forecast.candidates``): the last value, seasonal
    naive and ETS (a fixed linear map of the history, ``ets_map``), each
    with quantiles from its own training errors (``baseline_offsets``). The
    forecast at each horizon step and target is an average of these
    candidates weighted by the non-trainable ``choice``: at first the
    seasonal members alone (else the naive ones) at every step;
    ``candidate_weights`` lists the weightings validation picks from per
    step (see ``apps.forecast.train``). A non-trainable
    ``calibration`` weight ``[horizon, n_quantiles, n_targets]`` is added to
    the quantiles (``calibrated=True``): offsets fitted on validation windows
    after each epoch (conformalized quantile regression), saved with the
    weights.

    Args:
        config: the ``ModelConfig``: cell, layers, units, head_units,
            dropout (on the recurrent outputs), highway (the linear
            history-to-horizon map) and quantiles (their count is read here;
            ``config.members`` and ``config.base`` are read by ``build_model``,
            which gives ``member_bases``).
        lookback: Steps of history read.
        horizon: Steps forecast.
        n_features: Features per history step (targets first, then covariates).
        n_targets: Targets forecast.
        n_calendar: Calendar features per future step.
        lags: Seasons (each at most ``lookback``) whose seasonal naive
            forecasts the head reads.
        member_bases: Per member (independently initialised copies of the
            network, each trained on its own loss; a deep ensemble), the
            season (one of ``lags``) whose seasonal naive forecast it
            corrects, or 0: the last value (naive). Default: one naive member.
        baselines: The baselines held as candidates, a subset of
            ``candidates.BASELINES`` in that order; ``seasonal_naive`` needs
            ``season``.
        season: The season of the seasonal naive baseline (and of ETS).

    Call arguments:
        inputs: dict with ``history [batch, lookback, n_features]``,
            ``level [batch, n_targets]`` and
            ``calendar [batch, horizon, n_calendar]``.
        training: Python boolean; enables dropout.
        calibrated: Python boolean; adds the calibration offsets.

    Returns ``(mean [batch, horizon, n_targets],
    quantiles [batch, horizon, n_quantiles, n_targets])``.
    """

    config_class = ModelConfig
    config_args = (
        "lookback",
        "horizon",
        "n_features",
        "n_targets",
        "n_calendar",
        "lags",
        "member_bases",
        "baselines",
        "season",
    )

    def __init__(
        self,
        config,
        lookback,
        horizon,
        n_features,
        n_targets,
        n_calendar,
        lags=(),
        member_bases=(0,),
        baselines=(),
        season=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.model_config = config
        self.lookback = lookback
        self.horizon = horizon
        self.n_features = n_features
        self.n_targets = n_targets
        self.n_calendar = n_calendar
        self.n_quantiles = n_quantiles = len(config.quantiles)
        self.cell = cell = config.cell
        self.num_layers = layers = config.layers
        self.units = units = config.units
        self.highway = highway = config.highway
        self.members = members = len(member_bases)
        self.lags = tuple(int(s) for s in lags)
        self.member_bases = tuple(int(s) for s in member_bases)
        self.baselines = tuple(b for b in BASELINES if b in baselines)
        self.season = int(season)
        if set(baselines) - set(BASELINES) or (
            "seasonal_naive" in baselines and not 1 < self.season <= lookback
        ):
            raise ValueError(
                f"`baselines` must be among {BASELINES}, seasonal_naive with a season in "
                f"(1, lookback]. Received: baselines={baselines}, season={season}"
            )
        if any(not 1 <= s <= lookback for s in self.lags):
            raise ValueError(f"`lags` must lie in [1, lookback={lookback}]. Received: {lags}")
        if len(self.member_bases) != members or any(
            s and s not in self.lags for s in self.member_bases
        ):
            raise ValueError(
                f"`member_bases` must give each of the {members} members 0 or one of `lags` "
                f"{self.lags}. Received: {member_bases}"
            )
        # One attribute per layer: tf.train.Checkpoint does not see layers
        # held in a list attribute of a Keras 3 model.
        for k in range(members):
            out_init = "zeros" if self.member_bases[k] else "glorot_uniform"
            for i in range(layers):
                last = i == layers - 1
                layer = _LAYERS[cell](units, return_sequences=not last, name=f"{cell}_{i}")
                setattr(self, f"m{k}_rnn_{i}", layer)
            setattr(
                self,
                f"m{k}_hidden",
                keras.layers.Dense(config.head_units, activation="relu", name="hidden"),
            )
            setattr(
                self,
                f"m{k}_out",
                keras.layers.Dense(
                    horizon * (1 + n_quantiles) * n_targets,
                    kernel_initializer=out_init,
                    name="out",
                ),
            )
            if highway:
                setattr(
                    self,
                    f"m{k}_ar",
                    keras.layers.Dense(
                        horizon * n_targets, kernel_initializer=out_init, name="highway"
                    ),
                )
        self.drop = keras.layers.Dropout(config.dropout, name="dropout")

    def _member(self, k: int) -> dict:
        found = {"rnns": [getattr(self, f"m{k}_rnn_{i}") for i in range(self.num_layers)]}
        for name in ("hidden", "out", "ar"):
            found[name] = getattr(self, f"m{k}_{name}", None)
        return found

    def build(self, input_shape=None):
        # Each layer builds in its own name scope, so variable names are unique
        # (TF Serving's loader finds variables by name).
        head_in = (
            self.units
            + self.n_targets
            + self.horizon * (self.n_calendar + len(self.lags) * self.n_targets)
        )
        for k in range(self.members):
            layers = self._member(k)
            with keras.name_scope(f"member_{k}"):
                width = self.n_features
                for rnn in layers["rnns"]:
                    with keras.name_scope(rnn.name):
                        rnn.build((None, self.lookback, width))
                    width = self.units
                with keras.name_scope("hidden"):
                    layers["hidden"].build((None, head_in))
                with keras.name_scope("out"):
                    layers["out"].build((None, self.model_config.head_units))
                if self.highway:
                    with keras.name_scope("highway"):
                        layers["ar"].build((None, self.lookback * self.n_targets))
        with keras.name_scope("choice"):
            first = np.asarray(self.candidate_weights()[0][1], np.float32)
            self.choice = self.add_weight(
                shape=(self.horizon, self.n_targets, len(first)),
                initializer=keras.initializers.Constant(
                    np.broadcast_to(first, (self.horizon, self.n_targets, len(first)))
                ),
                trainable=False,
                name="choice",
            )
        with keras.name_scope("baselines"):
            # Set from the training part before training
            # (``apps.forecast.train.set_baselines``).
            self.ets_map = self.add_weight(
                shape=(self.n_targets, self.horizon, self.lookback),
                initializer="zeros",
                trainable=False,
                name="ets_map",
            )
            self.baseline_offsets = self.add_weight(
                shape=(len(self.baselines), self.horizon, self.n_quantiles, self.n_targets),
                initializer="zeros",
                trainable=False,
                name="baseline_offsets",
            )
        with keras.name_scope("calibration"):
            self.calibration = self.add_weight(
                shape=(self.horizon, self.n_quantiles, self.n_targets),
                initializer="zeros",
                trainable=False,
                name="offsets",
            )

    def seasonal_naive(self, history, season):
        """``[batch, horizon, targets]``: the last value one ``season`` (or more)
        before each future step, read from the scaled ``history``."""
        steps = range(self.horizon)
        index = [self.lookback + h % season - season for h in steps]
        return tf.gather(history[:, :, : self.n_targets], index, axis=1)

    def member_outputs(self, inputs, training=False):
        """Every member's raw forecast: ``mean [members, batch, horizon, targets]`` and
        sorted ``quantiles [members, batch, horizon, quantiles, targets]``."""
        history = inputs["history"]
        batch = tf.shape(history)[0]
        calendar = tf.reshape(inputs["calendar"], [batch, self.horizon * self.n_calendar])
        # The seasonal naive forecast of every lag, computed once for all members;
        # the base season is one of them.
        naive = {s: self.seasonal_naive(history, s) for s in self.lags}
        lagged = [tf.reshape(naive[s], [batch, self.horizon * self.n_targets]) for s in self.lags]
        means, quantiles = [], []
        for k in range(self.members):
            layers = self._member(k)
            x = history
            for rnn in layers["rnns"]:
                x = self.drop(rnn(x, training=training), training=training)
            h = layers["hidden"](tf.concat([x, inputs["level"], calendar, *lagged], axis=-1))
            shape = [batch, self.horizon, 1 + self.n_quantiles, self.n_targets]
            out = tf.reshape(layers["out"](h), shape)
            if self.highway:
                past = tf.reshape(history[:, :, : self.n_targets], [batch, -1])
                out += tf.reshape(layers["ar"](past), [batch, self.horizon, 1, self.n_targets])
            if self.member_bases[k]:
                out += naive[self.member_bases[k]][:, :, None, :]
            means.append(out[:, :, 0])
            quantiles.append(tf.sort(out[:, :, 1:], axis=2))
        return tf.stack(means), tf.stack(quantiles)

    def baseline_points(self, history):
        """``[baselines, batch, horizon, targets]``: each baseline's forecast from
        the scaled ``history`` (centred on the last value: naive is zero)."""
        past = history[:, :, : self.n_targets]
        points = {
            "naive": tf.zeros_like(past[:, : self.horizon]),
            "seasonal_naive": (
                self.seasonal_naive(history, self.season) if self.season > 1 else None
            ),
            "ets": tf.einsum("thl,blt->bht", self.ets_map, past),
        }
        return tf.stack([points[b] for b in self.baselines])

    def candidate_outputs(self, inputs, training=False):
        """The members' outputs and then the baselines': ``mean [candidates,
        batch, horizon, targets]`` and ``quantiles [candidates, batch, horizon,
        quantiles, targets]``."""
        means, quantiles = self.member_outputs(inputs, training=training)
        if not self.baselines:
            return means, quantiles
        points = self.baseline_points(inputs["history"])
        spread = points[:, :, :, None, :] + self.baseline_offsets[:, None]
        return tf.concat([means, points], 0), tf.concat([quantiles, spread], 0)

    def candidate_weights(self) -> list[tuple[str, list[float]]]:
        """The weightings of the candidates validation chooses from at each
        horizon step, the initial one first: ``[(name, weights)]`` with
        ``seasonal`` (the members correcting seasonal naive), ``naive`` (those
        correcting the last value) and ``all`` (every member), each an average
        over its members (only those that have any), then each baseline alone
        (``baseline_NAME``)."""
        groups = [
            ("seasonal", [bool(s) for s in self.member_bases]),
            ("naive", [not s for s in self.member_bases]),
        ]
        groups = [(name, chosen) for name, chosen in groups if any(chosen)]
        if len(groups) == 2:
            groups.append(("all", [True] * self.members))
        zeros = [0.0] * len(self.baselines)
        found = [(name, [c / sum(chosen) for c in chosen] + zeros) for name, chosen in groups]
        for i, name in enumerate(self.baselines):
            one = [0.0] * (self.members + len(self.baselines))
            one[self.members + i] = 1.0
            found.append((f"baseline_{name}", one))
        return found

    def chosen(self) -> list[list[str]]:
        """``[horizon][targets]``: the name of the weighting each step and target
        forecasts with: a candidate weighting's, ``NAME+ets:SHARE`` for an
        average of one and ETS (``apps.forecast.train.choose_weights``), or
        ``custom``."""
        named = [(n, np.asarray(c)) for n, c in self.candidate_weights()]
        ets = dict(named).get("baseline_ets", np.zeros_like(named[0][1]))

        def name(w):
            share = float(w[np.argmax(ets)]) if ets.any() else 0.0
            exact = [n for n, c in named if np.allclose(w, c)]
            mixed = [n for n, c in named if np.allclose(w, (1 - share) * c + share * ets)]
            return exact[0] if exact else f"{mixed[0]}+ets:{share:.2f}" if mixed else "custom"

        return [[name(w) for w in step] for step in self.choice.numpy()]

    @staticmethod
    def combine(means, quantiles, weights):
        """The weighted average of candidates' ``means`` and sorted ``quantiles``
        (weights >= 0, so the average of sorted quantiles stays sorted):
        ``weights`` ``[candidates]``, or ``[horizon, targets, candidates]`` per
        step and target."""
        w = tf.cast(weights, means.dtype)
        if w.shape.rank == 1:
            return tf.tensordot(w, means, axes=1), tf.tensordot(w, quantiles, axes=1)
        return tf.einsum("htc,cbht->bht", w, means), tf.einsum("htc,cbhqt->bhqt", w, quantiles)

    def call(self, inputs, training=False, calibrated=True):
        means, quantiles = self.candidate_outputs(inputs, training=training)
        mean, quantiles = self.combine(means, quantiles, self.choice)
        if calibrated:
            quantiles = tf.sort(quantiles + self.calibration, axis=2)
        return mean, quantiles


def build_model(
    config: ModelConfig, *sizes: int, seasons: tuple[int, ...] = ()
) -> SeriesForecaster:
    """A built ``SeriesForecaster`` (its variables exist, so checkpoints restore into it).

    - ``sizes``: ``lookback, horizon, n_features, n_targets, n_calendar``,
      as ``SeriesForecaster`` takes them.
    - ``seasons``: the series' seasons, the main one first. Unless
      ``config.base == "naive"``, those longer than one step and at most
      ``lookback`` become lags, and the main one (if among them) the base
      of ``config.members`` members; ``"auto"`` adds as many members
      correcting the naive forecast. With no such season every member is
      naive. With ``config.baselines`` the model holds the naive forecast,
      seasonal naive of the main season (if it is longer than one step and
      at most ``lookback``) and ETS as candidates too.
    """
    lookback, lags = sizes[0], ()
    if config.base != "naive":
        lags = tuple(s for s in seasons if 1 < s <= lookback)
    main = seasons[0] if lags and seasons[0] in lags else 0
    bases = (main,) * config.members
    if config.base == "auto" and main:
        bases += (0,) * config.members
    season = seasons[0] if seasons and 1 < seasons[0] <= lookback else 1
    baselines = ()
    if config.baselines:
        baselines = tuple(b for b in BASELINES if b != "seasonal_naive" or season > 1)
    model = SeriesForecaster(
        config, *sizes, lags=lags, member_bases=bases, baselines=baselines, season=season
    )
    model.build()
    return model


def build_for_run(config: ForecastConfig, run_dir: Path) -> SeriesForecaster:
    """The model of a saved run, for its checkpoint to restore into."""
    return build_model_for(config.model, SeriesInfo.load(run_dir))


def build_model_for(config: ModelConfig, info: SeriesInfo) -> SeriesForecaster:
    """The model for a series: its window sizes, features and calendar come from ``info``."""
    n_calendar = 2 * len(info.periods)  # a sine and a cosine per period
    sizes = (info.lookback, info.horizon, info.n_features, info.n_targets, n_calendar)
    return build_model(config, *sizes, seasons=info.seasons or (info.season,))
