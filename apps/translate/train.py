"""translate's training job for ``rnnkit.training.fit``: word ids, the loss, the batches.

Every (source, reference) of a training pair is one example, so a source
with several translations teaches all of them; pairs longer than
``max_words`` tokens on either side are left out. Each batch is padded to
its own longest source and target (``<s> ... </s>``), and the batches hold
pairs of about one length. The loss of an example is the mean
label-smoothed cross-entropy of its target tokens (``</s>`` included,
padding not).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.translate import data
from apps.translate.config import DataConfig, TranslateConfig
from apps.translate.data import Pair
from apps.translate.features import (
    END_ID,
    PAD_ID,
    SOURCE_VOCAB,
    START_ID,
    TARGET_VOCAB,
    Vocabulary,
    split_words,
)
from apps.translate.model import build_model
from rnnkit.text import length_sorted_order
from rnnkit.training import Task


def vocabularies(train: Sequence[Pair], config: DataConfig) -> tuple[Vocabulary, Vocabulary]:
    """The source and target vocabularies of the training pairs."""
    subwords = config.tokens == "subwords"
    return (
        Vocabulary.build([p.source for p in train], config.source_vocab, subwords=subwords),
        Vocabulary.build(
            [r for p in train for r in p.references], config.target_vocab, subwords=subwords
        ),
    )


def encode_pairs(
    pairs: Sequence[Pair],
    source_vocab: Vocabulary,
    target_vocab: Vocabulary,
    max_words: int,
    every_reference: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``(sources [n, S], targets [n, T])`` int32, ``<pad>``-padded to the longest; the
    targets are ``<s> ... </s>``. Pairs over ``max_words`` words on either side are left
    out."""
    sources, targets = [], []

    def fitting(vocab, text):
        """``text``'s ids, or None when it has no words or more than ``max_words``."""
        words = split_words(text)
        return vocab.word_ids(words) if 0 < len(words) <= max_words else None

    for pair in pairs:
        source = fitting(source_vocab, pair.source)
        if source is None:
            continue
        for reference in pair.references if every_reference else pair.references[:1]:
            target = fitting(target_vocab, reference)
            if target is not None:
                sources.append(source)
                targets.append([START_ID, *target, END_ID])
    longest = lambda rows, least: max((len(r) for r in rows), default=least)
    src = np.full((len(sources), longest(sources, 1)), PAD_ID, np.int32)
    tgt = np.full((len(targets), longest(targets, 2)), PAD_ID, np.int32)
    for k, (s, t) in enumerate(zip(sources, targets)):
        src[k, : len(s)], tgt[k, : len(t)] = s, t
    return src, tgt


def _stacked(parts: list[np.ndarray]) -> np.ndarray:
    """Id arrays one after the other, padded to the widest."""
    width = max(part.shape[1] for part in parts)
    padding = lambda part: [(0, 0), (0, width - part.shape[1])]
    return np.concatenate([np.pad(p, padding(p), constant_values=PAD_ID) for p in parts])


def _length_sorted_windows(sources, targets, batch: int, seed) -> np.ndarray:
    """A random order of the pairs, sorted by their longer side within windows of batches."""
    lengths = np.maximum((sources != PAD_ID).sum(1), (targets != PAD_ID).sum(1))
    return length_sorted_order(lengths, batch, seed)


def _trimmed(batch):
    """The batch without the padding columns that no row of it uses."""
    return {
        name: ids[:, : tf.reduce_max(tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int32), 1))]
        for name, ids in batch.items()
    }


def per_example_loss(model, batch, training, smoothing: float = 0.0):
    out = model(batch, training=training)
    target = batch["target"][:, 1:]
    mask = tf.cast(target != PAD_ID, tf.float32)
    vocab = tf.shape(out["logits"])[-1]
    crossentropy = tf.keras.losses.categorical_crossentropy(
        tf.one_hot(target, vocab), out["logits"], from_logits=True, label_smoothing=smoothing
    )
    return tf.reduce_sum(crossentropy * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)


