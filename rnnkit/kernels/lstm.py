"""Fused LSTM over a whole sequence, with a hand-written backward pass."""

import tensorflow as tf

from rnnkit.kernels import _loop, native
from rnnkit.kernels import activations as acts


def _forward(xp, h0, c0, U, mask, rec_mask, act, ract):
    units = U.shape[0]
    batch = h0.shape[0]
    steps = _loop.time_steps(xp)

    def step(t, h, c, h_ta, c_ta, s_ta, g_ta, tc_ta):
        h_in = h * rec_mask if rec_mask is not None else h
        z = xp[t] + tf.matmul(h_in, U)
        z_s, z_g = tf.split(z, [3 * units, units], axis=1)
        s = acts.apply(ract, z_s)
        g = acts.apply(act, z_g)
        i, f, o = tf.split(s, 3, axis=1)
        c_new = f * c + i * g
        tc = acts.apply(act, c_new)
        h_new = o * tc
        if mask is not None:
            m = mask[t]
            h_new = h + m * (h_new - h)
            c_new = c + m * (c_new - c)
        return (
            t + 1,
            h_new,
            c_new,
            h_ta.write(t, h_new),
            c_ta.write(t, c_new),
            s_ta.write(t, s),
            g_ta.write(t, g),
            tc_ta.write(t, tc),
        )

    loop_vars = (
        tf.constant(0),
        h0,
        c0,
        _loop.new_array(xp.dtype, steps, [batch, units], "h"),
        _loop.new_array(xp.dtype, steps, [batch, units], "c"),
        _loop.new_array(xp.dtype, steps, [batch, 3 * units], "s"),
        _loop.new_array(xp.dtype, steps, [batch, units], "g"),
        _loop.new_array(xp.dtype, steps, [batch, units], "tc"),
    )
    out = tf.while_loop(lambda t, *_: t < steps, step, loop_vars, maximum_iterations=steps)
    hs, cs, ss, gs, tcs = (ta.stack() for ta in out[3:])
    return hs, (cs, ss, gs, tcs)


def _backward(d_hs, dh, dc, hs, saved, h0, c0, U, mask, rec_mask, act, ract):
    cs, ss, gs, tcs = saved
    units = U.shape[0]
    batch = h0.shape[0]
    steps = _loop.time_steps(hs)
    # Transposed once here, not in every step of the loop.
    U_t = tf.transpose(U)
    c_prev_all = _loop.shift_right(cs, c0)

    def back(t, dh, dc, dz_ta):
        dh = dh + d_hs[t]
        s, g, tc = ss[t], gs[t], tcs[t]
        if mask is not None:
            m = mask[t]
            dh_new, dc_new = m * dh, m * dc
            dh_keep, dc_keep = dh - dh_new, dc - dc_new
        else:
            dh_new, dc_new = dh, dc
        i, f, o = tf.split(s, 3, axis=1)
        dc_new = dc_new + acts.grad(act, tc, dh_new * o)
        d_ifo = tf.concat([dc_new * g, dc_new * c_prev_all[t], dh_new * tc], axis=1)
        dz = tf.concat([acts.grad(ract, s, d_ifo), acts.grad(act, g, dc_new * i)], axis=1)
        dh_prev = tf.matmul(dz, U_t)
        if rec_mask is not None:
            dh_prev = dh_prev * rec_mask
        dc_prev = dc_new * f
        if mask is not None:
            dh_prev = dh_prev + dh_keep
            dc_prev = dc_prev + dc_keep
        return t - 1, dh_prev, dc_prev, dz_ta.write(t, dz)

    loop_vars = (steps - 1, dh, dc, _loop.new_array(hs.dtype, steps, [batch, 4 * units], "dz"))
    _, dh0, dc0, dz_ta = tf.while_loop(
        lambda t, *_: t >= 0, back, loop_vars, maximum_iterations=steps
    )
    dz = dz_ta.stack()
    return dz, dh0, dc0, _loop.kernel_grad(_loop.shift_right(hs, h0), dz, rec_mask)


def _native_forward(xp, h0, c0, U, mask, rec_mask, act, ract):
    hs, cs, gates = native.ops().rnnkit_lstm_forward(
        xp, h0, c0, U, native.optional(mask), native.optional(rec_mask)
    )
    return hs, (cs, gates)


def _native_backward(d_hs, dh, dc, hs, saved, h0, c0, U, mask, rec_mask, act, ract):
    cs, gates = saved
    dz, dh0, dc0 = native.ops().rnnkit_lstm_backward(
        d_hs, dh, dc, cs, gates, c0, U, native.optional(mask), native.optional(rec_mask)
    )
    return dz, dh0, dc0, _loop.kernel_grad(_loop.shift_right(hs, h0), dz, rec_mask)


_compiled_forward = _loop.compiled(_forward)
_compiled_backward = _loop.compiled(_backward)


def lstm_sequence(
    xp,
    states,
    U,
    mask=None,
    rec_mask=None,
    activation="tanh",
    recurrent_activation="sigmoid",
):
    """Runs an LSTM over a time-major sequence.

    Gate order of ``xp`` and ``U`` is ``[i, f, o, g]``: the three gates that
    share ``recurrent_activation`` first, so each step applies it once.

    Args:
        xp: ``[T, B, 4H]`` input projection with bias.
        states: ``(h0, c0)``, each ``[B, H]``.
        U: ``[H, 4H]`` recurrent kernel.
        mask: ``[T, B, 1]`` float or None.
        rec_mask: ``[B, H]`` recurrent dropout mask or None.
        activation, recurrent_activation: names from ``activations.FUSABLE``.

    Returns:
        ``(hs, (h_T, c_T))`` with ``hs`` of shape ``[T, B, H]``.
    """
    h0, c0 = states
    forward, backward = _loop.pick(
        (_forward, _backward),
        (_compiled_forward, _compiled_backward),
        lambda: native.if_usable(
            (_native_forward, _native_backward), xp, activation, recurrent_activation
        ),
    )

    @tf.custom_gradient
    def run(xp, h0, c0, U):
        hs, saved = forward(xp, h0, c0, U, mask, rec_mask, activation, recurrent_activation)

        def grad_fn(d_hs, d_h_last, d_c_last):
            d_hs = _loop.zeros_if_none(d_hs, hs)
            # hs[-1] is h_T, so d_h_last enters the reverse loop as its carry.
            dh = _loop.zeros_if_none(d_h_last, h0)
            dc = _loop.zeros_if_none(d_c_last, c0)
            return backward(
                d_hs,
                dh,
                dc,
                hs,
                saved,
                h0,
                c0,
                U,
                mask,
                rec_mask,
                activation,
                recurrent_activation,
            )

        return (hs, hs[-1], saved[0][-1]), grad_fn

    hs, h_last, c_last = run(xp, h0, c0, U)
    return hs, (h_last, c_last)
