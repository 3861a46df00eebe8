"""Text in the graph: words or subword pieces with core TF string ops.

A SavedModel for TF Serving takes raw strings, so the same tokenisation
runs in Python (building vocabularies, training data, tests) and in the
graph (the export) of every app that reads text (translate, classify),
with core ops only (no tensorflow-text, which a stock TF Serving lacks):

- ``tokenize``: punctuation split off the words (``regex_replace``), then
  whitespace (``strings.split``). Case is kept (an app lowercases before,
  with ``lower``, where case carries nothing). NFKC normalisation has no
  core op; typographic quotes and dashes are mapped by regular
  expressions instead.
- ``Vocabulary``: ``<pad>`` (0), ``<unk>`` (1), ``<s>`` (2) and ``</s>`` (3),
  then either the most frequent words of the training texts (the rest map
  to ``<unk>``), or subword pieces (``subwords``): a BPE vocabulary learnt
  by sentencepiece, plus every character of the training text, so a word
  in that alphabet is always spelt. Pieces that continue a word start with
  ``##``; a word becomes pieces longest first from its start, as WordPiece
  does (``pieces`` in Python, ``lookup`` in the graph with a
  ``StaticHashTable`` and a ``tf.while_loop`` over the word's characters).
- ``detokenize``: tokens joined with spaces (pieces without), the space
  before closing punctuation and after opening marks removed.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path

PAD, UNK, START, END = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, START, END)
PAD_ID, UNK_ID, START_ID, END_ID = range(4)
CONTINUES = "##"  # a subword piece that continues a word
# Longer words are one <unk> (WordPiece's limit, which keeps the graph's
# table of every start and length small).
MAX_WORD = 100

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


def detokenize(words, subwords: bool = False):
    """``[batch, (tokens)]`` ragged strings -> ``[batch]`` strings."""
    import tensorflow as tf

    text = tf.strings.reduce_join(words, axis=-1, separator=" ")
    if subwords:
        text = tf.strings.regex_replace(text, "(^| )" + CONTINUES, "")
    text = tf.strings.regex_replace(text, _CLOSING, r"\1")
    return tf.strings.regex_replace(text, _OPENING, r"\1")


def join_words(words: list[str]) -> str:
    """``detokenize`` in Python."""
    text = " ".join(words)
    return re.sub(_OPENING, r"\1", re.sub(_CLOSING, r"\1", text))


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """A side's tokens by id, ``SPECIALS`` first: words, or subword pieces."""

    words: tuple[str, ...]
    subwords: bool = False

    @classmethod
    def build(
        cls, texts: Iterable[str], size: int, min_count: int = 1, subwords: bool = False
    ) -> Vocabulary:
        """Words: the ``size`` most frequent words of ``texts`` seen ``min_count`` times (ties
        by first appearance), after the specials. Subwords: about ``size`` BPE pieces."""
        if subwords:
            return cls(SPECIALS + _learnt_pieces(texts, size - len(SPECIALS)), subwords=True)
        counted = collections.Counter(w for text in texts for w in split_words(text))
        kept = [w for w, n in counted.most_common() if n >= min_count and w not in SPECIALS]
        return cls(SPECIALS + tuple(kept[: max(0, size - len(SPECIALS))]))

    def __len__(self) -> int:
        return len(self.words)

    @functools.cached_property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    @functools.cached_property
    def longest(self) -> int:
        """The longest piece, in characters: at most ``MAX_WORD`` (no longer piece can
        match), which bounds the graph's loop over piece lengths whatever a vocabulary
        file holds."""
        found = max((len(w.removeprefix(CONTINUES)) for w in self.words[4:]), default=1)
        return min(found, MAX_WORD)

    @functools.cached_property
    def _spelt(self) -> dict[str, list[str]]:
        return {}

    def pieces(self, word: str) -> list[str]:
        """A word's tokens: itself (or ``<unk>``), or its pieces longest first."""
        if not self.subwords:
            return [word if word in self.index else UNK]
        spelt = self._spelt.get(word)
        if spelt is None:
            spelt, start, index = [], 0, self.index
            while start < len(word) <= MAX_WORD:
                for end in range(min(len(word), start + self.longest), start, -1):
                    piece = word[start:end] if start == 0 else CONTINUES + word[start:end]
                    if piece in index:
                        spelt.append(piece)
                        break
                else:  # no piece starts here: the whole word is unknown
                    break
                start = end
            if start < len(word):
                spelt = [UNK]
            self._spelt[word] = spelt
        return spelt

    def ids(self, text: str) -> list[int]:
        return self.word_ids(split_words(text))

    def word_ids(self, words: list[str]) -> list[int]:
        """The ids of words already split (``split_words``)."""
        index = self.index
        return [index.get(p, UNK_ID) for w in words for p in self.pieces(w)]

    def coverage(self, texts: Iterable[str]) -> float:
        """The share of the words of ``texts`` the vocabulary knows (or spells)."""
        words = [w for text in texts for w in split_words(text)]
        return sum(self.pieces(w) != [UNK] for w in words) / max(1, len(words))

    def save(self, path: str | Path) -> None:
        from rnnkit.files import write_text

        tokens = list(self.words)
        found = {"subwords": tokens} if self.subwords else tokens
        write_text(path, json.dumps(found, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        from rnnkit.errors import InputError

        try:
            tokens = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"{path} is not a vocabulary: {e}") from None
        subwords = isinstance(tokens, dict)
        if subwords:
            tokens = tokens.get("subwords")
        if not (
            isinstance(tokens, list)
            and all(isinstance(t, str) for t in tokens)
            and tuple(tokens[:4]) == SPECIALS
        ):
            raise InputError(
                f"{path} is not a vocabulary: it must list {SPECIALS} first, then strings"
            )
        return cls(tuple(tokens), subwords=subwords)

    def table(self):
        """A ``StaticHashTable`` from tokens to ids (``<unk>``, or -1 for pieces, for the
        rest)."""
        import tensorflow as tf

        init = tf.lookup.KeyValueTensorInitializer(
            tf.constant(self.words), tf.range(len(self.words), dtype=tf.int64)
        )
        return tf.lookup.StaticHashTable(init, default_value=-1 if self.subwords else UNK_ID)

    def lookup(self, words, table):
        """``[batch, (words)]`` ragged strings -> ``(ids [batch, (tokens)] int32, tokens
        [batch, (tokens)] string)``; an unknown word's token is the word itself."""
        import tensorflow as tf

        if not self.subwords:
            return tf.cast(table.lookup(words), tf.int32), words
        ids, tokens = _wordpieces(words.flat_values, table, self.words, self.longest)
        merge = lambda x: words.with_flat_values(x).merge_dims(1, 2)
        return merge(ids), merge(tokens)


def _learnt_pieces(texts: Iterable[str], size: int) -> tuple[str, ...]:
    """About ``size`` BPE pieces of the words of ``texts`` (sentencepiece), as WordPiece
    tokens, and every character both as a word's start and as its continuation."""
    import io

    import sentencepiece

    lines = [" ".join(split_words(text)) for text in texts]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=max(size, 8),
        model_type="bpe",
        character_coverage=1.0,
        normalization_rule_name="identity",  # the text is plain already
        hard_vocab_limit=False,  # a small corpus has fewer pieces than asked for
        bos_id=-1,
        eos_id=-1,
        minloglevel=2,
        num_threads=1,  # the same pieces on every machine
    )
    processor = sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())
    learnt = (processor.id_to_piece(i) for i in range(processor.get_piece_size()))
    found = {}  # ordered: sentencepiece's order, most useful first
    for piece in learnt:
        if processor.piece_to_id(piece) == processor.unk_id() or piece == "\u2581":
            continue
        found[piece[1:] if piece.startswith("\u2581") else CONTINUES + piece] = None
    alphabet = sorted({c for line in lines for c in line if not c.isspace()})
    for c in alphabet:
        found.setdefault(c, None)
        found.setdefault(CONTINUES + c, None)
    return tuple(t for t in found if t not in SPECIALS)


