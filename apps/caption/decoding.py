"""Caption decoding in TensorFlow graphs: greedy and beam search, batched.

Both run the captioner's ``step`` in a ``tf.while_loop`` (autograph) that
stops when every row has written ``<end>`` or after ``max_length + 1``
steps, and both return the same dict:

- ``tokens`` int32 ``[batch, steps]``: the words and the closing ``<end>``,
  then ``<pad>`` (0);
- ``score`` float32 ``[batch]``: the caption's log-probability (with its
  ``<end>``);
- ``attention`` float32 ``[batch, steps, grid]``: where each step looked;
- ``length`` int32 ``[batch]``: tokens up to and including ``<end>``.

Beam search keeps ``width`` hypotheses per image. A hypothesis that has
written ``<end>`` stays in its beam with its score frozen; candidates are
ranked by GNMT's length-normalised score ``log p / ((5 + length) / 6) **
alpha``, and the best one is returned. With width 1 it is greedy decoding.
"""

from __future__ import annotations

import tensorflow as tf

PAD, START, END = 0, 1, 2
NEG = -1e9  # "impossible", finite so that sums never give NaN


def length_penalty(length, alpha):
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def greedy(model, images, max_length: int) -> dict:
    """The most probable word at every step."""
    features, keys, state = model.encode(images)
    batch = tf.shape(images)[0]
    steps = max_length + 1
    token = tf.fill([batch], START)
    finished = tf.zeros([batch], tf.bool)
    score = tf.zeros([batch])
    length = tf.zeros([batch], tf.int32)
    tokens = tf.TensorArray(tf.int32, size=steps, element_shape=[None])
    attention = tf.TensorArray(tf.float32, size=steps, element_shape=[None, model.grid_size])
    t = tf.constant(0)
    while t < steps and not tf.reduce_all(finished):
        logits, state, weights = model.step(token, state, features, keys)
        log_probs = tf.nn.log_softmax(logits)
        token = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        best = tf.reduce_max(log_probs, axis=-1)
        token = tf.where(finished, PAD, token)
        score += tf.where(finished, 0.0, best)
        length += tf.cast(~finished, tf.int32)
        tokens = tokens.write(t, token)
        attention = attention.write(t, tf.where(finished[:, None], 0.0, weights))
        finished |= token == END
        t += 1
    return {
        "tokens": tf.transpose(tokens.stack()[:t]),
        "score": score,
        "attention": tf.transpose(attention.stack()[:t], [1, 0, 2]),
        "length": length,
    }


def _tile(x, width):
    """``[batch, ...]`` -> ``[batch * width, ...]``, each row repeated ``width`` times."""
    return tf.repeat(x, width, axis=0)


def beam_search(model, images, max_length: int, width: int, alpha: float = 0.6) -> dict:
    """The best of ``width`` hypotheses kept per image (see the module's docstring)."""
    features, keys, state = model.encode(images)
    batch = tf.shape(images)[0]
    steps = max_length + 1
    vocab = model.vocab_size
    grid = model.grid_size
    features, keys = _tile(features, width), _tile(keys, width)
    state = [_tile(s, width) for s in state]
    # Only the first hypothesis is alive at the start, so the first step
    # does not pick the same word ``width`` times.
    first = tf.one_hot(0, width, on_value=0.0, off_value=NEG)
    scores = tf.tile(first[None], [batch, 1])  # [batch, width], raw log-probabilities
    finished = tf.zeros([batch, width], tf.bool)
    length = tf.zeros([batch, width], tf.int32)
    history = tf.zeros([batch, width, steps], tf.int32)
    looked = tf.zeros([batch, width, steps, grid])
    token = tf.fill([batch * width], START)
    only_pad = tf.one_hot(PAD, vocab, on_value=0.0, off_value=NEG)
    t = tf.constant(0)
    while t < steps and not tf.reduce_all(finished):
        logits, state, weights = model.step(token, state, features, keys)
        log_probs = tf.reshape(tf.nn.log_softmax(logits), [batch, width, vocab])
        # A finished hypothesis continues with <pad> alone, at no cost.
        log_probs = tf.where(finished[..., None], only_pad, log_probs)
        candidates = scores[..., None] + log_probs
        cand_length = tf.where(finished, length, t + 1)[..., None]
        ranked = candidates / length_penalty(cand_length, alpha)
        _, top = tf.math.top_k(tf.reshape(ranked, [batch, width * vocab]), k=width)
        parent, word = top // vocab, top % vocab
        scores = tf.gather(tf.reshape(candidates, [batch, width * vocab]), top, batch_dims=1)
        was_finished = tf.gather(finished, parent, batch_dims=1)
        length = tf.where(was_finished, tf.gather(length, parent, batch_dims=1), t + 1)
        finished = was_finished | (word == END)
        at_t = tf.one_hot(t, steps, dtype=tf.int32)
        history = tf.gather(history, parent, batch_dims=1) + word[..., None] * at_t
        weights = tf.gather(tf.reshape(weights, [batch, width, grid]), parent, batch_dims=1)
        weights = tf.where(was_finished[..., None], 0.0, weights)
        looked = (
            tf.gather(looked, parent, batch_dims=1)
            + weights[:, :, None, :] * tf.cast(at_t, tf.float32)[None, None, :, None]
        )
        rows = tf.reshape(parent + tf.range(batch)[:, None] * width, [-1])
        state = [tf.gather(s, rows) for s in state]
        token = tf.reshape(word, [-1])
        t += 1
    best = tf.argmax(scores / length_penalty(length, alpha), axis=-1, output_type=tf.int32)
    return {
        "tokens": tf.gather(history, best, batch_dims=1)[:, :t],
        "score": tf.gather(scores, best, batch_dims=1),
        "attention": tf.gather(looked, best, batch_dims=1)[:, :t],
        "length": tf.gather(length, best, batch_dims=1),
    }


def captions(tokens, vocabulary) -> tf.Tensor:
    """Token ids ``[batch, steps]`` -> caption strings ``[batch]`` (words before ``<end>``)."""
    table = tf.constant(list(vocabulary))
    words = tf.gather(table, tokens)
    before_end = tf.cumsum(tf.cast(tokens == END, tf.int32), axis=1, exclusive=True) == 0
    keep = before_end & (tokens > END)
    return tf.strings.reduce_join(tf.ragged.boolean_mask(words, keep), axis=-1, separator=" ")


def decode(model, images, vocabulary, max_length: int, beam: int = 1, alpha: float = 0.6):
    """Greedy decoding (``beam`` 1) or beam search of width ``beam``, with the
    captions as strings: ``caption``, ``tokens``, ``score``, ``attention``, ``length``."""
    if beam == 1:
        out = greedy(model, images, max_length)
    else:
        out = beam_search(model, images, max_length, beam, alpha)
    return {**out, "caption": captions(out["tokens"], vocabulary)}
