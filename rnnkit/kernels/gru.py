"""Fused GRU (reset gate after the matmul) over a sequence, with a hand-written backward pass."""

import tensorflow as tf

from rnnkit.kernels import _loop, native
from rnnkit.kernels import activations as acts


def _forward(xp, h0, U, recurrent_bias, mask, rec_mask, act, ract):
    units = U.shape[0]
    batch = h0.shape[0]
    steps = _loop.time_steps(xp)

    def step(t, h, h_ta, zr_ta, hh_ta, uh_ta):
        h_in = h * rec_mask if rec_mask is not None else h
        u = tf.matmul(h_in, U) + recurrent_bias
        x_zr, x_h = tf.split(xp[t], [2 * units, units], axis=1)
        u_zr, u_h = tf.split(u, [2 * units, units], axis=1)
        zr = acts.apply(ract, x_zr + u_zr)
        z, r = tf.split(zr, 2, axis=1)
        hh = acts.apply(act, x_h + r * u_h)
        h_new = hh + z * (h - hh)
        if mask is not None:
            h_new = h + mask[t] * (h_new - h)
        return (
            t + 1,
            h_new,
            h_ta.write(t, h_new),
            zr_ta.write(t, zr),
            hh_ta.write(t, hh),
            uh_ta.write(t, u_h),
        )

    loop_vars = (
        tf.constant(0),
        h0,
        _loop.new_array(xp.dtype, steps, [batch, units], "h"),
        _loop.new_array(xp.dtype, steps, [batch, 2 * units], "zr"),
        _loop.new_array(xp.dtype, steps, [batch, units], "hh"),
        _loop.new_array(xp.dtype, steps, [batch, units], "uh"),
    )
    out = tf.while_loop(lambda t, *_: t < steps, step, loop_vars, maximum_iterations=steps)
    hs, zrs, hhs, uhs = (ta.stack() for ta in out[2:])
    return hs, (zrs, hhs, uhs)


def _plain_forward(xp, h0, U, recurrent_bias, mask, rec_mask, act, ract):
    """The forward loop with the fewest ops a step, keeping only ``hs``.

    For inference and export graphs, where TensorFlow's cost of each op
    outweighs the step's arithmetic at small batches: the gates are not
    saved (``_plain_backward`` rebuilds them for all steps at once if a
    gradient is asked for), the step's inputs are gathered rather than sliced, and
    the bias joins the matmul.
    """
    units = U.shape[0]
    steps = _loop.time_steps(xp)

    def step(t, h, h_ta):
        h_in = h * rec_mask if rec_mask is not None else h
        u = tf.nn.bias_add(tf.matmul(h_in, U), recurrent_bias)
        x_zr, x_h = tf.split(tf.gather(xp, t), [2 * units, units], axis=1)
        u_zr, u_h = tf.split(u, [2 * units, units], axis=1)
        z, r = tf.split(acts.apply(ract, x_zr + u_zr), 2, axis=1)
        hh = acts.apply(act, x_h + r * u_h)
        h_new = hh + z * (h - hh)
        if mask is not None:
            h_new = h + tf.gather(mask, t) * (h_new - h)
        return t + 1, h_new, h_ta.write(t, h_new)

    h_ta = _loop.new_array(xp.dtype, steps, h0.shape, "h")
    loop_vars = (tf.constant(0), h0, h_ta)
    out = tf.while_loop(lambda t, *_: t < steps, step, loop_vars, maximum_iterations=steps)
    return out[2].stack(), (xp, recurrent_bias)


def _plain_backward(d_hs, dh, hs, saved, h0, U, mask, rec_mask, act, ract):
    xp, recurrent_bias = saved
    units = U.shape[0]
    h_in = _loop.shift_right(hs, h0)
    if rec_mask is not None:
        h_in = h_in * rec_mask
    u = tf.einsum("tbh,hg->tbg", h_in, U) + recurrent_bias
    x_zr, x_h = tf.split(xp, [2 * units, units], axis=-1)
    u_zr, u_h = tf.split(u, [2 * units, units], axis=-1)
    zrs = acts.apply(ract, x_zr + u_zr)
    hhs = acts.apply(act, x_h + zrs[..., units:] * u_h)
    return _backward(d_hs, dh, hs, (zrs, hhs, u_h), h0, U, mask, rec_mask, act, ract)


