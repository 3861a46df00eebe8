"""caption's greedy and beam search."""

import math

import numpy as np
import pytest
import tensorflow as tf

from apps.caption import config as cfg
from apps.caption import decoding
from apps.caption.model import build_model


class _Chain:
    """A stand-in decoder whose next-word probabilities depend on the last word only.

    From ``<start>``: A 0.6, B 0.4. After A: ``<end>`` 0.3 and 0.1 for each
    of seven other words. After B: ``<end>`` 0.9. Greedy writes "A" then
    ``<end>`` (0.6 * 0.3 = 0.18); the best caption is "B" (0.4 * 0.9 = 0.36).
    """

    vocab_size, grid_size = 12, 2

    def __init__(self):
        table = np.full((12, 12), 1e-6)
        table[1, 4], table[1, 5] = 0.6, 0.4
        table[4, 2] = 0.3
        table[4, 5:12] = 0.1
        table[5, 2] = 0.9
        table[5, 6] = 0.1
        table[:, 0] = 1e-9
        table[[0, 2, 3, 6, 7, 8, 9, 10, 11]] = 0
        table[[0, 2, 3, 6, 7, 8, 9, 10, 11], 2] = 1.0
        self.logits = tf.constant(np.log(table / table.sum(1, keepdims=True) + 1e-12), tf.float32)

    def encode(self, images):
        batch = tf.shape(images)[0]
        return tf.zeros([batch, 2, 1]), tf.zeros([batch, 2, 1]), [tf.zeros([batch, 1])]

    def step(self, token, state, features, keys):
        weights = tf.fill([tf.shape(token)[0], 2], 0.5)
        return tf.gather(self.logits, token), state, weights


def test_beam_search_finds_a_better_caption_than_greedy():
    model, images = _Chain(), tf.zeros([2, 1])
    greedy = decoding.greedy(model, images, max_length=4)
    beam = decoding.beam_search(model, images, max_length=4, width=3, alpha=0.0)
    assert greedy["tokens"].numpy()[0].tolist() == [4, 2]
    assert greedy["score"].numpy()[0] == pytest.approx(math.log(0.18), abs=1e-3)
    assert beam["tokens"].numpy()[0, : beam["length"][0]].tolist() == [5, 2]
    assert beam["score"].numpy()[0] == pytest.approx(math.log(0.36), abs=1e-3)
    words = ["<pad>", "<start>", "<end>", "<unk>", "a", "b", *"cdefgh"]
    assert decoding.captions(beam["tokens"], words).numpy().tolist() == [b"b", b"b"]


def test_beam_of_width_one_is_greedy():
    model = build_model(cfg.PRESETS["tiny"].model, 14, seed=3)
    images = tf.random.uniform([5, 32, 128, 1], seed=1)
    greedy = decoding.greedy(model, images, max_length=6)
    beam = decoding.beam_search(model, images, max_length=6, width=1)
    np.testing.assert_array_equal(greedy["tokens"].numpy(), beam["tokens"].numpy())
    np.testing.assert_allclose(greedy["score"].numpy(), beam["score"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(greedy["attention"].numpy(), beam["attention"].numpy(), atol=1e-6)
    np.testing.assert_array_equal(greedy["length"].numpy(), beam["length"].numpy())
