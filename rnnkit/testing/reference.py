"""NumPy reference implementations of the rnnkit cells, written from the equations.

Independent of TensorFlow and Keras, in float64, so tests can pin both the
fused kernels and the step-by-step path against them.
"""

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
}


def elman_step(x, states, kernel, recurrent_kernel, bias, activation="tanh"):
    (h,) = states
    h_new = ACTIVATIONS[activation](x @ kernel + h @ recurrent_kernel + bias)
    return h_new, [h_new]


def lstm_step(
    x, states, kernel, recurrent_kernel, bias, activation="tanh", recurrent_activation="sigmoid"
):
    """Gate order i, f, c, o (Keras)."""
    h, c = states
    act, ract = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    z_i, z_f, z_c, z_o = np.split(x @ kernel + h @ recurrent_kernel + bias, 4, axis=-1)
    c_new = ract(z_f) * c + ract(z_i) * act(z_c)
    h_new = ract(z_o) * act(c_new)
    return h_new, [h_new, c_new]


def gru_step(
    x, states, kernel, recurrent_kernel, bias, activation="tanh", recurrent_activation="sigmoid"
):
    """reset_after=True: bias is (2, 3H), gate order z, r, h (Keras)."""
    (h,) = states
    act, ract = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    x_z, x_r, x_h = np.split(x @ kernel + bias[0], 3, axis=-1)
    u_z, u_r, u_h = np.split(h @ recurrent_kernel + bias[1], 3, axis=-1)
    z = ract(x_z + u_z)
    r = ract(x_r + u_r)
    hh = act(x_h + r * u_h)
    h_new = z * h + (1.0 - z) * hh
    return h_new, [h_new]


def run_reference(step, inputs, states, mask=None, go_backwards=False, **weights):
    """Runs ``step`` over ``[batch, time, features]`` with Keras's masking rules.

    A masked step keeps the states and repeats the previous output (zeros
    before the first real step). Returns ``(outputs, final_states)`` with the
    outputs in processing order, as Keras returns them.
    """
    inputs = np.asarray(inputs, np.float64)
    states = [np.asarray(s, np.float64) for s in states]
    order = range(inputs.shape[1])
    if go_backwards:
        order = reversed(order)
    output = np.zeros_like(states[0])
    outputs = []
    for t in order:
        new_output, new_states = step(inputs[:, t], states, **weights)
        if mask is not None:
            keep = np.asarray(mask)[:, t : t + 1].astype(bool)
            new_output = np.where(keep, new_output, output)
            new_states = [np.where(keep, n, s) for n, s in zip(new_states, states)]
        output, states = new_output, new_states
        outputs.append(output)
    return np.stack(outputs, axis=1), states
