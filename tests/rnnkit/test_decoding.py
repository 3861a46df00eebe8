"""rnnkit's shared searches: the ids they are given, and a length limit per row."""

import numpy as np
import tensorflow as tf

from rnnkit import decoding

# translate's ids: <pad> 0, <unk> 1, <s> 2, </s> 3.
TOKENS = decoding.Tokens(pad=0, start=2, end=3)


def _chatty(vocab=8, n=5):
    """A step that always prefers word 4 and almost never ends; attention on position 1."""
    table = np.full((vocab,), -10.0, np.float32)
    table[4], table[5], table[3] = 0.0, -1.0, -8.0
    logits = tf.constant(table)

    def step(token, state, memory):
        rows = tf.shape(token)[0]
        weights = tf.one_hot(tf.fill([rows], 1), n)
        return tf.tile(logits[None], [rows, 1]), state, weights

    return step


def test_each_row_ends_by_its_limit():
    state, memory = [tf.zeros([2, 1])], [tf.zeros([2, 5, 1])]
    limit = tf.constant([2, 4])
    free = decoding.greedy(_chatty(), state, memory, TOKENS, steps=6)
    assert free["length"].numpy().tolist() == [6, 6]  # never ended: ran out of steps
    assert free["tokens"].numpy().tolist() == [[4] * 6, [4] * 6]
    for out in (
        decoding.greedy(_chatty(), state, memory, TOKENS, steps=6, limit=limit),
        decoding.beam_search(_chatty(), state, memory, TOKENS, 6, 3, attended=5, limit=limit),
    ):
        assert out["length"].numpy().tolist() == [2, 4]
        tokens = out["tokens"].numpy().tolist()
        assert tokens[0][:2] == [4, 3] and tokens[1] == [4, 4, 4, 3]
        assert set(tokens[0][2:]) <= {0}  # padding after the end
        attention = out["attention"].numpy()
        assert attention.shape == (2, 4, 5)
        np.testing.assert_allclose(attention[1, :, 1], 1.0)
        np.testing.assert_allclose(attention[0, 2:], 0.0)  # nothing looked at after the end
