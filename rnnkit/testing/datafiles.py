"""Data files as users bring them, written for a test: images and a COCO captions file."""

import json
from pathlib import Path

import numpy as np


def write_images(folder: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` random RGB images of random sizes, PNG and JPEG in turn; their names."""
    import tensorflow as tf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        shape = (int(rng.integers(20, 60)), int(rng.integers(30, 90)), 3)
        pixels = tf.constant(rng.integers(0, 255, shape), tf.uint8)
        name = f"im{i}.jpg" if i % 2 else f"im{i}.png"
        encoded = tf.io.encode_jpeg(pixels) if i % 2 else tf.io.encode_png(pixels)
        (folder / name).write_bytes(encoded.numpy())
        names.append(name)
    return names


def write_coco(root: Path, n: int = 12, names: list[str] | None = None) -> Path:
    """``root/annotations/captions_val2017.json`` with three captions per image.

    The images are written to ``root/val2017``; ``names`` replaces their
    file names in the captions file (a hostile one names ``../../x.png``).
    """
    written = write_images(root / "val2017", n)
    names = names or written
    colours = ["red", "green", "blue"]
    notes = [
        {"image_id": 100 + i, "caption": f"A {colours[i % 3]} square, number {k}."}
        for i in range(len(names))
        for k in range(3)
    ]
    coco = {
        "images": [{"id": 100 + i, "file_name": name} for i, name in enumerate(names)],
        "annotations": notes,
    }
    path = root / "annotations" / "captions_val2017.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco))
    return path
