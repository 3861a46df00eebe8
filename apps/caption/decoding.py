"""Caption decoding in TensorFlow graphs: greedy and beam search, batched.

Both are rnnkit's (``rnnkit.decoding``, shared with translate) over the
captioner's ``encode`` and ``step``: they stop when every row has written
``<end>`` or after ``max_length + 1`` steps, and both return ``tokens``,
``score``, ``attention`` (``[batch, steps, grid]``) and ``length``.
"""

from __future__ import annotations

import tensorflow as tf

from rnnkit import decoding as search

PAD, START, END = 0, 1, 2
TOKENS = search.Tokens(pad=PAD, start=START, end=END)


def _step(model):
    return lambda token, state, memory: model.step(token, state, *memory)


def greedy(model, images, max_length: int) -> dict:
    """The most probable word at every step."""
    features, keys, state = model.encode(images)
    return search.greedy(_step(model), state, [features, keys], TOKENS, max_length + 1)


def beam_search(model, images, max_length: int, width: int, alpha: float = 0.6) -> dict:
    """The best of ``width`` hypotheses kept per image (``rnnkit.decoding.beam_search``)."""
    features, keys, state = model.encode(images)
    memory = [features, keys]
    steps = max_length + 1
    return search.beam_search(
        _step(model), state, memory, TOKENS, steps, width, model.grid_size, alpha
    )


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
