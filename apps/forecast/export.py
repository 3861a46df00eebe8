"""forecast's serving signature: history in, forecasts out, in the graph.

``serving_default``: ``history`` float32 ``[batch, lookback, features]``
(targets then covariates, original units) and ``future_times`` int64
``[batch, horizon]`` (Unix seconds of the steps to forecast; their calendar
features are the known-future covariates) -> ``mean``
``[batch, horizon, targets]`` and ``quantiles``
``[batch, horizon, quantiles, targets]`` in original units. Scaling happens
inside the graph. ``assets/series.json`` describes the series (targets,
covariates, frequency, window sizes, quantile levels).
"""

import numpy as np
import tensorflow as tf

from apps.forecast.features import EXAMPLES_FILE, INFO_FILE, SeriesInfo, model_inputs, to_original
from apps.forecast.model import SeriesForecaster
from rnnkit.app import Exported
from rnnkit.export import ServingModule
from rnnkit.runs import Run


def export(run: Run) -> Exported:
    info = SeriesInfo.load(run.path)
    forecaster = Forecaster(run.model, info)
    forecaster.info_file = tf.saved_model.Asset(str(run.path / INFO_FILE))
    examples = np.load(run.path / EXAMPLES_FILE)
    requests = [
        {"history": examples["history"][:1], "future_times": examples["future_times"][:1]},
        {"history": examples["history"], "future_times": examples["future_times"]},
    ]
    expected = [forecaster(**r) for r in requests]

    def check(loaded):
        for request, want in zip(requests, expected):
            got = loaded.signatures["serving_default"](
                history=tf.constant(request["history"]),
                future_times=tf.constant(request["future_times"]),
            )
            for name, value in want.items():
                np.testing.assert_allclose(got[name].numpy(), value, rtol=1e-5, atol=1e-4)

    return Exported(
        module=forecaster,
        signatures={"serving_default": forecaster.serve},
        warmup={"serving_default": requests},
        check=check,
    )


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
