"""GRU layer shorthand."""

import keras

from rnnkit.cells.gru_cell import GRUCell
from rnnkit.layers.recurrent import CellLayer


@keras.saving.register_keras_serializable(package="rnnkit")
class GRU(CellLayer):
    """Gated recurrent unit layer: `Recurrent(GRUCell(units, ...))`.

    Takes the arguments of `keras.layers.GRU` (cell and layer arguments,
    flat) and computes the same function with the same weights, faster on
    the CPU: see `Recurrent`.

    Args:
        units: Positive integer, dimensionality of the output space.
        **kwargs: `GRUCell` arguments (`activation`, `recurrent_activation`,
            `reset_after`, `dropout`, `recurrent_dropout`, `weight_dropout`, initializers, ...)
            and `Recurrent` arguments (`return_sequences`, `return_state`,
            `go_backwards`, `stateful`, `fused`, ...).

    Call arguments:
        sequences: A 3D tensor `(batch, timesteps, features)`.
        initial_state: List `[h]` with the initial state.
        mask: Boolean tensor `(batch, timesteps)`.
        training: Python boolean; enables dropout.

    Example:

    >>> layer = GRU(16, go_backwards=True)
    >>> layer(np.zeros((2, 7, 3), "float32")).shape
    TensorShape([2, 16])
    """

    cell_class = GRUCell
    cell_args = ("recurrent_activation", "reset_after")
