"""The embedded data: strips of real handwritten digits, captioned with their words.

``assets/digits.npz`` holds 5,000 MNIST digits (see ``assets/ATTRIBUTION.md``).
They are split once by digit image (80% train, 10% validation, 10% test), so
the test strips are written with digit images never seen in training. A strip
is 1 to ``max_digits`` digits left to right on a dark background, each with
its own scale, rotation, stroke thickness and vertical jitter, with random
gaps between them and Gaussian noise over all; its caption is the digits'
words ("six five two"). Composition is NumPy and SciPy, seeded: the same
seed gives the same strip, and every training epoch draws new ones.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from apps.caption.config import StripStyle

DIGITS_FILE = Path(__file__).with_name("assets") / "digits.npz"
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPLITS = ("train", "validation", "test")
DEFAULT_STYLE = StripStyle()
HEIGHT = 32  # the strip's height in pixels; its width follows from the digits
ELASTIC_SIGMA = 4.0  # pixels: how smooth an elastic distortion's displacement field is


@functools.cache
def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """``(images [5000, 28, 28] uint8, labels [5000] uint8)``, white on black."""
    with np.load(DIGITS_FILE) as data:
        return data["images"], data["labels"]


def split_indices(split: str, seed: int = 0) -> np.ndarray:
    """The digit images of one split: disjoint, 80 / 10 / 10% of each class."""
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}. Received: split={split!r}")
    _, labels = digit_images()
    rng = np.random.default_rng([seed, 7])
    chosen = []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n = len(members)
        bounds = {"train": (0, n * 8 // 10), "validation": (n * 8 // 10, n * 9 // 10)}
        low, high = bounds.get(split, (n * 9 // 10, n))
        chosen.append(members[low:high])
    return np.sort(np.concatenate(chosen))


@dataclasses.dataclass(frozen=True)
class Strip:
    image: np.ndarray  # [HEIGHT, width] uint8
    digits: tuple[int, ...]
    boxes: tuple[tuple[int, int], ...]  # each digit's (left, right) column, right exclusive

    @property
    def caption(self) -> str:
        return " ".join(WORDS[d] for d in self.digits)


def _elastic(glyph: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Simard et al.'s elastic distortion: each pixel moved by a smooth random field."""
    shape = glyph.shape
    dy, dx = (
        ndimage.gaussian_filter(rng.uniform(-1, 1, shape), ELASTIC_SIGMA) * strength
        for _ in range(2)
    )
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    return ndimage.map_coordinates(glyph, [rows + dy, cols + dx], order=1, mode="constant")


