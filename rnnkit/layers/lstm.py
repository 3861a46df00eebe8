"""LSTM layer shorthand."""

import keras

from rnnkit.cells.lstm_cell import LSTMCell
from rnnkit.layers.recurrent import CellLayer


@keras.saving.register_keras_serializable(package="rnnkit")
class LSTM(CellLayer):
    """Long short-term memory layer: `Recurrent(LSTMCell(units, ...))`.

    Takes the arguments of `keras.layers.LSTM` (cell and layer arguments,
    flat) and computes the same function with the same weights, faster on
    the CPU: see `Recurrent`.

    Args:
        units: Positive integer, dimensionality of the output space.
        **kwargs: `LSTMCell` arguments (`activation`, `recurrent_activation`,
            `unit_forget_bias`, `dropout`, `recurrent_dropout`, `weight_dropout`, initializers,
            ...) and `Recurrent` arguments (`return_sequences`,
            `return_state`, `go_backwards`, `stateful`, `fused`, ...).

    Call arguments:
        sequences: A 3D tensor `(batch, timesteps, features)`.
        initial_state: List `[h, c]` of initial states.
        mask: Boolean tensor `(batch, timesteps)`.
        training: Python boolean; enables dropout.

    Example:

    >>> layer = LSTM(16, return_sequences=True, return_state=True)
    >>> outputs, h, c = layer(np.zeros((2, 7, 3), "float32"))
    >>> outputs.shape, h.shape
    (TensorShape([2, 7, 16]), TensorShape([2, 16]))
    """

    cell_class = LSTMCell
    cell_args = ("recurrent_activation", "unit_forget_bias")
