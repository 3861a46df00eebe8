"""Decoding a sequence in a TensorFlow graph: greedy and beam search, batched.

Shared by the apps whose models write a sequence one token at a time
(caption, translate). A model gives ``step(token, state, memory) ->
(logits [rows, vocab], new state, attention [rows, n])``, where ``state``
and ``memory`` are lists of ``[rows, ...]`` tensors (``memory`` is what the
step reads but never changes: encoder outputs, attention keys, masks).
Both searches run ``step`` in a ``tf.while_loop`` (autograph) that stops
when every row has written ``end`` or after ``steps`` steps; ``limit``
(``[batch]``, optional) ends each row's hypotheses by then (a translation
no longer than its source allows). They return the same dict:

- ``tokens`` int32 ``[batch, steps]``: the tokens and the closing ``end``,
  then ``pad``;
- ``score`` float32 ``[batch]``: the sequence's log-probability (with its
  ``end``);
- ``attention`` float32 ``[batch, steps, n]``: where each step looked;
- ``length`` int32 ``[batch]``: tokens up to and including ``end``.

Beam search keeps ``width`` hypotheses per row. A hypothesis that has
written ``end`` stays in its beam with its score frozen; candidates are
ranked by GNMT's length-normalised score ``log p / ((5 + length) / 6) **
alpha``, and the best one is returned. With width 1 it is greedy decoding.
Its dict also holds ``beams``: the same four keys with a ``width`` axis
after ``batch``, every hypothesis, best first (an n-best list).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

NEG = -1e9  # "impossible", finite so that sums never give NaN


@dataclasses.dataclass(frozen=True)
class Tokens:
    """The ids a search needs: padding, the first input, the last output."""

    pad: int
    start: int
    end: int


def length_penalty(length, alpha):
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def _forced_end(log_probs, t, limit, end: int):
    """Rows whose ``limit`` is reached may only write ``end``."""
    if limit is None:
        return log_probs
    over = t + 1 >= limit  # [rows]
    only_end = tf.one_hot(end, tf.shape(log_probs)[-1], on_value=0.0, off_value=NEG)
    return tf.where(over[:, None], only_end, log_probs)


def greedy(step, state, memory, tokens: Tokens, steps, limit=None) -> dict:
    """The most probable token at every step."""
    batch = tf.shape(state[0])[0]
    token = tf.fill([batch], tokens.start)
    finished = tf.zeros([batch], tf.bool)
    score = tf.zeros([batch])
    length = tf.zeros([batch], tf.int32)
    out = tf.TensorArray(tf.int32, size=steps, element_shape=[None])
    attention = tf.TensorArray(tf.float32, size=steps, element_shape=[None, None])
    t = tf.constant(0)
    while t < steps and not tf.reduce_all(finished):
        logits, state, weights = step(token, state, memory)
        log_probs = _forced_end(tf.nn.log_softmax(logits), t, limit, tokens.end)
        token = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        best = tf.reduce_max(log_probs, axis=-1)
        token = tf.where(finished, tokens.pad, token)
        score += tf.where(finished, 0.0, best)
        length += tf.cast(~finished, tf.int32)
        out = out.write(t, token)
        attention = attention.write(t, tf.where(finished[:, None], 0.0, weights))
        finished |= token == tokens.end
        t += 1
    return {
        "tokens": tf.transpose(out.stack()[:t]),
        "score": score,
        "attention": tf.transpose(attention.stack()[:t], [1, 0, 2]),
        "length": length,
    }


def tile(x, width):
    """``[batch, ...]`` -> ``[batch * width, ...]``, each row repeated ``width`` times."""
    return tf.repeat(x, width, axis=0)


def beam_search(
    step, state, memory, tokens: Tokens, steps, width: int, attended, alpha=0.6, limit=None
) -> dict:
    """The best of ``width`` hypotheses kept per row (see the module's docstring).

    ``attended``: how many positions the attention weights cover (``n``).
    """
    batch = tf.shape(state[0])[0]
    memory = [tile(m, width) for m in memory]
    state = [tile(s, width) for s in state]
    row_limit = None if limit is None else tile(limit, width)
    # Only the first hypothesis is alive at the start, so the first step
    # does not pick the same token ``width`` times.
    first = tf.one_hot(0, width, on_value=0.0, off_value=NEG)
    scores = tf.tile(first[None], [batch, 1])  # [batch, width], raw log-probabilities
    finished = tf.zeros([batch, width], tf.bool)
    length = tf.zeros([batch, width], tf.int32)
    history = tf.zeros([batch, width, steps], tf.int32)
    looked = tf.zeros([batch, width, steps, attended])
    token = tf.fill([batch * width], tokens.start)
    n = attended
    t = tf.constant(0)
    while t < steps and not tf.reduce_all(finished):
        logits, state, weights = step(token, state, memory)
        vocab = tf.shape(logits)[-1]
        log_probs = _forced_end(tf.nn.log_softmax(logits), t, row_limit, tokens.end)
        log_probs = tf.reshape(log_probs, [batch, width, vocab])
        # A finished hypothesis continues with padding alone, at no cost.
        only_pad = tf.one_hot(tokens.pad, vocab, on_value=0.0, off_value=NEG)
        log_probs = tf.where(finished[..., None], only_pad, log_probs)
        candidates = scores[..., None] + log_probs
        cand_length = tf.where(finished, length, t + 1)[..., None]
        ranked = candidates / length_penalty(cand_length, alpha)
        _, top = tf.math.top_k(tf.reshape(ranked, [batch, width * vocab]), k=width)
        parent, word = top // vocab, top % vocab
        scores = tf.gather(tf.reshape(candidates, [batch, width * vocab]), top, batch_dims=1)
        was_finished = tf.gather(finished, parent, batch_dims=1)
        length = tf.where(was_finished, tf.gather(length, parent, batch_dims=1), t + 1)
        finished = was_finished | (word == tokens.end)
        at_t = tf.one_hot(t, steps, dtype=tf.int32)
        history = tf.gather(history, parent, batch_dims=1) + word[..., None] * at_t
        weights = tf.gather(tf.reshape(weights, [batch, width, n]), parent, batch_dims=1)
        weights = tf.where(was_finished[..., None], 0.0, weights)
        looked = (
            tf.gather(looked, parent, batch_dims=1)
            + weights[:, :, None, :] * tf.cast(at_t, tf.float32)[None, None, :, None]
        )
        rows = tf.reshape(parent + tf.range(batch)[:, None] * width, [-1])
        state = [tf.gather(s, rows) for s in state]
        token = tf.reshape(word, [-1])
        t += 1
    _, ranking = tf.math.top_k(scores / length_penalty(length, alpha), k=width)
    beams = {
        "tokens": tf.gather(history, ranking, batch_dims=1)[:, :, :t],
        "score": tf.gather(scores, ranking, batch_dims=1),
        "attention": tf.gather(looked, ranking, batch_dims=1)[:, :, :t],
        "length": tf.gather(length, ranking, batch_dims=1),
    }
    return {**{name: value[:, 0] for name, value in beams.items()}, "beams": beams}
