"""Matplotlib figures as PNG bytes (files) and as images (TensorBoard samples)."""

import io

import numpy as np


def png(figure) -> bytes:
    """The figure as PNG file contents."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def image(figure) -> np.ndarray:
    """The figure as a ``[height, width, channels]`` uint8 array (a ``Task.samples`` image)."""
    import tensorflow as tf

    return tf.io.decode_png(png(figure)).numpy()
