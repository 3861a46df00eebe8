"""Base class of the rnnkit cells: input projection split from the recurrent step."""

import keras
import tensorflow as tf
from keras import activations, constraints, initializers, regularizers

from rnnkit.cells.dropout import DropoutMasks
from rnnkit.kernels.activations import FUSABLE


def fusable_name(activation):
    """The activation's name if a fused kernel can differentiate it, else None."""
    name = activations.serialize(activation)
    return name if isinstance(name, str) and name in FUSABLE else None


def check_units(units):
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
    return units


def check_rate(name, rate):
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1). Received: {name}={rate!r}")
    return float(rate)


class RecurrentCell(DropoutMasks, keras.layers.Layer):
    """A Keras RNN cell whose input projection can run outside the time loop.

    Subclasses define ``gates`` (blocks of ``units`` columns in the kernels),
    ``step`` (the recurrent part of one step, given the projected input) and
    ``fused_sequence`` (the whole sequence through a fused kernel, or None when
    the configuration has no fused kernel). ``call`` composes projection and
    step, so every cell also works one step at a time in ``keras.layers.RNN``.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function to use.
        use_bias: Boolean, whether the cell uses a bias vector.
        kernel_initializer, recurrent_initializer, bias_initializer:
            Initializers for the input kernel, recurrent kernel and bias.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers for the same weights.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints for the same weights.
        dropout: Float in [0, 1): fraction of the input units to drop, with one
            mask per sequence.
        recurrent_dropout: Float in [0, 1): fraction of the recurrent state's
            units to drop, with one mask per sequence.
        weight_dropout: Float in [0, 1): DropConnect on the recurrent kernel
            (AWD-LSTM's weight drop): a fraction of its entries dropped, with
            one mask per sequence (per batch), the same for every row and
            step. The fused kernels take the dropped kernel as their input.
        seed: Random seed for dropout.
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        weight_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_units(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        self.weight_dropout = check_rate("weight_dropout", weight_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = units

    # Shapes and weights -----------------------------------------------------

    def bias_shape(self):
        return (self.gates * self.units,)

    def initialize_bias(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype=dtype)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.initialize_bias,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    # The split computation --------------------------------------------------

    def input_bias(self):
        return self.bias

    def project(self, inputs):
        """``inputs @ kernel + input bias`` for inputs of any rank."""
        projected = keras.ops.matmul(inputs, self.kernel)
        bias = self.input_bias()
        return projected if bias is None else projected + bias

    def recurrent_weights(self, kernel_mask=None):
        """The recurrent kernel, times the weight-dropout mask when one is given."""
        kernel = tf.convert_to_tensor(self.recurrent_kernel)
        return kernel if kernel_mask is None else kernel * kernel_mask

    def step(self, projected, states, recurrent_mask=None, kernel_mask=None):
        """One recurrent step from the projected input: ``(output, new_states)``.

        ``kernel_mask``: the weight-dropout mask of the recurrent kernel, or None.
        """
        raise NotImplementedError

    def fused_sequence(self, inputs, states, mask=None, recurrent_mask=None, kernel_mask=None):
        """The whole time-major sequence ``[T, B, I]`` through a fused kernel.

        Returns ``(hs, final_states)`` with ``hs`` the ``[T, B, units]`` output
        after every step, or None if this configuration has no fused kernel.
        """
        return None

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        recurrent_mask = kernel_mask = None
        if training:
            input_mask = self.get_dropout_mask(inputs)
            if input_mask is not None:
                inputs = inputs * input_mask
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
            kernel_mask = self.get_weight_dropout_mask(self.recurrent_kernel)
        return self.step(self.project(inputs), states, recurrent_mask, kernel_mask)

    def get_initial_state(self, batch_size=None):
        # keras.layers.RNN asks for the initial state once per call: a good
        # moment to start fresh dropout masks (see DropoutMasks).
        self.reset_dropout_mask()
        self.reset_recurrent_dropout_mask()
        self.reset_weight_dropout_mask()
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [keras.ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "weight_dropout": self.weight_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
