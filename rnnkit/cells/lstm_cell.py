"""The LSTM cell with fused kernels."""

import keras
import tensorflow as tf
from keras import activations

from rnnkit.cells.recurrent_cell import RecurrentCell, fusable_name
from rnnkit.kernels import _loop, lstm_sequence
from rnnkit.kernels.lstm import lstm_block_sequence, to_ifog


@keras.saving.register_keras_serializable(package="rnnkit")
class LSTMCell(RecurrentCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber, 1997).

    Same computation, weight shapes and gate order (`i, f, c, o`) as
    `keras.layers.LSTMCell`: one fused input kernel `(input_dim, 4 * units)`
    and one fused recurrent kernel `(units, 4 * units)`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate and the output (default
            `"tanh"`).
        recurrent_activation: Activation of the gates (default `"sigmoid"`).
        unit_forget_bias: Boolean (default True). Adds 1 to the forget gate's
            bias at initialization and forces `bias_initializer="zeros"`
            (Jozefowicz et al., 2015).
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        kernel_constraint, recurrent_constraint, bias_constraint, dropout,
        recurrent_dropout, seed: as in `keras.layers.LSTMCell`.

    Call arguments:
        inputs: A 2D tensor `(batch, features)`.
        states: A list `[h, c]` of 2D tensors `(batch, units)`.
        training: Python boolean; dropout is applied only when True.

    Example:

    >>> cell = LSTMCell(8, dropout=0.1)
    >>> rnn = keras.layers.RNN(cell, return_sequences=True)
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 5, 8])
    """

    gates = 4

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]

    def initialize_bias(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        units = self.units
        return keras.ops.concatenate(
            [
                self.bias_initializer((units,), dtype=dtype),
                keras.initializers.get("ones")((units,), dtype=dtype),
                self.bias_initializer((2 * units,), dtype=dtype),
            ]
        )

    def step(self, projected, states, recurrent_mask=None, kernel_mask=None):
        h_prev, c_prev = states[0], states[1]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        z = projected + keras.ops.matmul(h_in, self.recurrent_weights(kernel_mask))
        z_i, z_f, z_c, z_o = keras.ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def fused_sequence(self, inputs, states, mask=None, recurrent_mask=None, kernel_mask=None):
        act, ract = fusable_name(self.activation), fusable_name(self.recurrent_activation)
        if act is None or ract is None:
            return None
        standard = (act, ract) == ("tanh", "sigmoid") and inputs.dtype in (tf.float32, tf.float16)
        if standard and recurrent_mask is None and kernel_mask is None and _loop.plain_loops():
            # Inference: TF's stock whole-sequence LSTM op.
            return lstm_block_sequence(
                inputs, tuple(states), self.kernel, self.recurrent_kernel, self.bias, mask
            )
        xp = keras.ops.matmul(inputs, to_ifog(self.kernel, self.units))
        if self.bias is not None:
            xp = xp + to_ifog(self.bias, self.units)
        U = to_ifog(self.recurrent_weights(kernel_mask), self.units)
        return lstm_sequence(xp, tuple(states), U, mask, recurrent_mask, act, ract)

    def get_config(self):
        config = {
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}
