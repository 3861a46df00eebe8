"""textgen's CharRNN: locked and embedding dropout."""

import numpy as np
import tensorflow as tf

from apps.textgen import config as cfg


def _awd_model(**kwargs):
    from apps.textgen.model import build_model

    return build_model(cfg.ModelConfig(layers=1, units=16, embedding_dim=8, **kwargs), 40)


def test_locked_dropout_keeps_one_mask_per_sequence():
    """Locked (variational) dropout: a unit dropped at one step is dropped at every step."""
    model = _awd_model(dropout=0.5, input_dropout=0.5, locked=True)
    ids = tf.constant(np.random.default_rng(0).integers(1, 40, size=(8, 12)), tf.int32)
    _, _, raw, dropped = model.forward(ids, training=True)
    zero = (dropped.numpy() == 0) & (raw.numpy() != 0)
    per_unit = zero.any(axis=1)  # [batch, units]: dropped at some step
    np.testing.assert_array_equal(zero, np.repeat(per_unit[:, None], 12, axis=1))
    assert 0.3 < per_unit.mean() < 0.7
    unlocked = _awd_model(dropout=0.5)
    _, _, raw, dropped = unlocked.forward(ids, training=True)
    zero = (dropped.numpy() == 0) & (raw.numpy() != 0)
    assert not (zero == zero[:, :1]).all()  # a fresh mask per step
    # Inference: no dropout at all.
    _, _, raw, dropped = model.forward(ids, training=False)
    np.testing.assert_array_equal(raw, dropped)


def test_embedding_dropout_drops_whole_characters():
    model = _awd_model(embedding_dropout=0.5)
    ids = tf.constant([[3, 5, 3, 7, 5, 3, 9, 7]] * 4, tf.int32)
    embedded = model._embed(ids, training=True).numpy()
    plain = model.embedding(ids).numpy()
    dropped = (embedded == 0).all(axis=-1)
    # A character is dropped everywhere in the batch or nowhere; kept ones are scaled by 2.
    for char in (3, 5, 7, 9):
        where = ids.numpy() == char
        assert dropped[where].all() or not dropped[where].any()
    kept = ~dropped
    np.testing.assert_allclose(embedded[kept], 2 * plain[kept], rtol=1e-6)
    np.testing.assert_array_equal(model._embed(ids, training=False), plain)
