"""The fast recurrent layer."""

import keras
import tensorflow as tf

from rnnkit.cells.recurrent_cell import RecurrentCell
from rnnkit.kernels import training_loops


def _valid_so_far(mask):
    """1 from the first real step on, 0 before it: ``[T, B, 1]`` float."""
    return tf.cast(tf.cumsum(mask, axis=0) > 0, mask.dtype)


@keras.saving.register_keras_serializable(package="rnnkit")
class Recurrent(keras.layers.RNN):
    """Recurrent layer that projects the inputs of all steps in one matmul.

    A drop-in for `keras.layers.RNN`. For an rnnkit cell the input projection
    `x @ W + b` of every time step is one large matmul before the loop, and
    the loop carries only the recurrent part. Where the cell has a fused
    kernel for its configuration (LSTM, GRU with `reset_after=True`, Elman;
    activations tanh, sigmoid, relu or linear), the whole sequence runs in
    one kernel with a hand-written backward pass: only the state gradients
    flow through the reverse loop, and the weight gradients are single
    matmuls over all steps. Other cells (any Keras cell) run a generic step
    loop.

    Masked steps keep the state unchanged and repeat the previous output (or
    zeros with `zero_output_for_mask=True`), as in Keras. Dropout masks are
    drawn once per sequence and shared by all its steps.

    Args:
        cell: An RNN cell: an rnnkit cell, or any Keras cell (a layer with
            `call(inputs, states)` and `state_size`).
        return_sequences: Boolean. Whether to return the full sequence of
            outputs or only the last output.
        return_state: Boolean. Whether to return the last states too.
        go_backwards: Boolean. Process the sequence backwards; the returned
            sequence is in processing order, as in Keras.
        stateful: Boolean. Keep the last states of each batch as the initial
            states of the next (fixed batch size); reset with `reset_states()`.
        zero_output_for_mask: Boolean. Zeros instead of the previous output at
            masked steps.
        fused: Boolean (default True). Use the cell's fused kernel when it has
            one; False forces the step loop (same results, slower).
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        sequences: A 3D tensor `(batch, timesteps, features)`.
        initial_state: List of initial state tensors (default zeros).
        mask: Boolean tensor `(batch, timesteps)`, True at real steps.
        training: Python boolean; enables dropout.

    Example:

    >>> layer = Recurrent(rnnkit.cells.LSTMCell(32), return_sequences=True)
    >>> layer(np.zeros((4, 10, 8), "float32")).shape
    TensorShape([4, 10, 32])
    """

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        zero_output_for_mask=False,
        fused=True,
        **kwargs,
    ):
        if kwargs.pop("unroll", False):
            raise ValueError("`unroll=True` is not supported by rnnkit's Recurrent layer.")
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
        self.fused = fused

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        states = [tf.convert_to_tensor(s) for s in initial_state]
        own_cell = isinstance(cell, RecurrentCell)
        recurrent_mask = kernel_mask = None
        if own_cell and training:
            input_mask = cell.get_dropout_mask(sequences[:, 0])
            recurrent_mask = cell.get_recurrent_dropout_mask(states[0])
            kernel_mask = cell.get_weight_dropout_mask(cell.recurrent_kernel)
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()
            cell.reset_weight_dropout_mask()
            if input_mask is not None:
                sequences = sequences * input_mask[:, tf.newaxis]

        inputs = tf.transpose(sequences, [1, 0, 2])
        if mask is not None:
            mask = tf.cast(tf.transpose(mask)[:, :, tf.newaxis], inputs.dtype)
        if self.go_backwards:
            inputs = tf.reverse(inputs, [0])
            if mask is not None:
                mask = tf.reverse(mask, [0])

        result = None
        if own_cell and self.fused:
            # Native or XLA-compiled loops are a large win for training;
            # inference and export graphs keep to stock, XLA-free ops.
            with training_loops(training is True):
                result = cell.fused_sequence(inputs, states, mask, recurrent_mask, kernel_mask)
        if result is not None:
            hs, final_states = result
            outputs = hs
            if mask is not None:
                # A masked step repeats the previous output; before the first
                # real step that is zero, whatever the initial state.
                outputs = hs * (mask if self.zero_output_for_mask else _valid_so_far(mask))
        elif own_cell:
            projected = cell.project(inputs)
            step = lambda x, s: cell.step(x, s, recurrent_mask, kernel_mask)
            outputs, final_states = self._step_loop(step, projected, states, mask)
        else:
            kwargs = {"training": training} if self._cell_takes_training() else {}
            step = lambda x, s: cell(x, s, **kwargs)
            outputs, final_states = self._step_loop(step, inputs, states, mask)

        last_output = outputs[-1]
        outputs = tf.transpose(outputs, [1, 0, 2])
        return last_output, outputs, list(final_states)

    def _cell_takes_training(self):
        return getattr(self.cell, "_call_has_training_arg", False)

    def _step_loop(self, step, inputs, states, mask):
        """Runs ``step`` over time-major ``inputs``; Keras's masking rules."""
        steps = tf.shape(inputs)[0]
        inputs_ta = tf.TensorArray(inputs.dtype, size=steps).unstack(inputs)
        mask_ta = None if mask is None else tf.TensorArray(mask.dtype, size=steps).unstack(mask)
        output_size = (
            self.cell.output_size if hasattr(self.cell, "output_size") else self.state_size[0]
        )
        batch = tf.shape(inputs)[1]
        zero_output = tf.zeros([batch, output_size], dtype=inputs.dtype)
        outputs_ta = tf.TensorArray(inputs.dtype, size=steps, element_shape=[None, output_size])

        def body(t, prev_output, outputs_ta, *states):
            output, new_states = step(inputs_ta.read(t), list(states))
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if mask_ta is not None:
                m = mask_ta.read(t)
                fallback = zero_output if self.zero_output_for_mask else prev_output
                output = fallback + m * (output - fallback)
                new_states = [s + m * (n - s) for s, n in zip(states, new_states)]
            return (t + 1, output, outputs_ta.write(t, output), *new_states)

        result = tf.while_loop(
            lambda t, *_: t < steps,
            body,
            (tf.constant(0), zero_output, outputs_ta, *states),
            maximum_iterations=steps,
        )
        return result[2].stack(), result[3:]

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}


_CELL_ARGS = (
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "weight_dropout",
    "seed",
)


class CellLayer(Recurrent):
    """Base of the shorthand layers: builds its own cell from the cell's arguments.

    Subclasses set ``cell_class`` and ``cell_args`` (the arguments of that
    cell beyond the common ones); the config is flat, as in `keras.layers.LSTM`.
    """

    cell_class = None
    cell_args = ()

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        zero_output_for_mask=False,
        fused=True,
        **kwargs,
    ):
        names = ("activation", *self.cell_args, *_CELL_ARGS)
        cell_kwargs = {name: kwargs.pop(name) for name in names if name in kwargs}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=f"{self.cell_class.__name__.lower()}",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            zero_output_for_mask=zero_output_for_mask,
            fused=fused,
            **kwargs,
        )

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        config = super().get_config()
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.pop("cell")
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
