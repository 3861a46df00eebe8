"""speechtag's baselines, trained and scored on the same frames as the RNN.

- ``majority``: every frame gets the most frequent training tag of its tier.
- ``FrameMLP``: the classic hybrid-system frame classifier, a multilayer
  perceptron over a +-5-frame window of the same log-mel features
  (normalised per utterance), with one softmax per tier and no recurrence.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from apps.speechtag.data import TARGETS, TIERS
from apps.speechtag.features import (
    frame_counts,
    frame_mask,
    log_mel,
    utterance_normalise,
    widen_starts,
)
from rnnkit.files import atomic_path

CONTEXT = 5
MAX_FRAMES = 200_000  # training frames sampled for the MLP


def majority(train_tags: list[np.ndarray], tags: int) -> int:
    counts = np.bincount(np.concatenate(train_tags), minlength=tags)
    return int(np.argmax(counts))


def context_features(waveform, length, n_mels):
    """``[batch, frames, (2 * CONTEXT + 1) * n_mels]``: each frame with its neighbours."""
    features = log_mel(tf.convert_to_tensor(waveform, tf.float32), n_mels)
    frames = frame_counts(length)
    features = utterance_normalise(features, frame_mask(frames, tf.shape(features)[1]))
    padded = tf.pad(features, [[0, 0], [CONTEXT, CONTEXT], [0, 0]])
    width = tf.shape(features)[1]
    stacked = [padded[:, k : k + width] for k in range(2 * CONTEXT + 1)]
    return tf.concat(stacked, axis=-1), frames


def build_mlp(n_inputs: int, n_phones: int, n_words: int, units: int = 256) -> keras.Model:
    inputs = keras.Input([n_inputs], name="frames")
    x = keras.layers.Dense(units, activation="relu", name="hidden_0")(inputs)
    x = keras.layers.Dropout(0.1)(x)
    x = keras.layers.Dense(units, activation="relu", name="hidden_1")(x)
    outputs = {
        "phones": keras.layers.Dense(n_phones, name="phones")(x),
        "words": keras.layers.Dense(n_words, name="words")(x),
        # Segment starts, as the RNN predicts them: the decoding is the same.
        "phones_start": keras.layers.Dense(1, name="phones_start")(x),
        "words_start": keras.layers.Dense(1, name="words_start")(x),
    }
    return keras.Model(inputs, outputs, name="frame_mlp")


def _frames(batches, n_mels):
    """All real frames of the batches: context features and ``{target: values}``."""
    xs, targets = [], {t: [] for t in TARGETS}
    for inputs, tags in batches:
        x, frames = context_features(inputs["waveform"], inputs["length"], n_mels)
        mask = frame_mask(frames, tf.shape(x)[1])
        xs.append(tf.boolean_mask(x, mask).numpy())
        for t in TARGETS:
            # The same targets as the RNN's (see model.widen_starts).
            value = widen_starts(tags[t]) if t.endswith("_start") else tags[t]
            targets[t].append(tf.boolean_mask(value, mask).numpy())
    return np.concatenate(xs), {t: np.concatenate(v) for t, v in targets.items()}


def train_mlp(batches, n_mels, n_phones, n_words, seed=0, epochs=4, quiet=True) -> keras.Model:
    """Fits the frame MLP on (a sample of) the training frames."""
    x, targets = _frames(batches, n_mels)
    rng = np.random.default_rng(seed)
    if len(x) > MAX_FRAMES:
        keep = rng.choice(len(x), MAX_FRAMES, replace=False)
        x, targets = x[keep], {t: v[keep] for t, v in targets.items()}
    keras.utils.set_random_seed(seed)
    model = build_mlp(x.shape[1], n_phones, n_words)
    tags = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    starts = keras.losses.BinaryCrossentropy(from_logits=True)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={t: starts if t.endswith("_start") else tags for t in TARGETS},
    )
    targets = {t: v[:, None] if t.endswith("_start") else v for t, v in targets.items()}
    model.fit(x, targets, batch_size=256, epochs=epochs, shuffle=True, verbose=0 if quiet else 2)
    return model


def load_or_train_mlp(path: Path, train_batches, n_mels, n_phones, n_words, seed=0):
    """The run's frame MLP: trained once, then read back from ``path``."""
    n_inputs = (2 * CONTEXT + 1) * n_mels
    if path.is_file():
        model = build_mlp(n_inputs, n_phones, n_words)
        model.load_weights(path)
        return model
    model = train_mlp(train_batches(), n_mels, n_phones, n_words, seed=seed)
    with atomic_path(path, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    return model


def mlp_log_probs(model, waveform, length, n_mels):
    """As ``decoding.log_probs``: per tier, tag log-probabilities ``[batch, frames, tags]`` and
    start probabilities ``[batch, frames]``; and ``frames [batch]``."""
    x, frames = context_features(waveform, length, n_mels)
    batch, width = tf.shape(x)[0], tf.shape(x)[1]
    out = model(tf.reshape(x, [batch * width, -1]), training=False)
    found = {}
    for tier in TIERS:
        found[tier] = tf.reshape(tf.nn.log_softmax(out[tier]), [batch, width, -1]).numpy()
        start = tf.sigmoid(out[f"{tier}_start"])
        found[f"{tier}_start"] = tf.reshape(start, [batch, width]).numpy()
    return found, frames.numpy()
