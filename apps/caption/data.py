"""caption's data: captioned images, a vocabulary, and tf.data pipelines.

Every source ends in the same form: ``Example`` objects holding an image
(pixels, or a file to read) and its reference captions (one for the digit
strips, several for COCO and Flickr). Training pairs an image with each of
its references; evaluation scores a caption against all of them.

Images enter the model through ``preprocess``, the same TF function the
SavedModel runs on decoded bytes: converted to the model's channels, resized
with the aspect ratio kept and padded (``tf.image.resize_with_pad``) to the
model's height and width, scaled to [0, 1].
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.caption import strips
from apps.caption.config import DEGRADATIONS, DataConfig, ModelConfig
from apps.caption.features import decode_image, images
from rnnkit.errors import InputError
from rnnkit.files import inside
from rnnkit.tfds import load_prepared

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL = (PAD, START, END, UNK)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclasses.dataclass(frozen=True)
class Example:
    """One image with its reference captions (already lower-cased words)."""

    image: np.ndarray | str  # uint8 [h, w] or [h, w, c] pixels, or an image file's path
    references: tuple[str, ...]


def words(caption: str) -> list[str]:
    """Lower-cased word tokens: letters and digits, with a clitic kept ("dog's")."""
    return _WORD.findall(caption.lower())


def normalise(caption: str, where: str = "") -> str:
    found = words(caption)
    if not found:
        raise InputError(f"{where or 'a caption'} is empty (no words in {caption!r})")
    return " ".join(found)


class Vocabulary:
    """Token ids: ``<pad>`` 0, ``<start>`` 1, ``<end>`` 2, ``<unk>`` 3, then words.

    Words are ordered by training count (most frequent first, ties by the
    word), and those seen fewer than ``min_count`` times are left out.
    """

    def __init__(self, tokens: Sequence[str]):
        if tuple(tokens[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"a vocabulary starts with {SPECIAL}. Received: {tuple(tokens[:4])}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, captions: Sequence[str], min_count: int = 1) -> Vocabulary:
        counts = collections.Counter(w for c in captions for w in words(c))
        kept = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls([*SPECIAL, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, caption: str, max_length: int) -> np.ndarray:
        """``[<start>, w1 .. wn, <end>, <pad> ...]``: ``max_length + 2`` ids (longer ones cut)."""
        ids = [self.index.get(w, 3) for w in words(caption)][:max_length]
        row = np.zeros(max_length + 2, np.int32)
        row[: len(ids) + 2] = [1, *ids, 2]
        return row

    def decode(self, ids: Sequence[int]) -> str:
        """Words up to the first ``<end>``; start and padding dropped."""
        out = []
        for i in ids:
            if i == 2:
                break
            if i > 2:
                out.append(self.tokens[i])
        return " ".join(out)

    def save(self, path: Path) -> None:
        from rnnkit.files import write_text

        write_text(path, "\n".join(self.tokens) + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        return cls(Path(path).read_text().splitlines())


# -- sources -------------------------------------------------------------------------------


def digit_examples(config: DataConfig, split: str, n: int, seed: int) -> list[Example]:
    made = strips.strips(split, n, seed, config.style, config.max_digits, config.corpus_seed)
    return [Example(s.image, (s.caption,)) for s in made]


_PNG, _JPEG = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
_MAGIC = (_PNG, _JPEG, b"GIF87a", b"GIF89a", b"BM")


def check_image_file(path: str, where: str) -> None:
    """Refuses an image file that is empty, not PNG/JPEG/GIF/BMP, or cut short.

    It reads a file's first and last bytes only (a whole PNG ends with its
    IEND chunk, a JPEG with the EOI marker), so that a data set's bad file is
    named at load instead of failing the input pipeline mid-epoch; a file
    that looks cut short is decoded to be sure.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(16)
            f.seek(max(os.fstat(f.fileno()).st_size - 32, 0))
            tail = f.read()
    except OSError as e:
        raise InputError(f"{where}: cannot read image file {path}: {e.strerror}") from None
    if not head:
        raise InputError(f"{where}: image file {path} is empty")
    if not head.startswith(_MAGIC):
        raise InputError(f"{where}: image file {path} is not a PNG, JPEG, GIF or BMP image")
    if head.startswith(_PNG) and b"IEND" in tail:
        return
    if head.startswith(_JPEG) and tail.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
        return
    if head.startswith((_PNG, _JPEG)):
        try:
            tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
            raise InputError(
                f"{where}: image file {path} cannot be decoded (cut short or damaged)"
            ) from None


def _find_image(name: str, folders: Sequence[Path], where: str) -> str:
    """The first of ``folders`` that holds ``name``; a name that leaves a folder is refused."""
    for folder in folders:
        path = inside(folder, name, f"{where}: image file name")
        if path.is_file():
            check_image_file(str(path), where)
            return str(path)
    shown = ", ".join(str(f) for f in folders)
    raise InputError(f"{where}: image file {name!r} not found (looked in {shown})")