def _backward(d_hs, dh, hs, saved, h0, U, mask, rec_mask, act, ract):
    zrs, hhs, uhs = saved
    units = U.shape[0]
    batch = h0.shape[0]
    steps = _loop.time_steps(hs)
    # Transposed once here, not in every step of the loop.
    U_t = tf.transpose(U)
    h_prev_all = _loop.shift_right(hs, h0)

    def back(t, dh, dx_ta):
        dh = dh + d_hs[t]
        dh_new = mask[t] * dh if mask is not None else dh
        zr, hh = zrs[t], hhs[t]
        z, r = tf.split(zr, 2, axis=1)
        d_pre_h = acts.grad(act, hh, dh_new - dh_new * z)
        d_zr = acts.grad(
            ract, zr, tf.concat([dh_new * (h_prev_all[t] - hh), d_pre_h * uhs[t]], axis=1)
        )
        du = tf.concat([d_zr, d_pre_h * r], axis=1)
        dh_prev = tf.matmul(du, U_t)
        if rec_mask is not None:
            dh_prev = dh_prev * rec_mask
        dh_prev = dh_prev + dh_new * z
        if mask is not None:
            dh_prev = dh_prev + (dh - dh_new)
        return t - 1, dh_prev, dx_ta.write(t, tf.concat([d_zr, d_pre_h], axis=1))

    loop_vars = (steps - 1, dh, _loop.new_array(hs.dtype, steps, [batch, 3 * units], "dx"))
    _, dh0, dx_ta = tf.while_loop(lambda t, *_: t >= 0, back, loop_vars, maximum_iterations=steps)
    dx = dx_ta.stack()
    # The gradient of u differs from that of xp only in its h part, where the
    # reset gate multiplies: rebuild it for all steps at once.
    du = tf.concat([dx[..., : 2 * units], dx[..., 2 * units :] * zrs[..., units:]], axis=-1)
    return (dx, dh0, *_weight_grads(du, h_prev_all, rec_mask))


def _weight_grads(du, h_prev_all, rec_mask, bf16=False):
    """dU and d(recurrent_bias) for all steps at once, from the gradient of u."""
    dU = _loop.kernel_grad(h_prev_all, du, rec_mask, bf16)
    return dU, tf.reduce_sum(_loop.flat(du), axis=0)


def _native_forward(xp, h0, U, recurrent_bias, mask, rec_mask, act, ract):
    hs, gates, uh = native.ops().rnnkit_gru_forward(
        xp,
        h0,
        U,
        recurrent_bias,
        native.optional(mask),
        native.optional(rec_mask),
        bf16=native.bf16(),
    )
    return hs, (gates, uh)


def _native_backward(d_hs, dh, hs, saved, h0, U, mask, rec_mask, act, ract):
    gates, uh = saved
    bf16 = native.bf16()
    dx, du, dh0 = native.ops().rnnkit_gru_backward(
        d_hs,
        dh,
        hs,
        gates,
        uh,
        h0,
        U,
        native.optional(mask),
        native.optional(rec_mask),
        bf16=bf16,
    )
    return (dx, dh0, *_weight_grads(du, _loop.shift_right(hs, h0), rec_mask, bf16))


_compiled_forward = _loop.compiled(_forward)
_compiled_backward = _loop.compiled(_backward)


def gru_sequence(
    xp,
    states,
    U,
    recurrent_bias,
    mask=None,
    rec_mask=None,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """Runs a GRU with ``reset_after=True`` (the cuDNN/Keras default) over a time-major sequence.

    Gate order ``[z, r, h]`` as in Keras. Per step::

        u = h_{t-1} @ U + recurrent_bias
        z, r = recurrent_activation(xp_zr + u_zr)
        hh = activation(xp_h + r * u_h)
        h_t = z * h_{t-1} + (1 - z) * hh

    Args:
        xp: ``[T, B, 3H]`` input projection with the input bias.
        states: ``(h0,)`` with ``h0`` of shape ``[B, H]``.
        U: ``[H, 3H]`` recurrent kernel.
        recurrent_bias: ``[3H]``.
        mask: ``[T, B, 1]`` float or None.
        rec_mask: ``[B, H]`` recurrent dropout mask or None.
        activation, recurrent_activation: names from ``activations.FUSABLE``.

    Returns:
        ``(hs, (h_T,))`` with ``hs`` of shape ``[T, B, H]``.
    """
    (h0,) = states
    forward, backward = _loop.pick(
        (_plain_forward, _plain_backward),
        (_compiled_forward, _compiled_backward),
        lambda: native.if_usable(
            (_native_forward, _native_backward), xp, activation, recurrent_activation
        ),
    )

    @tf.custom_gradient
    def run(xp, h0, U, recurrent_bias):
        hs, saved = forward(
            xp, h0, U, recurrent_bias, mask, rec_mask, activation, recurrent_activation
        )

        def grad_fn(d_hs, d_h_last):
            d_hs = _loop.zeros_if_none(d_hs, hs)
            dh = _loop.zeros_if_none(d_h_last, h0)
            return backward(
                d_hs,
                dh,
                hs,
                saved,
                h0,
                U,
                mask,
                rec_mask,
                activation,
                recurrent_activation,
            )

        return (hs, hs[-1]), grad_fn

    hs, h_last = run(xp, h0, U, recurrent_bias)
    return hs, (h_last,)
