"""Additive (Bahdanau) attention for recurrent decoders."""

import keras
from keras import initializers, ops

from rnnkit.cells.recurrent_cell import check_units


@keras.saving.register_keras_serializable(package="rnnkit")
class BahdanauAttention(keras.layers.Layer):
    """Additive attention of a decoder's state over a set of values.

    ``score_n = v . tanh(W_k value_n + W_q query + b)``, the weights are the
    softmax of the scores over the values (masked ones get zero), and the
    context is the weighted sum of the values (Bahdanau et al., 2015; Xu et
    al., 2015, over a grid of image features). The key projection ``W_k
    value`` does not depend on the step: ``keys(values)`` computes it once
    per sequence and ``call`` takes it back, so a decoding loop pays only for
    the query's projection at each step.

    Args:
        units: Positive integer, size of the projected keys and query.
        kernel_initializer: Initializer for ``W_k``, ``W_q`` and ``v``.
        bias_initializer: Initializer for ``b``.

    Call arguments:
        query: ``[batch, query_dim]``, the decoder state; or ``[batch, m,
            query_dim]``, ``m`` queries at once (a teacher-forced decoder's
            states of all steps), for ``[batch, m, ...]`` results.
        values: ``[batch, n, value_dim]``.
        keys: optional ``[batch, n, units]`` from ``keys(values)``.
        values_mask: optional boolean ``[batch, n]``, False for values to ignore.

    Returns:
        ``(context [batch, value_dim], weights [batch, n])``, with an ``m``
        axis after ``batch`` for ``m`` queries.

    Example:

    >>> attention = BahdanauAttention(16)
    >>> values = keras.random.normal((2, 10, 8))
    >>> context, weights = attention(keras.random.normal((2, 32)), values)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 8), (2, 10))
    """

    def __init__(
        self, units, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        self.units = check_units(units)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, query_shape, values_shape):
        self.query_kernel = self.add_weight(
            name="query_kernel",
            shape=(query_shape[-1], self.units),
            initializer=self.kernel_initializer,
        )
        self.key_kernel = self.add_weight(
            name="key_kernel",
            shape=(values_shape[-1], self.units),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,), initializer=self.bias_initializer
        )
        self.score_kernel = self.add_weight(
            name="score_kernel", shape=(self.units, 1), initializer=self.kernel_initializer
        )

    def keys(self, values):
        """The projected keys ``[batch, n, units]`` (bias included) for ``call``."""
        return ops.matmul(values, self.key_kernel) + self.bias

    def call(self, query, values, keys=None, values_mask=None):
        if keys is None:
            keys = self.keys(values)
        projected = ops.matmul(query, self.query_kernel)
        many = len(query.shape) == 3
        if many:  # [batch, m, n, units]: every query against every key
            keys, projected = ops.expand_dims(keys, 1), ops.expand_dims(projected, 2)
            if values_mask is not None:
                values_mask = ops.expand_dims(values_mask, 1)
        else:
            projected = ops.expand_dims(projected, 1)
        scores = ops.squeeze(ops.matmul(ops.tanh(keys + projected), self.score_kernel), -1)
        if values_mask is not None:
            scores = ops.where(values_mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        if many:
            return ops.matmul(weights, values), weights
        context = ops.squeeze(ops.matmul(ops.expand_dims(weights, 1), values), 1)
        return context, weights

    def compute_output_shape(self, query_shape, values_shape):
        lead = tuple(query_shape[:-1])
        return (*lead, values_shape[-1]), (*lead, values_shape[1])

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
