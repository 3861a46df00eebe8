"""textgen's data: text sources, the character vocabulary, and tf.data pipelines.

Sources (``--data``):

- ``embedded`` (default): six Shakespeare tragedies shipped with rnnkit;
- ``file:PATH``: a UTF-8 text file, or a folder whose files are all read
  (sorted by name, joined with blank lines);
- ``tfds:tiny_shakespeare``: the TFDS data set, prepared under ``--data-dir``
  (rnnkit never downloads).

The embedded and file sources hold out their last ``val_fraction`` as the
validation split (cut at a line break); TFDS data sets bring their own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.textgen.config import DataConfig
from rnnkit.errors import InputError
from rnnkit.files import write_json
from rnnkit.tbptt import stream_windows
from rnnkit.tfds import load_prepared

EMBEDDED = Path(__file__).parent / "assets" / "shakespeare.txt"
VOCAB_FILE = "vocab.json"
MIN_CHARS = 1000
TFDS_TEXT_DATASETS = ("tiny_shakespeare",)


# -- sources -------------------------------------------------------------------------------


def _read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    if b"\0" in raw[:65536]:
        raise InputError(f"{path} is a binary file, not UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path} is not UTF-8 text (byte {e.start}: {raw[e.start]:#04x})"
        ) from None


def _read_path(spec: str) -> str:
    path = Path(spec).expanduser()
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputError(f"the folder {path} holds no files")
        return "\n\n".join(_read_text_file(p) for p in files)
    return _read_text_file(path)


def _split(text: str, val_fraction: float) -> tuple[str, str]:
    cut = int(len(text) * (1 - val_fraction))
    newline = text.rfind("\n", 0, cut)
    cut = newline + 1 if newline > len(text) // 2 else cut
    return text[:cut], text[cut:]


def _load_tfds(name: str, data_dir: str | None) -> tuple[str, str]:
    if name not in TFDS_TEXT_DATASETS:
        raise InputError(f"unknown TFDS text data set {name!r}; known: {TFDS_TEXT_DATASETS}")
    splits = load_prepared(name, ["train", "validation"], data_dir)
    texts = []
    for split in splits:
        texts.append("".join(x["text"].numpy().decode("utf-8") for x in split))
    return texts[0], texts[1]


def load_text(config: DataConfig) -> tuple[str, str]:
    """``(train_text, val_text)`` for the configured source; ``InputError`` on bad input."""
    kind, _, rest = config.source.partition(":")
    if config.source == "embedded" or (kind == "file" and rest):
        text = EMBEDDED.read_text(encoding="utf-8") if kind == "embedded" else _read_path(rest)
        if not text.strip():
            raise InputError(f"{rest} holds no text")
        train, val = _split(text[: config.max_chars], config.val_fraction)
    elif kind == "tfds" and rest:
        train, val = _load_tfds(rest, config.data_dir)
    else:
        raise InputError(
            f"unknown --data {config.source!r}: use 'embedded', 'file:PATH' or "
            "'tfds:tiny_shakespeare'"
        )
    needed = max(MIN_CHARS, 4 * (config.seq_len + 1))
    if len(train) + len(val) < needed:
        raise InputError(
            f"{config.source} is too short: {len(train) + len(val)} characters, "
            f"at least {needed} are needed"
        )
    return train, val


# -- vocabulary ----------------------------------------------------------------------------


class Vocab:
    """Characters <-> ids. Id 0 stands for any character not seen in training."""

    UNKNOWN = 0

    def __init__(self, chars):
        self.chars = ["", *chars]
        self.ids = {c: i for i, c in enumerate(self.chars) if c}

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        return np.array([self.ids.get(c, self.UNKNOWN) for c in text], dtype=np.int32)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def save(self, run_dir: str | os.PathLike) -> None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        write_json(Path(run_dir) / VOCAB_FILE, {"chars": self.chars[1:]})

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> Vocab:
        path = Path(run_dir) / VOCAB_FILE
        if not path.is_file():
            raise InputError(f"{run_dir} has no {VOCAB_FILE}")
        return cls(json.loads(path.read_text())["chars"])


# -- pipelines -----------------------------------------------------------------------------


def random_windows(ids: np.ndarray, seq_len: int, batch_size: int, seed: int) -> tf.data.Dataset:
    """Stateless training: ``len // seq_len`` windows at random offsets, different each seed.

    Yields ``(inputs, targets)`` batches of ``[batch, seq_len]``.
    """
    count = (len(ids) - 1) // seq_len
    starts = np.random.default_rng(seed).integers(0, len(ids) - seq_len, size=count)
    windows = ids[starts[:, None] + np.arange(seq_len + 1)]
    return (
        tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:]))
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


def stream_batches(ids: np.ndarray, window: int, batch_size: int, offset: int) -> tf.data.Dataset:
    """Stateful (TBPTT) training: the stream laid out char-rnn style in ``batch_size`` rows.

    Window ``n + 1`` continues window ``n`` row by row. Yields ``(inputs,
    targets, first)``; ``first`` ([batch] bool) is true on the first window,
    where the carried state starts from zero. ``offset`` shifts the stream so
    that each epoch cuts it at other places.
    """
    inputs, targets = stream_windows(ids[offset:], batch_size, window)
    first = np.zeros(inputs.shape[:2], dtype=bool)
    first[0] = True
    return tf.data.Dataset.from_tensor_slices((inputs, targets, first)).prefetch(tf.data.AUTOTUNE)


def val_windows(ids: np.ndarray, seq_len: int, batch_size: int) -> tf.data.Dataset:
    """Consecutive, non-overlapping validation windows."""
    count = (len(ids) - 1) // seq_len
    windows = ids[np.arange(count)[:, None] * seq_len + np.arange(seq_len + 1)]
    return tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:])).batch(batch_size)