def make_task(config: TranslateConfig, run_dir: Path) -> Task:
    """Loads the pairs, saves both vocabularies into ``run_dir`` and returns the task."""
    d = config.data
    parts = data.load(d.source, d.direction, d.phrases, d.data_dir, d.train_limit, d.single_words)
    train = parts["train"]
    source_vocab, target_vocab = vocabularies(train, d)
    source_vocab.save(run_dir / SOURCE_VOCAB)  # atomic; every worker writes the same file
    target_vocab.save(run_dir / TARGET_VOCAB)
    # Sentences first, then phrases and words: an epoch draws a fresh share of them.
    sentences = [p for p in train if p.kind == "sentence"]
    phrases = [p for p in train if p.kind != "sentence"]
    encoded = [
        encode_pairs(part, source_vocab, target_vocab, d.max_words) for part in (sentences, phrases)
    ]
    src, tgt = (_stacked([e[k] for e in encoded]) for k in (0, 1))
    n_sentences = len(encoded[0][0])
    drawn = round(d.phrase_share * (len(src) - n_sentences))
    val_src, val_tgt = encode_pairs(
        parts["validation"], source_vocab, target_vocab, d.max_words, every_reference=False
    )
    batch = config.train.batch_size
    smoothing = config.model.label_smoothing

    def batches(sources, targets, epoch=None):
        order = np.arange(len(sources))
        if epoch is not None:
            rng = np.random.default_rng([config.seed, epoch])
            if drawn < len(sources) - n_sentences:
                share = rng.choice(np.arange(n_sentences, len(sources)), drawn, replace=False)
                order = np.concatenate([order[:n_sentences], np.sort(share)])
            order = order[_length_sorted_windows(sources[order], targets[order], batch, rng)]
        found = tf.data.Dataset.from_tensor_slices(
            {"source": sources[order], "target": targets[order]}
        ).batch(batch, drop_remainder=epoch is not None)
        if epoch is not None:  # the windows' short-to-long order, shuffled away
            found = found.shuffle(len(order) // batch, seed=config.seed + epoch)
        return found.map(_trimmed)

    watched = _Watched(parts["validation"][:VALIDATION_BLEU], source_vocab, target_vocab, config)
    return Task(
        build_model=lambda: build_model(
            config.model, len(source_vocab), len(target_vocab), seed=config.seed
        ),
        loss=lambda model, b, training: per_example_loss(model, b, training, smoothing),
        train_data=lambda epoch: batches(src, tgt, epoch),
        val_data=lambda: batches(val_src, val_tgt),
        validation_metrics=watched.bleu,
        samples=watched.samples,
    )


# Validation pairs translated (greedy) after each epoch for BLEU, and shown.
VALIDATION_BLEU, SHOWN = 200, 3


class _Watched:
    """Validation BLEU (greedy, the first ``VALIDATION_BLEU`` pairs), sample translations
    beside their references and the first one's attention picture, for TensorBoard after
    each epoch."""

    def __init__(self, pairs, source_vocab, target_vocab, config: TranslateConfig):
        self.pairs, self.vocabs, self.config = pairs, (source_vocab, target_vocab), config
        self.translator = None
        self.found: list[str] = []

    def _translate(self, model) -> list[str]:
        from apps.translate.decoding import Translator

        if self.translator is None:
            self.translator = Translator(model, *self.vocabs, beam=1)
        return self.translator([p.source for p in self.pairs])["translation"]

    def bleu(self, model) -> dict[str, float]:
        from apps.translate.metrics import scores

        self.found = self._translate(model)
        return {"bleu": scores(self.found, self.pairs)["bleu"]}

    def samples(self, model, epoch) -> dict:
        from apps.translate import plots

        found = self.found or self._translate(model)
        lines = [
            f"{p.source}\n  -> {t or '(empty)'}\n  reference: {p.references[0]}"
            for p, t in zip(self.pairs[:SHOWN], found)
        ]
        # One fixed validation sentence, so the pictures of the epochs compare.
        [row] = self.translator.rows([self.pairs[0].source])
        return {
            "samples/greedy": "```\n" + "\n\n".join(lines) + "\n```",
            "attention/validation": plots.image(plots.attention_figure([row])),
        }
