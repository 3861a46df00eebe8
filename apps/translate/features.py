"""translate's text in the graph: words with core TF string ops, and their vocabularies.

A SavedModel for TF Serving takes raw strings, so the same tokenisation
runs in Python (building vocabularies, tests) and in the graph (training
data, the export), with core ops only (no tensorflow-text, which a stock
TF Serving lacks):

- ``tokenize``: punctuation split off the words (``regex_replace``), then
  whitespace (``strings.split``). Case is kept: German capitalises nouns,
  and BLEU is computed on cased text. NFKC normalisation has no core op;
  the typographic quotes and dashes Ding and Tatoeba use are mapped by
  regular expressions instead.
- ``Vocabulary``: the most frequent words of the training side, with
  ``<pad>`` (0), ``<unk>`` (1), ``<s>`` (2) and ``</s>`` (3) first; looked
  up with a ``StaticHashTable`` (unknown words map to ``<unk>``, which the
  decoder replaces by the source word it attends to most).
- ``detokenize``: words joined with spaces, the space before closing
  punctuation and after opening marks removed.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path

# A run's (and a SavedModel's assets') vocabulary files.
SOURCE_VOCAB, TARGET_VOCAB = "source_vocab.json", "target_vocab.json"
PAD, UNK, START, END = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, START, END)
PAD_ID, UNK_ID, START_ID, END_ID = range(4)

# Marks that stand alone as tokens.
PUNCTUATION = r"""([.,!?;:"()\[\]¿¡…])"""
# Typographic forms and their plain ones (what NFKC would not do anyway).
PLAIN = ((r"[’‘‚`]", "'"), (r"[“”„«»]", '"'), (r"[–—]", "-"), (r"\s+", " "))
# A comma or point between digits (12,50; 3.5) stays in its number: RE2 has
# no look-around, so it is swapped for a control character around the split
# (twice, for 1,2,3).
_IN_NUMBER = (r"(\d)([.,])(\d)", "\x01", "\x02")
# No space before these, none after those, when words are joined again.
_CLOSING = r""" ([.,!?;:)\]…])"""
_OPENING = r"""([(\[¿¡]) """


def plain(text: str) -> str:
    for pattern, replacement in PLAIN:
        text = re.sub(pattern, replacement, text)
    return text.strip()


def split_words(text: str) -> list[str]:
    """``tokenize`` in Python: the same words, for building vocabularies."""
    text = plain(text)
    pattern, comma, point = _IN_NUMBER
    for _ in range(2):
        text = re.sub(pattern, lambda m: m[1] + (comma if m[2] == "," else point) + m[3], text)
    text = re.sub(PUNCTUATION, r" \1 ", text)
    return text.replace(comma, ",").replace(point, ".").split()


def tokenize(texts):
    """``[batch]`` strings -> ``[batch, (words)]`` ragged strings, as ``split_words`` does."""
    import tensorflow as tf

    for pattern, replacement in PLAIN:
        texts = tf.strings.regex_replace(texts, pattern, replacement)
    _, comma, point = _IN_NUMBER
    for _ in range(2):
        texts = tf.strings.regex_replace(texts, r"(\d),(\d)", r"\1" + comma + r"\2")
        texts = tf.strings.regex_replace(texts, r"(\d)\.(\d)", r"\1" + point + r"\2")
    texts = tf.strings.regex_replace(texts, PUNCTUATION, r" \1 ")
    texts = tf.strings.regex_replace(texts, comma, ",")
    texts = tf.strings.regex_replace(texts, point, ".")
    return tf.strings.split(tf.strings.strip(texts))


def detokenize(words):
    """``[batch, (words)]`` ragged strings -> ``[batch]`` strings."""
    import tensorflow as tf

    text = tf.strings.reduce_join(words, axis=-1, separator=" ")
    text = tf.strings.regex_replace(text, _CLOSING, r"\1")
    return tf.strings.regex_replace(text, _OPENING, r"\1")


def join_words(words: list[str]) -> str:
    """``detokenize`` in Python."""
    text = " ".join(words)
    return re.sub(_OPENING, r"\1", re.sub(_CLOSING, r"\1", text))


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """A side's words by id; ``SPECIALS`` first."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, texts: Iterable[str], size: int, min_count: int = 1) -> Vocabulary:
        """The ``size`` most frequent words of ``texts`` seen ``min_count`` times (ties by
        first appearance), after the specials."""
        counted = collections.Counter(w for text in texts for w in split_words(text))
        kept = [w for w, n in counted.most_common() if n >= min_count and w not in SPECIALS]
        return cls(SPECIALS + tuple(kept[: max(0, size - len(SPECIALS))]))

    def __len__(self) -> int:
        return len(self.words)

    @functools.cached_property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    def ids(self, text: str) -> list[int]:
        index = self.index
        return [index.get(w, UNK_ID) for w in split_words(text)]

    def coverage(self, texts: Iterable[str]) -> float:
        """The share of the words of ``texts`` the vocabulary knows."""
        known = set(self.words)
        words = [w for text in texts for w in split_words(text)]
        return sum(w in known for w in words) / max(1, len(words))

    def save(self, path: str | Path) -> None:
        from rnnkit.files import write_text

        write_text(path, json.dumps(list(self.words), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        from rnnkit.errors import InputError

        try:
            words = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"{path} is not a vocabulary: {e}") from None
        if not (isinstance(words, list) and tuple(words[:4]) == SPECIALS):
            raise InputError(f"{path} is not a vocabulary: it must list {SPECIALS} first")
        return cls(tuple(words))

    def table(self):
        """A ``StaticHashTable`` from words to ids (``<unk>`` for the rest)."""
        import tensorflow as tf

        init = tf.lookup.KeyValueTensorInitializer(
            tf.constant(self.words), tf.range(len(self.words), dtype=tf.int64)
        )
        return tf.lookup.StaticHashTable(init, default_value=UNK_ID)
