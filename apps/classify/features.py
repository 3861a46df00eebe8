"""classify's text in the graph: lowercased words (or subword pieces) to ids, with core ops.

Training, evaluation and the SavedModel all turn texts into ids with
``encode``, one graph function (``tf.strings.lower`` with UTF-8, then
``rnnkit.text``'s tokenisation and vocabulary table), so what the model
reads in serving is what it read in training. A text is cut to its first
``max_words`` tokens; a text with no tokens reads one ``<unk>``, so every
text has a word to pool over.

A run keeps its vocabulary (``vocab.json``) and its class names
(``classes.json``), both assets of its SavedModel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rnnkit.errors import InputError
from rnnkit.text import PAD_ID, UNK_ID, Vocabulary, tokenize

VOCAB, CLASSES = "vocab.json", "classes.json"


def build_vocabulary(texts: Sequence[str], size: int, min_count: int = 1, subwords=False):
    """The vocabulary of the (lowercased) training texts."""
    return Vocabulary.build([t.lower() for t in texts], size, min_count, subwords=subwords)


def words(texts):
    """``[batch]`` strings -> ``[batch, (words)]`` ragged strings: lowercased, split."""
    import tensorflow as tf

    return tokenize(tf.strings.lower(texts, encoding="utf-8"))


def encode(texts, vocab: Vocabulary, table, max_words: int):
    """``[batch]`` strings -> ``(ids [batch, T] int32 <pad>-padded, tokens [batch, T]
    string, "" past each end)``: at most ``max_words`` tokens a text, at least one."""
    import tensorflow as tf

    ids, tokens = vocab.lookup(words(texts), table)
    ids, tokens = ids[:, :max_words], tokens[:, :max_words]
    empty = tf.equal(ids.row_lengths(), 0)
    ids, tokens = ids.to_tensor(PAD_ID), tokens.to_tensor("")
    short = [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]]  # no column: one
    ids, tokens = tf.pad(ids, short, constant_values=PAD_ID), tf.pad(tokens, short)
    first = tf.range(tf.shape(ids)[1])[tf.newaxis, :] == 0
    ids = tf.where(empty[:, tf.newaxis] & first, UNK_ID, ids)
    return ids, tokens


class Encoder:
    """``encode`` with a run's vocabulary, for Python callers: texts -> numpy ids."""

    def __init__(self, vocab: Vocabulary, max_words: int):
        import tensorflow as tf

        self.vocab, self.max_words = vocab, max_words
        self.table = vocab.table()
        self._encode = tf.function(
            lambda texts: encode(texts, vocab, self.table, max_words),
            input_signature=[tf.TensorSpec([None], tf.string)],
        )

    def __call__(self, texts: Sequence[str], batch: int = 4096):
        """``(ids [n, T] int32, tokens [n, T] str)``, padded to the longest of all."""
        import numpy as np

        ids, tokens = [], []
        for start in range(0, len(texts), batch):
            found = self._encode(np.array(list(texts[start : start + batch]), object))
            ids.append(found[0].numpy())
            tokens.append(found[1].numpy())
        width = max((x.shape[1] for x in ids), default=1)
        pad = lambda x, value: np.pad(x, [(0, 0), (0, width - x.shape[1])], constant_values=value)
        return (
            np.concatenate([pad(x, PAD_ID) for x in ids]) if ids else np.zeros((0, 1), np.int32),
            np.concatenate([pad(x, b"") for x in tokens]) if tokens else np.zeros((0, 1), object),
        )


def save_classes(path: str | Path, classes: Sequence[str]) -> None:
    from rnnkit.files import write_text

    write_text(path, json.dumps({"classes": list(classes)}, ensure_ascii=False) + "\n")


def load_classes(path: str | Path) -> list[str]:
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8")).get("classes")
    except (OSError, ValueError, AttributeError) as e:
        raise InputError(f"{path} is not a class list: {e}") from None
    if not (
        isinstance(found, list)
        and len(found) >= 2
        and all(isinstance(c, str) and c for c in found)
        and len(set(found)) == len(found)
    ):
        raise InputError(f"{path} is not a class list: it needs two or more distinct names")
    return found


def load_run_files(folder: str | Path) -> tuple[Vocabulary, list[str]]:
    """A run's (or a SavedModel's assets') vocabulary and class names."""
    folder = Path(folder)
    return Vocabulary.load(folder / VOCAB), load_classes(folder / CLASSES)


def ordered_classes(labels) -> list[str]:
    """The class names of ``labels``: numbers in numeric order, words alphabetically."""
    from apps.classify.data import is_number

    found = set(labels)
    if all(is_number(x) for x in found):
        return sorted(found, key=float)
    return sorted(found)
