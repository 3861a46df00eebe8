"""The Elman (simple) recurrent cell."""

import keras
from keras import activations

from rnnkit.cells.recurrent_cell import RecurrentCell
from rnnkit.kernels import elman_sequence

ACTIVATIONS = ("tanh", "sigmoid", "relu")


def _check_activation(activation):
    name = activation if isinstance(activation, str) else activations.serialize(activation)
    if name not in ACTIVATIONS:
        raise ValueError(
            f"`activation` must be one of {ACTIVATIONS}. Received: activation={activation!r}"
        )
    return name


@keras.saving.register_keras_serializable(package="rnnkit")
class ElmanCell(RecurrentCell):
    """Elman cell: ``h_t = activation(x_t @ W + h_{t-1} @ U + b)``.

    The same computation as `keras.layers.SimpleRNNCell`, with the same weight
    shapes, restricted to the activations its fused kernel supports.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: `"tanh"` (default), `"sigmoid"` or `"relu"`.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, seed: as in `keras.layers.SimpleRNNCell`.

    Call arguments:
        inputs: A 2D tensor `(batch, features)`.
        states: A list with one 2D tensor `(batch, units)`.
        training: Python boolean; dropout is applied only when True.

    Example:

    >>> cell = ElmanCell(8, activation="relu")
    >>> rnn = keras.layers.RNN(cell)
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 8])
    """

    def __init__(self, units, activation="tanh", **kwargs):
        _check_activation(activation)
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = self.units

    def step(self, projected, states, recurrent_mask=None, kernel_mask=None):
        h_prev = states[0]
        if recurrent_mask is not None:
            h_prev = h_prev * recurrent_mask
        h = self.activation(
            projected + keras.ops.matmul(h_prev, self.recurrent_weights(kernel_mask))
        )
        return h, [h]

    def fused_sequence(self, inputs, states, mask=None, recurrent_mask=None, kernel_mask=None):
        xp = self.project(inputs)
        U = self.recurrent_weights(kernel_mask)
        return elman_sequence(
            xp,
            tuple(states),
            U,
            mask,
            recurrent_mask,
            activation=_check_activation(self.activation),
        )