def _wordpieces(words, table, vocabulary, longest: int):
    """``words`` ``[W]`` strings -> ``(ids, tokens)`` ragged ``[W, (pieces)]``: each word's
    pieces longest first (``Vocabulary.pieces`` in the graph), or ``<unk>`` and the word.

    Every piece that could start at each character (``[W, chars, longest]``) is
    looked up at once; the loop then walks each word from piece to piece.
    """
    import tensorflow as tf

    chars = tf.strings.unicode_split(words, "UTF-8", errors="replace")
    lengths = tf.cast(chars.row_lengths(), tf.int32)
    dense = chars.to_tensor("")
    # At least one column, so the loop writes something even for no words.
    width = tf.maximum(tf.shape(dense)[1], 1)
    dense = tf.pad(dense, [[0, 0], [0, width - tf.shape(dense)[1]]], constant_values="")
    padded = tf.pad(dense, [[0, 0], [0, longest]], constant_values="")
    starts = tf.range(width)[tf.newaxis, :]
    piece, ids = dense, []
    for k in range(longest):  # pieces of k + 1 characters from each start
        if k:
            piece = tf.strings.join([piece, padded[:, k : k + width]])
        key = tf.where(starts == 0, piece, CONTINUES + piece)
        fits = starts + k + 1 <= lengths[:, tf.newaxis]
        ids.append(tf.where(fits, tf.cast(table.lookup(key), tf.int32), -1))
    ids = tf.stack(ids, -1)  # [W, chars, longest]

    def body(t, at, failed, out_ids):
        row = tf.gather(ids, tf.minimum(at, width - 1), batch_dims=1)  # [W, longest]
        found = row >= 0
        size = longest - tf.argmax(tf.reverse(tf.cast(found, tf.int32), [1]), 1, tf.int32)
        going = (at < lengths) & ~failed
        failed |= going & ~tf.reduce_any(found, 1)
        taken = going & ~failed
        chosen = tf.gather(row, size - 1, batch_dims=1)
        out_ids = out_ids.write(t, tf.where(taken, chosen, -1))
        return t + 1, tf.where(taken, at + size, at), failed, out_ids

    _, _, failed, out_ids = tf.while_loop(
        lambda t, *_: t < width,
        body,
        (
            0,
            tf.zeros([tf.shape(words)[0]], tf.int32),
            lengths > MAX_WORD,
            tf.TensorArray(tf.int32, size=width),
        ),
    )
    out_ids = tf.transpose(out_ids.stack())
    first = tf.range(width)[tf.newaxis, :] == 0
    unknown = failed[:, tf.newaxis] & first
    out_ids = tf.where(failed[:, tf.newaxis], tf.where(first, UNK_ID, -1), out_ids)
    # A piece's token is its vocabulary entry; an unknown word's, the word itself.
    tokens = tf.gather(tf.constant(vocabulary), tf.maximum(out_ids, 0))
    tokens = tf.where(unknown, words[:, tf.newaxis], tokens)
    kept = out_ids >= 0
    return tf.ragged.boolean_mask(out_ids, kept), tf.ragged.boolean_mask(tokens, kept)


# Examples are drawn in random windows of this many batches, sorted by length
# within each, so a batch holds sequences of about one length and its padding
# can be cut: a translate step of the sentences costs about 0.6 of one padded
# to ``max_words`` (11 steps/s against 6.7 at the quick size).
WINDOW_BATCHES = 32


def length_sorted_order(lengths, batch: int, rng):
    """A random order of the examples (``rng``: a numpy ``Generator`` or a seed), sorted by
    ``lengths`` within windows of ``WINDOW_BATCHES`` batches."""
    import numpy as np

    order = np.random.default_rng(rng).permutation(len(lengths))
    lengths = np.asarray(lengths)[order]
    window = batch * WINDOW_BATCHES
    for start in range(0, len(order), window):
        part = slice(start, start + window)
        order[part] = order[part][np.argsort(lengths[part], kind="stable")]
    return order
