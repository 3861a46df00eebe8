"""textgen's sampling: temperature, top-k, top-p, seeds."""

import numpy as np
import tensorflow as tf

from apps.textgen import decoding


def test_sampling_options():
    logits = tf.constant(np.log([[1e-9, 0.1, 0.2, 0.3, 0.4]] * 4000), tf.float32)
    ones = tf.ones([4000])
    seeds = tf.range(4000)

    def draw(temperature=1.0, top_k=0, top_p=1.0, step=0):
        return decoding.sample(
            logits,
            temperature * ones,
            tf.fill([4000], top_k),
            top_p * ones,
            seeds,
            step,
        ).numpy()

    counts = np.bincount(draw(), minlength=5) / 4000
    np.testing.assert_allclose(counts, [0, 0.1, 0.2, 0.3, 0.4], atol=0.03)
    assert (draw(temperature=0.0) == 4).all()
    assert set(draw(top_k=2)) == {3, 4}
    assert set(draw(top_p=0.5)) == {3, 4}  # 0.4 + 0.3 covers 0.5
    assert set(draw(top_p=0.3)) == {4}
    assert not (draw(step=0) == draw(step=1)).all()
    # A row's draw depends on its own seed only, not on the rest of the batch.
    single = decoding.sample(logits[:1], ones[:1], tf.constant([0]), ones[:1], seeds[7:8], 0)
    assert int(single[0]) == draw()[7]
