"""Sampling and beam search over textgen's model, in the graph.

- ``sample``: one character per row with its own temperature, top-k, top-p
  and seed; the random numbers come from a counter-based hash of (seed,
  step, id), so a row's text depends only on its own inputs, not on the
  batch it is in or the machine it runs on.
- ``beam_search`` over the ``prime`` / ``step`` functions (``export.Generator``,
  or the same-named signatures of a SavedModel).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_MASK32 = 0xFFFFFFFF


def _hash32(x):
    """Chris Wellons' lowbias32 integer hash on int64 tensors holding 32-bit values."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = tf.bitwise.bitwise_and(x * 0x7FEB352D, _MASK32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = tf.bitwise.bitwise_and(x * 0x846CA68B, _MASK32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _gumbel(seed, step, vocab_size):
    """Gumbel noise ``[batch, vocab]`` from (row seed, step, id) alone."""
    key = _hash32(tf.bitwise.bitwise_and(tf.cast(seed, tf.int64), _MASK32))
    key = _hash32(tf.bitwise.bitwise_and(key + tf.cast(step, tf.int64) * 0x9E3779B9, _MASK32))
    ids = tf.range(vocab_size, dtype=tf.int64)[tf.newaxis]
    bits = _hash32(tf.bitwise.bitwise_and(key[:, tf.newaxis] + ids * 0x85EBCA6B, _MASK32))
    uniform = (tf.cast(bits, tf.float64) + 0.5) / 4294967296.0
    return tf.cast(-tf.math.log(-tf.math.log(uniform)), tf.float32)


def sample(logits, temperature, top_k, top_p, seed, step):
    """One id per row from ``logits [batch, vocab]``.

    ``temperature <= 0``: greedy. ``top_k <= 0`` or ``>= vocab``: no top-k cut.
    ``top_p <= 0`` or ``>= 1``: no nucleus cut. Id 0 (unknown) is never drawn.
    """
    vocab_size = tf.shape(logits)[1]
    neg_inf = tf.constant(-np.inf, tf.float32)
    logits = tf.concat([tf.fill([tf.shape(logits)[0], 1], neg_inf), logits[:, 1:]], axis=1)
    greedy = temperature <= 0.0
    scaled = logits / tf.where(greedy, 1.0, temperature)[:, tf.newaxis]
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")
    k = tf.where((top_k <= 0) | (top_k > vocab_size), vocab_size, top_k)
    kth = tf.gather(ranked, k - 1, batch_dims=1)
    scaled = tf.where(scaled < kth[:, tf.newaxis], neg_inf, scaled)
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")
    before = tf.math.cumsum(tf.nn.softmax(ranked), axis=-1, exclusive=True)
    p = tf.where((top_p <= 0.0) | (top_p >= 1.0), 2.0, top_p)
    keep = before < p[:, tf.newaxis]
    cutoff = tf.reduce_min(tf.where(keep, ranked, np.inf), axis=-1)
    scaled = tf.where(scaled < cutoff[:, tf.newaxis], neg_inf, scaled)
    drawn = tf.argmax(scaled + _gumbel(seed, step, vocab_size), axis=-1, output_type=tf.int32)
    return tf.where(greedy, tf.argmax(logits, axis=-1, output_type=tf.int32), drawn)


def beam_search(prime, step, prompt: str, width: int, length: int) -> str:
    """The most likely ``length`` new characters under the model, ``width`` beams wide.

    ``prime`` and ``step`` are ``Generator``'s functions, or the same-named
    signatures of an exported SavedModel. Returns the new characters' ids.
    """
    out = prime(prompt=tf.constant([prompt]))
    logp = tf.nn.log_softmax(out["logits"])[0].numpy()
    logp[0] = -np.inf
    first = np.argsort(-logp)[:width]
    scores = logp[first]
    sequences = first[:, None]
    state = np.repeat(out["state"].numpy(), len(first), axis=0)
    for _ in range(length - 1):
        out = step(ids=tf.constant(sequences[:, -1], tf.int32), state=tf.constant(state))
        logp = tf.nn.log_softmax(out["logits"]).numpy()
        logp[:, 0] = -np.inf
        total = (scores[:, None] + logp).ravel()
        best = np.argsort(-total, kind="stable")[:width]
        parents, ids = np.divmod(best, logp.shape[1])
        scores = total[best]
        sequences = np.concatenate([sequences[parents], ids[:, None]], axis=1)
        state = out["state"].numpy()[parents]
    return sequences[0]
