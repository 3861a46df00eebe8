"""Pieces shared by the fused kernels."""

import contextlib
import threading

import tensorflow as tf

_settings = threading.local()


def time_steps(x):
    """Static number of steps if known, else a scalar tensor."""
    return x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]


def new_array(dtype, size, element_shape, name):
    return tf.TensorArray(
        dtype, size=size, element_shape=element_shape, name=name, clear_after_read=False
    )


def shift_right(seq, first):
    """[first, seq[0], ..., seq[T-2]]: the previous step's value at every step."""
    return tf.concat([first[tf.newaxis], seq[:-1]], axis=0)


def zeros_if_none(grad, like):
    return tf.zeros_like(like) if grad is None else grad


def flat(x):
    """[T, B, N] -> [T * B, N]."""
    return tf.reshape(x, [-1, tf.shape(x)[-1]])


def kernel_grad(h_prev_all, d, rec_mask, bf16=False):
    """The recurrent kernel's gradient over all steps at once: sum_t h_{t-1}^T @ d_t.

    ``h_prev_all`` is ``shift_right(hs, h0)``; the recurrent dropout mask
    scaled ``h`` on its way into the matmul, so it scales it here too. With
    ``bf16`` (the native ops' ``RNNKIT_BF16``) the product runs in bfloat16,
    1.5x as fast here (oneDNN's AVX512_BF16 kernels), to bfloat16's precision.
    """
    if rec_mask is not None:
        h_prev_all = h_prev_all * rec_mask
    a, b = flat(h_prev_all), flat(d)
    if bf16:
        a, b = tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16)
        return tf.cast(tf.matmul(a, b, transpose_a=True), tf.float32)
    return tf.matmul(a, b, transpose_a=True)


def compiled(fn):
    """``fn`` compiled with XLA, which fuses each step's elementwise ops into one loop."""
    return tf.function(fn, jit_compile=True)


def pick(plain, compiled, native=lambda: None):
    """The ``(forward, backward)`` pair for the graph being traced.

    Inside ``training_loops(True)``, in a graph: the pair ``native()``
    returns, unless None (see ``rnnkit.kernels.native``), else the
    XLA-compiled one; ``native`` is only called here, so inference tracing
    never loads the native library. Otherwise
    the plain while loops, so graphs traced for inference or export hold no
    XLA-only functions (a stock TF Serving binary runs them only with its
    experimental XLA flag) and no custom ops; ``rnnkit.layers.Recurrent``
    turns it on while tracing a training call.
    """
    if getattr(_settings, "fast", False) and not tf.executing_eagerly():
        return native() or compiled
    return plain


@contextlib.contextmanager
def training_loops(enabled):
    """Within this context, kernels traced now use the training-only fast loops or not."""
    previous = getattr(_settings, "fast", False)
    _settings.fast = enabled
    try:
        yield
    finally:
        _settings.fast = previous


def plain_loops() -> bool:
    """Whether the graph being traced gets the plain loops (inference, export, eager calls)."""
    return not (getattr(_settings, "fast", False) and not tf.executing_eagerly())


def contiguous_runs(mask):
    """Where each row's real steps lie, if they form one run: ``(ok, start, length)``.

    ``mask`` ``[T, B, 1]`` float. ``start`` and ``length`` ``[B]`` int32 (a row
    with no real step has length 0); ``ok`` is a scalar bool tensor, true when
    every row is padding, then one run of real steps, then padding (a
    right-padded batch, or one reversed for ``go_backwards``).
    """
    real = mask[:, :, 0] > 0.5
    steps = tf.range(tf.shape(real)[0])[:, tf.newaxis]
    length = tf.reduce_sum(tf.cast(real, tf.int32), axis=0)
    start = tf.cast(tf.argmax(tf.cast(real, tf.int32), axis=0), tf.int32)
    ok = tf.reduce_all(tf.equal(real, (steps >= start) & (steps < start + length)))
    return ok, start, length