def read_coco(path: str | Path) -> list[Example]:
    """A COCO captions file: ``{"images": [{"id", "file_name"}], "annotations": [{"image_id",
    "caption"}]}``, its images beside it (the file's folder, ``images/``, or the
    ``../<split>`` folder that ``annotations/captions_<split>.json`` names)."""
    path = Path(path)
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path} is not a JSON file: {e}") from None
    if not isinstance(found, dict) or not {"images", "annotations"} <= set(found):
        raise InputError(f"{path} is not a COCO captions file: it needs 'images' and 'annotations'")
    for key in ("images", "annotations"):
        if not isinstance(found[key], list):
            raise InputError(f"{path}: '{key}' must be a list, not {type(found[key]).__name__}")
    folders = [path.parent, path.parent / "images"]
    if path.stem.startswith("captions_"):
        folders.append(path.parent.parent / path.stem.removeprefix("captions_"))
    files = {}
    for image in found["images"]:
        try:
            files[image["id"]] = image["file_name"]
        except (KeyError, TypeError):
            raise InputError(
                f"{path}: an image entry lacks 'id' or 'file_name': {image!r}"
            ) from None
        inside(path.parent, files[image["id"]], f"{path}: image file name")
    captions = collections.defaultdict(list)
    for n, note in enumerate(found["annotations"]):
        try:
            image_id, caption = note["image_id"], note["caption"]
        except (KeyError, TypeError):
            raise InputError(f"{path}: annotation {n} lacks 'image_id' or 'caption'") from None
        if image_id not in files:
            raise InputError(f"{path}: annotation {n} is for image {image_id!r}, not in 'images'")
        captions[image_id].append(normalise(str(caption), f"{path}: annotation {n}'s caption"))
    if not captions:
        raise InputError(f"{path} holds no captions")
    return [
        Example(_find_image(files[i], folders, str(path)), tuple(refs))
        for i, refs in sorted(captions.items(), key=lambda kv: files[kv[0]])
    ]


