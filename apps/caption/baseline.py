"""Baselines the captioner must beat, on the same test images.

- Nearest neighbour: the caption of the closest training image (its first
  reference), by cosine similarity of the model inputs' pixels, or of the
  trained encoder's grid of features (flattened, so where a feature is
  counts, as it does for reading digits left to right).
- Most frequent: the training caption seen most often, for every image.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np

from apps.caption.data import Example


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = x.reshape(len(x), -1).astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


def nearest_neighbour(
    train_vectors: np.ndarray,
    train: Sequence[Example],
    test_vectors: np.ndarray,
    chunk: int = 256,
) -> list[str]:
    """For each test row, the first reference of the most similar (cosine) training row."""
    keys = _unit_rows(train_vectors)
    queries = _unit_rows(test_vectors)
    found = []
    for start in range(0, len(queries), chunk):
        closest = np.argmax(queries[start : start + chunk] @ keys.T, axis=1)
        found.extend(train[i].references[0] for i in closest)
    return found


def encoder_vectors(model, pixels: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """The trained encoder's grid of features per image, flattened ``[n, grid * features]``."""
    out = [
        np.asarray(model.encoder(pixels[i : i + batch_size], training=False)).reshape(
            min(batch_size, len(pixels) - i), -1
        )
        for i in range(0, len(pixels), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def most_frequent(train: Sequence[Example]) -> str:
    """The most common training caption (ties: the first seen)."""
    counts = collections.Counter(r for e in train for r in e.references)
    return counts.most_common(1)[0][0]
