"""Activations whose derivative the fused kernels compute from their output."""

import tensorflow as tf

# Each derivative is written in terms of the activation's output y, so the
# forward pass only has to keep y for the backward pass.
FUSABLE = ("tanh", "sigmoid", "relu", "linear")


def apply(name, x):
    if name == "tanh":
        return tf.tanh(x)
    if name == "sigmoid":
        return tf.sigmoid(x)
    if name == "relu":
        return tf.nn.relu(x)
    if name == "linear":
        return x
    raise ValueError(f"No fused kernel for activation {name!r}. Expected one of {FUSABLE}.")


def grad(name, y, dy):
    """Gradient with respect to the pre-activation, given output y and dL/dy."""
    if name == "tanh":
        return tf.raw_ops.TanhGrad(y=y, dy=dy)
    if name == "sigmoid":
        return tf.raw_ops.SigmoidGrad(y=y, dy=dy)
    if name == "relu":
        return tf.raw_ops.ReluGrad(gradients=dy, features=y)
    if name == "linear":
        return dy
    raise ValueError(f"No fused kernel for activation {name!r}. Expected one of {FUSABLE}.")
