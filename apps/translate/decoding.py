"""Translating text in a TensorFlow graph: raw strings in, strings out.

The same function serves ``evaluate`` (wrapped in ``tf.function``) and the
SavedModel's signatures, with core ops only:

1. ``features.tokenize`` splits the texts into words; the source vocabulary
   maps them to ids (words, or subword pieces; ``<unk>`` for unknown
   words); at most ``MAX_SOURCE`` tokens.
2. The model encodes them, and ``rnnkit.decoding`` searches (greedy, or a
   beam of ``beam``), each row at most ``1.5 x its source length + 5``
   tokens long.
3. The target ids become tokens. An ``<unk>`` is replaced by the source
   token the decoder attended to most at that step, so names and rare words
   survive (Luong et al., 2015's unknown-word replacement); how often that
   happens is returned as ``copied``.
4. ``features.detokenize`` joins the tokens (pieces into words).
"""

from __future__ import annotations

import tensorflow as tf

from apps.translate import features
from apps.translate.features import END_ID, PAD_ID, START_ID, UNK_ID
from rnnkit import decoding as search

TOKENS = search.Tokens(pad=PAD_ID, start=START_ID, end=END_ID)
MAX_SOURCE = 100  # tokens; longer texts are cut (the training pairs are far shorter)


def translate(model, vocabs, source_table, texts, beam: int = 1, alpha: float = 0.6):
    """For ``texts`` ``[batch]`` string: ``translation`` [batch] string, ``score``, ``copied``
    [batch] int32, ``words`` [batch, steps] string (what each step wrote, ``""`` past the
    end), ``source_words`` [batch, S] string, ``attention`` [batch, steps, S]; and with a
    beam, ``translations`` and ``scores`` [batch, beam]: every hypothesis, best first."""
    source_vocab, target_vocab = vocabs
    ids, words = source_vocab.lookup(features.tokenize(texts), source_table)
    ids, words = ids[:, :MAX_SOURCE], words[:, :MAX_SOURCE]
    lengths = tf.cast(words.row_lengths(), tf.int32)
    ids = ids.to_tensor(PAD_ID)
    memory, keys, mask, state = model.encode(ids)
    limit = lengths + lengths // 2 + 5
    steps = tf.reduce_max(limit)

    def step(token, state, memory):
        return model.step(token, state, *memory)

    if beam == 1:
        out = search.greedy(step, state, [memory, keys, mask], TOKENS, steps, limit=limit)
    else:
        attended = tf.shape(ids)[1]
        out = search.beam_search(
            step, state, [memory, keys, mask], TOKENS, steps, beam, attended, alpha, limit
        )
    source_words = words.to_tensor("")
    vocabulary = tf.constant(list(target_vocab.words))
    joined = lambda words: _joined(words, target_vocab.subwords)
    written, copied = _written(out["tokens"], out["attention"], source_words, vocabulary)
    found = {
        "translation": joined(written),
        "score": out["score"],
        "copied": copied,
        "words": written,
        "source_words": source_words,
        "attention": out["attention"],
        "length": out["length"],
    }
    if beam > 1:
        beams = out["beams"]
        shape = tf.shape(beams["tokens"])
        flat = lambda x: tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))
        every, _ = _written(
            flat(beams["tokens"]),
            flat(beams["attention"]),
            search.tile(source_words, beam),
            vocabulary,
        )
        found["translations"] = tf.reshape(joined(every), shape[:2])
        found["scores"] = beams["score"]
    return found


def _joined(words, subwords: bool):
    """``[rows, steps]`` tokens (``""`` past the end) -> ``[rows]`` texts."""
    return features.detokenize(tf.ragged.boolean_mask(words, words != ""), subwords)


def _written(tokens, attention, source_words, vocabulary):
    """``(words [rows, steps] string, "" past the end; copied [rows] int32)``: the target
    words, each ``<unk>`` replaced by the source word looked at most at that step."""
    written = tf.gather(vocabulary, tokens)
    looked = tf.argmax(attention, axis=-1, output_type=tf.int32)
    copies = tf.gather(source_words, looked, batch_dims=1)
    unknown = tokens == UNK_ID
    written = tf.where(unknown, copies, written)
    before_end = tf.cumsum(tf.cast(tokens == END_ID, tf.int32), axis=1, exclusive=True) == 0
    keep = before_end & (tokens != END_ID) & (tokens != PAD_ID) & (tokens != START_ID)
    copied = tf.reduce_sum(tf.cast(unknown & keep, tf.int32), axis=1)
    return tf.where(keep, written, ""), copied


class Translator:
    """Batched translation of Python strings with a trained model, as one traced graph."""

    def __init__(self, model, source_vocab, target_vocab, beam: int = 1, alpha: float = 0.6):
        self.table = source_vocab.table()
        vocabs = (source_vocab, target_vocab)
        self._translate = tf.function(
            lambda texts: translate(model, vocabs, self.table, texts, beam, alpha),
            input_signature=[tf.TensorSpec([None], tf.string)],
        )

    def __call__(self, texts, batch_size: int = 64) -> dict[str, list]:
        """``{"translation": [str], "score": [float], "copied": [int]}``."""
        found = {"translation": [], "score": [], "copied": []}
        for start in range(0, len(texts), batch_size):
            out = self._translate(tf.constant(list(texts[start : start + batch_size])))
            found["translation"] += [t.decode("utf-8") for t in out["translation"].numpy()]
            found["score"] += out["score"].numpy().tolist()
            found["copied"] += out["copied"].numpy().tolist()
        return found

    def rows(self, texts) -> list[dict]:
        """Every text's ``rows`` entry, with its words, attention and n-best list."""
        return rows(self._translate(tf.constant(list(texts))))


def rows(out) -> list[dict]:
    """A ``translate`` result (tensors, or a SavedModel's outputs) as one dict a text:
    ``translation``, ``score``, ``copied``, ``source_words`` and ``words`` (lists of
    str), ``attention`` ([words, source_words] array), and with a beam ``n_best``
    (``[{"translation", "score"}]``, best first)."""
    out = {name: getattr(value, "numpy", lambda v=value: v)() for name, value in out.items()}
    decoded = lambda items: [w.decode("utf-8") for w in items if w]
    found = []
    for i, translation in enumerate(out["translation"]):
        source, words = decoded(out["source_words"][i]), decoded(out["words"][i])
        row = {
            "translation": translation.decode("utf-8"),
            "score": float(out["score"][i]),
            "copied": int(out["copied"][i]),
            "source_words": source,
            "words": words,  # the steps before the end, so they line up with attention's rows
            "attention": out["attention"][i, : len(words), : len(source)],
        }
        if "translations" in out:
            row["n_best"] = [
                {"translation": t.decode("utf-8"), "score": float(p)}
                for t, p in zip(out["translations"][i], out["scores"][i])
            ]
        found.append(row)
    return found
