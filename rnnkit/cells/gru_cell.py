"""The GRU cell with fused kernels."""

import keras
import tensorflow as tf
from keras import activations

from rnnkit.cells.recurrent_cell import RecurrentCell, fusable_name
from rnnkit.kernels import gru_sequence


@keras.saving.register_keras_serializable(package="rnnkit")
class GRUCell(RecurrentCell):
    """Gated recurrent unit cell (Cho et al., 2014).

    Same computation, weight shapes and gate order (`z, r, h`) as
    `keras.layers.GRUCell`. With `reset_after=True` (the default, as in Keras
    and cuDNN) the reset gate multiplies after the recurrent matmul and the
    bias has shape `(2, 3 * units)`: input bias, then recurrent bias.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate (default `"tanh"`).
        recurrent_activation: Activation of the gates (default `"sigmoid"`).
        reset_after: Boolean (default True), see above. `False` is supported
            by the step-by-step path only.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, seed: as in `keras.layers.GRUCell`.

    Call arguments:
        inputs: A 2D tensor `(batch, features)`.
        states: A list with one 2D tensor `(batch, units)`.
        training: Python boolean; dropout is applied only when True.

    Example:

    >>> cell = GRUCell(8)
    >>> rnn = keras.layers.RNN(cell)
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 8])
    """

    gates = 3

    def __init__(
        self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after
        self.state_size = self.units

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def recurrent_bias(self):
        if self.bias is None or not self.reset_after:
            return None
        return self.bias[1]

    def step(self, projected, states, recurrent_mask=None, kernel_mask=None):
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        units = self.units
        x_zr, x_h = tf.split(projected, [2 * units, units], axis=-1)
        U = self.recurrent_weights(kernel_mask)
        if self.reset_after:
            # One matmul over all three gates: slicing U's columns would copy
            # them on every step (4x slower a step at batch 1).
            u = keras.ops.matmul(h_in, U)
            recurrent_bias = self.recurrent_bias()
            if recurrent_bias is not None:
                u = u + recurrent_bias
            u_zr, u_h = tf.split(u, [2 * units, units], axis=-1)
        else:
            u_zr = keras.ops.matmul(h_in, U[:, : 2 * units])
        z, r = tf.split(self.recurrent_activation(x_zr + u_zr), 2, axis=-1)
        if self.reset_after:
            u_h = r * u_h
        else:
            u_h = keras.ops.matmul(r * h_in, U[:, 2 * units :])
        hh = self.activation(x_h + u_h)
        h = z * h_prev + (1.0 - z) * hh
        return h, [h]

    def fused_sequence(self, inputs, states, mask=None, recurrent_mask=None, kernel_mask=None):
        act, ract = fusable_name(self.activation), fusable_name(self.recurrent_activation)
        if act is None or ract is None or not self.reset_after:
            return None
        xp = self.project(inputs)
        U = self.recurrent_weights(kernel_mask)
        recurrent_bias = self.recurrent_bias()
        if recurrent_bias is None:
            recurrent_bias = tf.zeros([3 * self.units], dtype=xp.dtype)
        return gru_sequence(xp, tuple(states), U, recurrent_bias, mask, recurrent_mask, act, ract)

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
        return {**super().get_config(), **config}
