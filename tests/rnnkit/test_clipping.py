"""Gradient clipping keeps an exploding Elman relu network finite."""

import keras
import numpy as np

import rnnkit.layers as L


def _train(clipnorm):
    """An Elman relu net whose recurrent kernel has spectral radius 2: it explodes."""
    keras.utils.set_random_seed(0)
    layer = L.Elman(
        16,
        activation="relu",
        return_sequences=True,
        kernel_initializer=keras.initializers.RandomUniform(0.0, 0.5),
        recurrent_initializer=keras.initializers.Identity(gain=2.0),
    )
    model = keras.Sequential([keras.Input((40, 3)), layer, keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(learning_rate=0.05, clipnorm=clipnorm)
    model.compile(optimizer=optimizer, loss="mse")
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (8, 40, 3)).astype("float32")
    y = rng.normal(size=(8, 40, 1)).astype("float32")
    return [model.train_on_batch(x, y) for _ in range(6)]


def test_clipnorm_keeps_the_loss_finite_and_its_absence_does_not():
    unclipped = _train(clipnorm=None)
    clipped = _train(clipnorm=1.0)
    assert not np.all(np.isfinite(unclipped)), unclipped
    assert np.all(np.isfinite(clipped)), clipped
