"""classify's data: labelled texts, split so that no group (a movie) is on two sides.

Sources:

- ``embedded`` (the default): 12,752 Rotten Tomatoes review snippets
  labelled ``positive`` or ``negative`` (``assets/snippets.csv.xz``, see its
  ATTRIBUTION.md), grouped by the movie they review.
- ``csv:PATH``: a UTF-8 CSV with a header; the texts in ``text_column``
  and their labels (any strings, any number of classes) in
  ``label_column``. Rows with the same text are one group.
- ``tfds:NAME``: a TFDS text classification set prepared under
  ``data_dir`` (never downloaded), e.g. ``imdb_reviews`` or ``glue/sst2``:
  its ``text`` (or ``sentence``) feature and its ``label`` class names. Its
  own test split (or, where the test labels are hidden as GLUE's are, its
  validation split) is the test split; a tenth of its training split
  (by a hash of the text) is the validation split.

The embedded texts and a CSV's are split 80/10/10 by group, stratified by
label (scikit-learn's ``StratifiedGroupKFold``, ten folds with a fixed seed:
fold 0 is the test split, fold 1 validation), the same on every machine.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import lzma
import warnings
from pathlib import Path

from rnnkit.errors import InputError

EMBEDDED = Path(__file__).with_name("assets") / "snippets.csv.xz"
SPLITS = ("train", "validation", "test")
MAX_TEXT = 100_000  # characters: a longer cell in a user's file is an error, not a text
FOLDS = 10  # 80/10/10
TFDS_TEXT = ("text", "sentence", "review", "content")


@dataclasses.dataclass(frozen=True)
class Labelled:
    """Texts and their labels (class names), in one order."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, n: int | None) -> Labelled:
        return self if n is None else Labelled(self.texts[:n], self.labels[:n])


def split_by_group(texts, labels, groups) -> dict[str, Labelled]:
    """80/10/10 by group, stratified by label, the same on every machine."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    if len(set(groups)) < FOLDS:
        raise InputError(
            f"need at least {FOLDS} different texts (groups) to split 80/10/10, not "
            f"{len(set(groups))}"
        )
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=0)
    fold = np.zeros(len(texts), int)
    with warnings.catch_warnings():  # a class with fewer than ten members is fine
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, held) in enumerate(folds.split(np.zeros(len(texts)), labels, groups)):
            fold[held] = k
    chosen = {"test": fold == 0, "validation": fold == 1, "train": fold >= 2}
    return {
        split: Labelled(
            tuple(t for t, m in zip(texts, chosen[split]) if m),
            tuple(y for y, m in zip(labels, chosen[split]) if m),
        )
        for split in SPLITS
    }


def load_embedded() -> dict[str, Labelled]:
    rows = list(csv.DictReader(io.StringIO(lzma.decompress(EMBEDDED.read_bytes()).decode())))
    texts, labels, movies = ([r[k] for r in rows] for k in ("text", "label", "movie"))
    return split_by_group(texts, labels, movies)


def read_csv(path: str | Path, text_column: str = "text", label_column: str = "label") -> Labelled:
    """A user's labelled file, whole; every problem is one line naming the file (and line)."""
    from rnnkit.files import read_utf8

    path = Path(path)
    text = read_utf8(path, "a UTF-8 CSV file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise InputError(f"{path} is empty: it needs a header and labelled rows")
        header = [h.strip() for h in header]
        for column, flag in ((text_column, "--text-column"), (label_column, "--label-column")):
            if column not in header:
                raise InputError(
                    f"{path} has no column {column!r} ({flag}); its columns: {', '.join(header)}"
                )
        at_text, at_label = header.index(text_column), header.index(label_column)
        texts, labels = [], []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            where = f"{path}:{reader.line_num}"
            if len(row) <= max(at_text, at_label):
                raise InputError(f"{where}: {len(row)} columns, the header has {len(header)}")
            found, label = row[at_text].strip(), row[at_label].strip()
            if not found:
                raise InputError(f"{where}: the text ({text_column!r}) is empty")
            if not label:
                raise InputError(f"{where}: the label ({label_column!r}) is empty")
            if len(found) > MAX_TEXT:
                raise InputError(f"{where}: {len(found)} characters, over the limit of {MAX_TEXT}")
            texts.append(found)
            labels.append(label)
    except csv.Error as e:
        raise InputError(f"{path}:{reader.line_num}: not CSV: {e}") from None
    if not texts:
        raise InputError(f"{path} holds no labelled rows")
    return Labelled(tuple(texts), tuple(labels))


def _hash_share(text: str) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % FOLDS


def read_tfds(name: str, data_dir: str | None, limit: int | None = None) -> dict[str, Labelled]:
    """A prepared TFDS text classification set's train, validation and test splits."""
    import tensorflow_datasets as tfds

    from rnnkit.tfds import load_prepared

    [train] = load_prepared(name, ["train"], data_dir)
    info = tfds.builder(name, data_dir=data_dir).info
    features = info.features
    text_key = next((k for k in TFDS_TEXT if k in features), None)
    if text_key is None or "label" not in features:
        raise InputError(f"tfds:{name} has {sorted(features)}, not a text and a label")
    names = getattr(features["label"], "names", None)

    def labelled(found, take=None) -> Labelled:
        rows = []
        for example in (found.take(take) if take else found).as_numpy_iterator():
            label = int(example["label"])
            text = example[text_key].decode("utf-8").strip()
            if label >= 0 and text:  # GLUE's hidden test labels are -1
                rows.append((text, names[label] if names else str(label)))
        return Labelled(tuple(r[0] for r in rows), tuple(r[1] for r in rows))

    whole = labelled(train, limit and limit * FOLDS // (FOLDS - 1) + 1)
    held = [_hash_share(t) == 0 for t in whole.texts]
    pick = lambda keep: Labelled(
        *(tuple(x for x, h in zip(col, held) if h == keep) for col in (whole.texts, whole.labels))
    )
    test = None
    for split in ("test", "validation"):  # GLUE hides its test labels
        try:
            [found] = load_prepared(name, [split], data_dir)
        except (InputError, ValueError):  # a set without this split
            continue
        test = labelled(found)
        if len(test):
            break
    if not test:
        raise InputError(f"tfds:{name} has no labelled test or validation split")
    return {"train": pick(False), "validation": pick(True), "test": test}


def check_classes(parts: dict[str, Labelled], source: str) -> None:
    found = sorted(set(parts["train"].labels))
    if len(found) < 2:
        raise InputError(
            f"{source}: classification needs at least two classes; every training label is "
            f"{found[0]!r}"
            if found
            else f"{source}: no training texts"
        )


def load(
    source: str,
    data_dir: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    limit: int | None = None,
) -> dict[str, Labelled]:
    """The texts of ``--data SOURCE``, split into train, validation and test; with
    ``limit``, the first ``limit`` training texts only."""
    if source == "embedded":
        parts = load_embedded()
    elif source.startswith("csv:") and source[4:]:
        whole = read_csv(source[4:], text_column, label_column)
        parts = split_by_group(whole.texts, whole.labels, whole.texts)
    elif source.startswith("tfds:") and source[5:]:
        parts = read_tfds(source[5:], data_dir, limit)
    else:
        raise InputError(f"--data is embedded, csv:PATH or tfds:NAME, not {source!r}")
    parts["train"] = parts["train"].take(limit)
    check_classes(parts, source)
    return parts


def is_number(label: str) -> bool:
    try:
        float(label)
    except ValueError:
        return False
    return True
