"""rnnkit's shared searches: the ids they are given, and a length limit per row."""

import numpy as np
import tensorflow as tf

from rnnkit import decoding

# translate's ids: <pad> 0, <unk> 1, <s> 2, </s> 3.
TOKENS = decoding.Tokens(pad=0, start=2, end=3)


def _chatty(vocab=8, n=5, end=-8.0):
    """A step that always prefers word 4 and almost never ends; attention on position 1."""
    table = np.full((vocab,), -10.0, np.float32)
    table[4], table[5], table[3] = 0.0, -1.0, end
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


def test_beams_are_every_hypothesis_best_first_with_their_scores():
    state, memory = [tf.zeros([2, 1])], [tf.zeros([2, 5, 1])]
    table = np.full((8,), -10.0, np.float32)
    table[4], table[5], table[3] = 0.0, -1.0, -2.0
    log_p = tf.nn.log_softmax(table).numpy()
    step = _chatty(end=-2.0)
    out = decoding.beam_search(step, state, memory, TOKENS, 4, 3, attended=5, alpha=0.6)
    beams = {k: v.numpy() for k, v in out["beams"].items()}
    assert beams["tokens"].shape[:2] == (2, 3) and beams["attention"].shape[:3] == (2, 3, 4)
    for name in ("tokens", "score", "length"):
        np.testing.assert_array_equal(beams[name][:, 0], out[name].numpy())
    for row in range(2):
        hypotheses = [tuple(t) for t in beams["tokens"][row]]
        assert len(set(hypotheses)) == 3
        for tokens, score, length in zip(
            hypotheses, beams["score"][row], beams["length"][row], strict=True
        ):
            written = [t for t in tokens[:length]]
            assert 0 not in written
            np.testing.assert_allclose(score, sum(log_p[t] for t in written), rtol=1e-5)
        normalised = beams["score"][row] / ((5.0 + beams["length"][row]) / 6.0) ** 0.6
        assert list(normalised) == sorted(normalised, reverse=True)