def read_flickr(path: str | Path) -> list[Example]:
    """The Flickr8k layout: ``Flickr8k.token.txt`` (``NAME.jpg#N<TAB>caption``) or Kaggle's
    ``captions.txt`` (CSV ``image,caption``), with the images in ``Flicker8k_Dataset/``,
    ``Flickr8k_Dataset/``, ``Images/`` or ``images/`` (or beside the file)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    text_file = path if path.is_file() else None
    for name in ("Flickr8k.token.txt", "captions.txt"):
        if text_file is None and (folder / name).is_file():
            text_file = folder / name
    if text_file is None:
        raise InputError(f"{path}: no Flickr8k.token.txt or captions.txt in it")
    try:
        lines = text_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {text_file}: {e}") from None
    captions: dict[str, list[str]] = collections.defaultdict(list)
    csv_layout = bool(lines) and lines[0].strip().lower().replace(" ", "") == "image,caption"
    for number, line in enumerate(lines[1:] if csv_layout else lines, 2 if csv_layout else 1):
        if not line.strip():
            continue
        if csv_layout:
            name, comma, caption = line.partition(",")
            ok = bool(comma and name.strip() and caption.strip())
        else:
            key, tab, caption = line.partition("\t")
            name, hash_, index = key.partition("#")
            ok = bool(tab and hash_ and index.strip().isdigit() and name.strip())
        if not ok:
            layout = "image,caption" if csv_layout else "NAME.jpg#N<TAB>caption"
            raise InputError(f"{text_file}, line {number}: expected {layout}, got {line[:80]!r}")
        caption = caption.strip().strip('"')
        captions[name.strip()].append(normalise(caption, f"{text_file}, line {number}"))
    if not captions:
        raise InputError(f"{text_file} holds no captions")
    folders = [folder / d for d in ("Flicker8k_Dataset", "Flickr8k_Dataset", "Images", "images")]
    folders = [f for f in folders if f.is_dir()] + [folder]
    return [
        Example(_find_image(name, folders, str(text_file)), tuple(refs))
        for name, refs in sorted(captions.items())
    ]


def read_tfds(name: str, data_dir: str | None, limit: int) -> dict[str, list[Example]]:
    """TFDS ``coco_captions``, prepared beforehand (rnnkit never downloads)."""
    if name != "coco_captions":
        raise InputError(f"unknown TFDS captions data set {name!r}; known: ('coco_captions',)")
    splits = load_prepared(name, ["train", "val", "test"], data_dir)
    parts = {}
    for split, data in zip(("train", "validation", "test"), splits):
        parts[split] = [
            Example(
                x["image"].numpy(),
                tuple(normalise(t.decode("utf-8"), name) for t in x["captions"]["text"].numpy()),
            )
            for x in data.take(limit)
        ]
    return parts


def split_examples(examples: list[Example], config: DataConfig) -> dict[str, list[Example]]:
    """Held-out images for a user's set: ``validation`` and ``test`` of them (each at most
    a tenth), chosen by ``corpus_seed``; the rest trains."""
    if len(examples) < 3:
        raise InputError(f"{len(examples)} captioned images are too few: need at least 3")
    order = np.random.default_rng(config.corpus_seed).permutation(len(examples))
    n_val = max(1, min(config.validation, len(examples) // 10))
    n_test = max(1, min(config.test, len(examples) // 10))
    pick = lambda idx: [examples[i] for i in sorted(idx)]
    return {
        "train": pick(order[n_val + n_test :]),
        "validation": pick(order[:n_val]),
        "test": pick(order[n_val : n_val + n_test]),
    }


def read_source(source: str, config: DataConfig) -> list[Example] | dict[str, list[Example]]:
    kind, _, rest = source.partition(":")
    if kind == "coco" and rest:
        return read_coco(rest)
    if kind == "flickr" and rest:
        return read_flickr(rest)
    if kind == "tfds" and rest:
        return read_tfds(rest, config.data_dir, config.strips)
    raise InputError(
        f"unknown data source {source!r}: expected digits, coco:PATH, flickr:PATH "
        "or tfds:coco_captions"
    )


def load(config: DataConfig) -> dict[str, list[Example]]:
    """The fixed splits: ``train`` (for the vocabulary and the baselines), ``validation``, ``test``.

    For the digit strips, ``train`` is the first epoch's strips; training
    composes new ones every epoch (``train_examples``).
    """
    if config.source == "digits":
        return {
            "train": digit_examples(config, "train", config.strips, seed=0),
            "validation": digit_examples(config, "validation", config.validation, seed=0),
            "test": digit_examples(config, "test", config.test, seed=0),
        }
    found = read_source(config.source, config)
    return found if isinstance(found, dict) else split_examples(found, config)


def load_all(config: DataConfig) -> list[Example]:
    """Every image of a source, to score a trained run on (``evaluate --data``)."""
    if config.source == "digits":
        return load(config)["test"]
    found = read_source(config.source, config)
    return [e for part in found.values() for e in part] if isinstance(found, dict) else found


def train_examples(config: DataConfig, epoch: int) -> list[Example]:
    """The digit strips of one training epoch: new ones every epoch, drawn with
    ``config.augmented`` when ``config.augment`` is on, degraded with
    ``config.degrade``."""
    style = config.augmented if config.augment else config.style
    if config.degrade:
        style = dataclasses.replace(style, **DEGRADATIONS)
    return digit_examples(dataclasses.replace(config, style=style), "train", config.strips, epoch)


# -- pipelines -----------------------------------------------------------------------------


def pairs(examples: Sequence[Example], vocab: Vocabulary, config: DataConfig) -> tuple:
    """``(image index [m], tokens [m, length + 2])``: one row per reference caption.

    ``length`` is the longest caption's, at most ``max_length``: the
    decoder unrolls over it in training, so it is fixed for a data set.
    """
    index, tokens = [], []
    for i, example in enumerate(examples):
        for reference in example.references:
            index.append(i)
            tokens.append(vocab.encode(reference, config.max_length))
    tokens = np.stack(tokens)
    width = int((tokens > 0).sum(axis=1).max())
    return np.asarray(index, np.int32), tokens[:, :width]


def inputs(examples: Sequence[Example], model: ModelConfig) -> np.ndarray | list[str]:
    """What ``dataset`` reads images from: model inputs for in-memory images, else file paths."""
    if examples and isinstance(examples[0].image, str):
        return [e.image for e in examples]
    return images(examples, model)


def dataset(
    source: np.ndarray | list[str],
    index: np.ndarray,
    tokens: np.ndarray,
    batch_size: int,
    model: ModelConfig,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Batches of ``({"image", "tokens"}, tokens)``.

    ``source``: the images' model inputs (``images``), or their file paths,
    read and decoded in parallel as the batches are made.
    """
    data = tf.data.Dataset.from_tensor_slices((index, tokens))
    if shuffle_seed is not None:
        data = data.shuffle(len(index), seed=shuffle_seed, reshuffle_each_iteration=False)
    if isinstance(source, np.ndarray):
        table = tf.constant(source)
        return (
            data.batch(batch_size)
            .map(lambda idx, toks: ({"image": tf.gather(table, idx), "tokens": toks}, toks))
            .prefetch(tf.data.AUTOTUNE)
        )
    paths = tf.constant(source)
    data = data.map(
        lambda idx, toks: (decode_image(tf.io.read_file(paths[idx]), model), toks),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return (
        data.batch(batch_size)
        .map(lambda image, toks: ({"image": image, "tokens": toks}, toks))
        .prefetch(tf.data.AUTOTUNE)
    )


VOCAB_FILE = "vocab.txt"


def load_vocabulary(run_dir: Path) -> Vocabulary:
    return Vocabulary.load(Path(run_dir) / VOCAB_FILE)