def _draw_digit(image: np.ndarray, rng: np.random.Generator, style: StripStyle) -> np.ndarray:
    """One digit, scaled, rotated, thinned or thickened, cropped to its ink (float 0-255)."""
    glyph = image.astype(np.float32)
    if style.elastic:
        glyph = _elastic(glyph, rng, rng.uniform(0, style.elastic))
    glyph = ndimage.rotate(
        glyph, rng.uniform(-style.rotation, style.rotation), reshape=True, order=1
    )
    glyph = ndimage.zoom(glyph, rng.uniform(*style.scale), order=1)
    if style.aspect != (1.0, 1.0):
        glyph = ndimage.zoom(glyph, (1.0, rng.uniform(*style.aspect)), order=1)
    stroke = rng.random()
    size = (style.stroke, style.stroke)
    if stroke < style.thin:
        glyph = ndimage.grey_erosion(glyph, size=size)
    elif stroke > 1 - style.thick:
        glyph = ndimage.grey_dilation(glyph, size=size)
    ink = glyph > 40
    if not ink.any():  # eroded away: keep the undamaged digit
        glyph = image.astype(np.float32)
        ink = glyph > 40
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    glyph = glyph[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if glyph.shape[0] > HEIGHT - 2:  # a tall rotated digit: fit it in the strip
        glyph = ndimage.zoom(glyph, (HEIGHT - 2) / glyph.shape[0], order=1)
    if style.low_res and rng.random() < style.low_res:
        glyph = _low_resolution(glyph, rng, style.low_height)
    return np.clip(glyph, 0, 255)


def _low_resolution(glyph: np.ndarray, rng: np.random.Generator, heights) -> np.ndarray:
    """``glyph`` as if drawn ``heights`` pixels high and scaled back to its size:
    averaged down (a low-resolution sensor sees each pixel's mean), then up
    by nearest neighbour (blocky) or linearly (blurred)."""
    height = int(rng.integers(heights[0], heights[1] + 1))
    factor = height / glyph.shape[0]
    if factor >= 1:
        return glyph
    small = ndimage.zoom(ndimage.gaussian_filter(glyph, 0.5 / factor), factor, order=1)
    back = np.divide(glyph.shape, small.shape)
    return ndimage.zoom(small, back, order=int(rng.integers(0, 2)))[
        : glyph.shape[0], : glyph.shape[1]
    ]


def compose(
    indices: np.ndarray,
    rng: np.random.Generator,
    style: StripStyle = DEFAULT_STYLE,
    max_digits: int = 5,
    digits: Sequence[int] | None = None,
) -> Strip:
    """One strip of 1 to ``max_digits`` digit images drawn from ``indices``.

    ``digits``: the classes to write, in order (an image of each is drawn
    from ``indices``), instead of random ones.
    """
    images, labels = digit_images()
    if digits is None:
        count = int(rng.integers(1, max_digits + 1))
        chosen = rng.choice(indices, size=count)
    else:
        count = len(digits)
        chosen = np.array([rng.choice(indices[labels[indices] == d]) for d in digits])
    glyphs = [_draw_digit(images[i], rng, style) for i in chosen]
    gaps = rng.integers(style.gap[0], style.gap[1] + 1, size=max(count - 1, 0))
    margin = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    width = margin[0] + margin[1] + sum(g.shape[1] for g in glyphs) + int(gaps.sum())
    canvas = np.zeros((HEIGHT, width), np.float32)
    left, boxes = margin[0], []
    for n, glyph in enumerate(glyphs):
        h, w = glyph.shape
        top = (HEIGHT - h) // 2 + int(rng.integers(-style.jitter, style.jitter + 1))
        top = min(max(top, 0), HEIGHT - h)
        region = canvas[top : top + h, left : left + w]
        np.maximum(region, glyph, out=region)
        boxes.append((left, left + w))
        left += w + (int(gaps[n]) if n < len(gaps) else 0)
    canvas = canvas * rng.uniform(*style.contrast) + rng.uniform(0, 30)
    # Drawn only below one, so the strips drawn before this chance existed stay the same.
    if style.blur[1] > 0 and (style.blurred >= 1 or rng.uniform() < style.blurred):
        canvas = ndimage.gaussian_filter(canvas, rng.uniform(*style.blur))
    canvas += rng.normal(0, rng.uniform(0, style.noise), canvas.shape)
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return Strip(image, tuple(int(labels[i]) for i in chosen), tuple(boxes))


def strips(
    split: str,
    n: int,
    seed: int,
    style: StripStyle = DEFAULT_STYLE,
    max_digits: int = 5,
    corpus_seed: int = 0,
) -> list[Strip]:
    """``n`` strips of ``split``'s digit images; the same arguments give the same strips."""
    indices = split_indices(split, corpus_seed)
    rng = np.random.default_rng([corpus_seed, SPLITS.index(split), seed])
    return [compose(indices, rng, style, max_digits) for _ in range(n)]


def png_bytes(image: np.ndarray) -> bytes:
    """A grey (H, W) or colour (H, W, C) uint8 image as PNG bytes (Pillow: no TensorFlow)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8).squeeze()).save(buffer, format="PNG")
    return buffer.getvalue()
