"""An image to the model's input, in the graph: the same code trains and serves.

Any PNG, JPEG, GIF or BMP (grey, grey with alpha, RGB or RGBA) becomes the
model's channels, resized with its aspect kept and padded to its size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from apps.caption.config import ModelConfig


def preprocess(image, model: ModelConfig):
    """A decoded uint8 image ``[h, w, c]`` -> float32 ``[height, width, channels]`` in [0, 1]."""
    image = tf.convert_to_tensor(image)
    # Grey (1), grey + alpha (2), RGB (3) or RGBA (4) -> RGB, then the model's channels.
    rgb = tf.cond(
        tf.shape(image)[-1] >= 3,
        lambda: image[..., :3],
        lambda: tf.tile(image[..., :1], [1, 1, 3]),
    )
    rgb.set_shape([None, None, 3])
    image = tf.image.rgb_to_grayscale(rgb) if model.channels == 1 else rgb
    image = tf.image.convert_image_dtype(image, tf.float32)
    image = tf.image.resize_with_pad(image, model.height, model.width, antialias=True)
    return tf.ensure_shape(image, (model.height, model.width, model.channels))


def decode_image(data, model: ModelConfig):
    """Encoded bytes (PNG, JPEG, GIF, BMP) -> the model's input (see ``preprocess``)."""
    image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.uint8)
    return preprocess(image, model)


def _pixels(image: np.ndarray) -> np.ndarray:
    return image[..., None] if image.ndim == 2 else image


def images(examples: Sequence, model: ModelConfig) -> np.ndarray:
    """The model inputs ``[n, height, width, channels]`` of ``examples``' images.

    Each example (``data.Example``) has an ``image``: uint8 pixels or a file path.
    """

    def load(i):
        example = examples[int(i)]
        if isinstance(example.image, str):
            return decode_image(tf.io.read_file(example.image), model).numpy()
        return _pixels(example.image)

    if any(isinstance(e.image, str) for e in examples):
        return np.stack([load(i) for i in range(len(examples))]) if examples else _empty(model)
    # In-memory pixels: padded into one array, then one traced graph crops
    # each back to its size and preprocesses it, in parallel.
    pixels = [_pixels(e.image) for e in examples]
    sizes = np.array([p.shape for p in pixels], np.int32)
    padded = np.zeros((len(pixels), *sizes.max(axis=0)), np.uint8)
    for i, p in enumerate(pixels):
        padded[i, : p.shape[0], : p.shape[1], : p.shape[2]] = p
    found = tf.data.Dataset.from_tensor_slices((padded, sizes)).map(
        lambda image, size: preprocess(image[: size[0], : size[1], : size[2]], model),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    out = [batch.numpy() for batch in found.batch(256)]
    return np.concatenate(out) if out else _empty(model)


def _empty(model: ModelConfig) -> np.ndarray:
    return np.zeros((0, model.height, model.width, model.channels), np.float32)
