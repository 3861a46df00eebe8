"""Fused LSTM over a whole sequence, with a hand-written backward pass.

Inference graphs with the standard activations run TensorFlow's own
``BlockLSTMV2`` op instead (``lstm_block_sequence``): one stock op for the
whole sequence, several times faster than a graph while loop at small
batches, and served by any TF Serving build.
"""

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
        xp, h0, c0, U, native.optional(mask), native.optional(rec_mask), bf16=native.bf16()
    )
    return hs, (cs, gates)


def _native_backward(d_hs, dh, dc, hs, saved, h0, c0, U, mask, rec_mask, act, ract):
    cs, gates = saved
    bf16 = native.bf16()
    dz, dh0, dc0 = native.ops().rnnkit_lstm_backward(
        d_hs,
        dh,
        dc,
        cs,
        gates,
        c0,
        U,
        native.optional(mask),
        native.optional(rec_mask),
        bf16=bf16,
    )
    return dz, dh0, dc0, _loop.kernel_grad(_loop.shift_right(hs, h0), dz, rec_mask, bf16)


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


def lstm_block_sequence(x, states, kernel, recurrent_kernel, bias, mask=None):
    """An LSTM with tanh / sigmoid over a time-major sequence, by TF's ``BlockLSTMV2`` op.

    For inference: the op runs the whole sequence in C++ (``[x, h] @ w`` per
    step). Keras's weight layout (gates ``[i, f, c, o]``) is the op's. The op
    has no mask: rows whose real steps form one run (right-padded, or
    reversed for ``go_backwards``) are shifted to start at step 0 and the
    outputs shifted back, with the state held before and after the run as the
    masked loop holds it; other masks take the while loop. A gradient, if one
    is asked for, is the while loop's: TF's registered gradient of
    ``BlockLSTMV2`` disagrees with its forward pass (checked on TF 2.21).

    Args:
        x: ``[T, B, I]`` inputs (not projected).
        states: ``(h0, c0)``, each ``[B, H]``.
        kernel: ``[I, 4H]``; recurrent_kernel: ``[H, 4H]``; bias: ``[4H]`` or None.
        mask: ``[T, B, 1]`` float or None.

    Returns:
        ``(hs, (h_T, c_T))`` as ``lstm_sequence``.
    """
    units = recurrent_kernel.shape[0]
    h0, c0 = states
    kernel, recurrent_kernel = tf.convert_to_tensor(kernel), tf.convert_to_tensor(recurrent_kernel)
    bias = tf.zeros([4 * units], x.dtype) if bias is None else tf.convert_to_tensor(bias)

    def loop(x, h0, c0, kernel, recurrent_kernel, bias):
        xp = tf.einsum("tbi,ig->tbg", x, to_ifog(kernel, units)) + to_ifog(bias, units)
        hs, (h_last, c_last) = lstm_sequence(xp, (h0, c0), to_ifog(recurrent_kernel, units), mask)
        return hs, h_last, c_last

    @tf.custom_gradient
    def run(*args):
        hs, h_last, c_last = _block_or_loop(*args, mask, loop)

        def grad_fn(*output_grads):
            with tf.GradientTape() as tape:
                tape.watch(args)
                outputs = loop(*args)
            return tape.gradient(outputs, args, output_gradients=list(output_grads))

        return (hs, h_last, c_last), grad_fn

    hs, h_last, c_last = run(x, h0, c0, kernel, recurrent_kernel, bias)
    return hs, (h_last, c_last)


def _block_or_loop(x, h0, c0, kernel, recurrent_kernel, bias, mask, loop):
    units = recurrent_kernel.shape[0]
    w = tf.concat([kernel, recurrent_kernel], axis=0)
    no_peephole = tf.zeros([units], x.dtype)

    def block(x, steps):
        out = tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.cast(steps, tf.int64),
            x=x,
            cs_prev=c0,
            h_prev=h0,
            w=w,
            wci=no_peephole,
            wcf=no_peephole,
            wco=no_peephole,
            b=bias,
            cell_clip=0.0,  # no clipping
            use_peephole=False,
        )
        return out[6], out[1]  # h and cs after every step

    if mask is None:
        hs, cs = block(x, tf.shape(x)[0])
        return hs, hs[-1], cs[-1]

    ok, start, length = _loop.contiguous_runs(mask)

    def runs():
        steps = tf.shape(x)[0]
        t = tf.range(steps)[:, tf.newaxis]
        rows = tf.range(tf.shape(x)[1])[tf.newaxis, :] + tf.zeros_like(t)
        shifted = tf.gather_nd(x, tf.stack([(t + start) % steps, rows], axis=-1))
        # (reduce_max of an empty batch is INT_MIN, which aborts the op.)
        hs_run, cs_run = block(shifted, tf.maximum(tf.reduce_max(length), 0))
        at = tf.clip_by_value(t - start, -1, length - 1)  # -1: before the run
        hs = tf.gather_nd(hs_run, tf.stack([tf.maximum(at, 0), rows], axis=-1))
        hs = tf.where((at >= 0)[:, :, tf.newaxis], hs, h0[tf.newaxis])
        last = tf.stack([tf.maximum(length - 1, 0), rows[0]], axis=-1)
        c_last = tf.where((length > 0)[:, tf.newaxis], tf.gather_nd(cs_run, last), c0)
        return hs, hs[-1], c_last

    return tf.cond(ok, runs, lambda: loop(x, h0, c0, kernel, recurrent_kernel, bias))


def to_ifog(matrix, units):
    """Gate columns from Keras's ``[i, f, c, o]`` to ``lstm_sequence``'s ``[i, f, o, c]``."""
    i_f, c, o = tf.split(matrix, [2 * units, units, units], axis=-1)
    return tf.concat([i_f, o, c], axis=-1)
