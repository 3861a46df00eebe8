"""Elman (simple RNN) layer shorthand."""

import keras

from rnnkit.cells.elman_cell import ElmanCell
from rnnkit.layers.recurrent import CellLayer


@keras.saving.register_keras_serializable(package="rnnkit")
class Elman(CellLayer):
    """Elman (simple) recurrent layer: `Recurrent(ElmanCell(units, ...))`.

    Computes the same function as `keras.layers.SimpleRNN` with the same
    weights; `activation` is `"tanh"`, `"sigmoid"` or `"relu"`.

    Args:
        units: Positive integer, dimensionality of the output space.
        **kwargs: `ElmanCell` arguments (`activation`, `dropout`,
            `recurrent_dropout`, `weight_dropout`, initializers, ...) and `Recurrent` arguments
            (`return_sequences`, `return_state`, `go_backwards`, `stateful`,
            `fused`, ...).

    Call arguments:
        sequences: A 3D tensor `(batch, timesteps, features)`.
        initial_state: List `[h]` with the initial state.
        mask: Boolean tensor `(batch, timesteps)`.
        training: Python boolean; enables dropout.

    Example:

    >>> layer = Elman(16, activation="relu", return_sequences=True)
    >>> layer(np.zeros((2, 7, 3), "float32")).shape
    TensorShape([2, 7, 16])
    """

    cell_class = ElmanCell
