"""Fused Elman (simple) RNN over a whole sequence, with a hand-written backward pass."""

import tensorflow as tf

from rnnkit.kernels import _loop, native
from rnnkit.kernels import activations as acts


def _forward(xp, h0, U, mask, rec_mask, act):
    steps = _loop.time_steps(xp)

    def step(t, h, h_ta, a_ta):
        h_in = h * rec_mask if rec_mask is not None else h
        a = acts.apply(act, xp[t] + tf.matmul(h_in, U))
        h_new = h + mask[t] * (a - h) if mask is not None else a
        return t + 1, h_new, h_ta.write(t, h_new), a_ta.write(t, a)

    loop_vars = (
        tf.constant(0),
        h0,
        _loop.new_array(xp.dtype, steps, h0.shape, "h"),
        _loop.new_array(xp.dtype, steps, h0.shape, "a"),
    )
    out = tf.while_loop(lambda t, *_: t < steps, step, loop_vars, maximum_iterations=steps)
    return out[2].stack(), out[3].stack()


def _backward(d_hs, dh, hs, a_all, h0, U, mask, rec_mask, act):
    steps = _loop.time_steps(hs)
    # Transposed once here, not in every step of the loop.
    U_t = tf.transpose(U)

    def back(t, dh, dz_ta):
        dh = dh + d_hs[t]
        dh_new = mask[t] * dh if mask is not None else dh
        dz = acts.grad(act, a_all[t], dh_new)
        dh_prev = tf.matmul(dz, U_t)
        if rec_mask is not None:
            dh_prev = dh_prev * rec_mask
        if mask is not None:
            dh_prev = dh_prev + (dh - dh_new)
        return t - 1, dh_prev, dz_ta.write(t, dz)

    loop_vars = (steps - 1, dh, _loop.new_array(hs.dtype, steps, h0.shape, "dz"))
    _, dh0, dz_ta = tf.while_loop(lambda t, *_: t >= 0, back, loop_vars, maximum_iterations=steps)
    dz = dz_ta.stack()
    return dz, dh0, _loop.kernel_grad(_loop.shift_right(hs, h0), dz, rec_mask)


def _native_forward(xp, h0, U, mask, rec_mask, act):
    hs = native.ops().rnnkit_elman_forward(
        xp,
        h0,
        U,
        native.optional(mask),
        native.optional(rec_mask),
        activation=act,
        bf16=native.bf16(),
    )
    return hs, None  # the derivative comes from the states themselves


def _native_backward(d_hs, dh, hs, a_all, h0, U, mask, rec_mask, act):
    bf16 = native.bf16()
    dz, dh0 = native.ops().rnnkit_elman_backward(
        d_hs,
        dh,
        hs,
        U,
        native.optional(mask),
        native.optional(rec_mask),
        activation=act,
        bf16=bf16,
    )
    return dz, dh0, _loop.kernel_grad(_loop.shift_right(hs, h0), dz, rec_mask, bf16)


_compiled_forward = _loop.compiled(_forward)
_compiled_backward = _loop.compiled(_backward)


def elman_sequence(xp, states, U, mask=None, rec_mask=None, activation="tanh"):
    """Runs ``h_t = activation(xp_t + h_{t-1} @ U)`` over a time-major sequence.

    Args:
        xp: ``[T, B, H]`` input projection with bias.
        states: ``(h0,)`` with ``h0`` of shape ``[B, H]``.
        U: ``[H, H]`` recurrent kernel.
        mask: ``[T, B, 1]`` float or None.
        rec_mask: ``[B, H]`` recurrent dropout mask or None.
        activation: a name from ``activations.FUSABLE``.

    Returns:
        ``(hs, (h_T,))`` with ``hs`` of shape ``[T, B, H]``.
    """
    (h0,) = states
    forward, backward = _loop.pick(
        (_forward, _backward),
        (_compiled_forward, _compiled_backward),
        lambda: native.if_usable((_native_forward, _native_backward), xp, activation),
    )

    @tf.custom_gradient
    def run(xp, h0, U):
        hs, a_all = forward(xp, h0, U, mask, rec_mask, activation)

        def grad_fn(d_hs, d_h_last):
            d_hs = _loop.zeros_if_none(d_hs, hs)
            dh = _loop.zeros_if_none(d_h_last, h0)
            return backward(d_hs, dh, hs, a_all, h0, U, mask, rec_mask, activation)

        return (hs, hs[-1]), grad_fn

    hs, h_last = run(xp, h0, U)
    return hs, (h_last,)
