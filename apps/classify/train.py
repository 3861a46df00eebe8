"""classify's training job for ``rnnkit.training.fit``: word ids, the weighted loss, batches.

The class names are every label of the source's splits (numbers in numeric
order, words alphabetically); the vocabulary is the training texts'. Texts
become ids once, with the graph function the SavedModel runs
(``features.encode``). Batches are drawn in random windows sorted by
length and cut to their longest text. The loss of a text is its
cross-entropy, times its class's weight with ``class_weights`` (``n / (C
n_c)``: every class counts as much in total). After each epoch validation
reports accuracy, macro F1 and, with the temperature fitted to it (kept in
the model, so the best checkpoint holds its own), the expected calibration
error and the calibrated loss (``nll``), which picks the best checkpoint;
TensorBoard gets the confusion matrix and a few explained sentences.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.classify import data, pretrain
from apps.classify.config import ClassifyConfig
from apps.classify.features import (
    CLASSES,
    VOCAB,
    Encoder,
    build_vocabulary,
    ordered_classes,
    save_classes,
)
from apps.classify.inference import label_indices
from apps.classify.model import Ensemble, build_model, member_inputs
from rnnkit.text import PAD_ID, length_sorted_order
from rnnkit.training import Task

SHOWN = 4  # validation sentences explained in TensorBoard


def load_parts(config: ClassifyConfig) -> dict[str, data.Labelled]:
    d = config.data
    return data.load(d.source, d.data_dir, d.text_column, d.label_column, d.train_limit)


def class_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """``n / (C n_c)`` a class, C the classes with training texts (so the weights' mean over
    the texts is 1); 1 for a class without any."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    present = np.count_nonzero(counts)
    weights = np.where(counts > 0, len(labels) / (present * np.maximum(counts, 1)), 1.0)
    return weights.astype(np.float32)


def per_example_loss(model, batch, training, weights=None):
    """The cross-entropy of each text; an ensemble's members' mean (each member fits the
    labels on its own: fitting their average would train them as one network)."""
    ids, labels = batch["ids"], batch["label"]
    pairs = member_inputs(model, ids)
    logits = tf.stack([m(own, training=training)["logits"] for m, own in pairs], 1)
    if len(labels.shape) == 1:  # every member read the same texts
        labels = tf.repeat(labels[:, None], len(pairs), axis=1)
    loss = tf.keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    if weights is not None:
        loss *= tf.gather(weights, labels)
    return tf.reduce_mean(loss, 1)


def _cut(ids):
    """A batch of ids (``[batch, T]``, or ``[batch, members, T]``) without the padding
    columns no row of it uses (one column at least)."""
    width = tf.reduce_max(tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int32), -1))
    return ids[..., : tf.maximum(width, 1)]


def _trimmed(batch):
    return {"ids": _cut(batch["ids"]), "label": batch["label"]}


def _order(ids: np.ndarray, batch: int, rng) -> np.ndarray:
    """A random order, sorted by length within windows of batches."""
    return length_sorted_order((ids != PAD_ID).sum(1), batch, rng)


def _rngs(seed: int, epoch: int, members: int) -> list:
    """An epoch's random generator for each member (member 0's is a single network's)."""
    return [np.random.default_rng([seed, epoch, *([k] if k else [])]) for k in range(members)]


def _aligned(orders: list[np.ndarray], lengths: np.ndarray, batch: int) -> np.ndarray:
    """The rows of an epoch's batches, one order a member: ``[n]`` for one member, else
    ``[n, members]``, n a whole number of batches (all rows when fewer than a batch).

    Each member reads its texts in its own random order (what makes the members of an
    ensemble differ as much as networks trained apart). The other members' batches are
    matched to member 0's by the rank of their longest text, so the texts a batch holds
    for each member are of about one length and cutting to the longest wastes little."""
    size = min(batch, len(orders[0])) or 1
    count = len(orders[0]) // size * size
    first = orders[0][:count].reshape(-1, size)
    if len(orders) == 1:
        return first.reshape(-1)
    rank = np.argsort(np.argsort(lengths[first].max(1), kind="stable"), kind="stable")
    columns = [first]
    for order in orders[1:]:
        own = order[:count].reshape(-1, size)
        columns.append(own[np.argsort(lengths[own].max(1), kind="stable")][rank])
    return np.stack([c.reshape(-1) for c in columns], 1)


def make_task(config: ClassifyConfig, run_dir: Path) -> Task:
    """Loads the texts, saves the vocabulary and class names into ``run_dir``, returns the
    task."""
    d, m = config.data, config.model
    parts = load_parts(config)
    classes = ordered_classes([y for part in parts.values() for y in part.labels])
    extra = pretrain.read_text(d.pretrain_text) if d.pretrain_text else []
    texts = [*parts["train"].texts, *extra]
    vocab = build_vocabulary(texts, d.vocab, d.min_count, d.tokens == "subwords")
    vocab.save(run_dir / VOCAB)  # atomic; every worker writes the same file
    save_classes(run_dir / CLASSES, classes)
    encoder = Encoder(vocab, d.max_words)
    ids, _ = encoder(parts["train"].texts)
    labels = label_indices(parts["train"].labels, classes)
    val_ids, _ = encoder(parts["validation"].texts)
    val_labels = label_indices(parts["validation"].labels, classes)
    weights = class_weights(labels, len(classes)) if m.class_weights else None
    batch = config.train.batch_size
    lm_ids = encoder(extra)[0] if extra else ids

    def batches(ids, labels, epoch=None):
        if epoch is not None and epoch < m.pretrain_epochs:
            return lm_batches(epoch)
        if epoch is None:  # validation: every text once, in order
            found = tf.data.Dataset.from_tensor_slices(
                {"ids": ids, "label": labels.astype(np.int32)}
            )
            return found.batch(batch).map(_trimmed)
        lengths = (ids != PAD_ID).sum(1)
        orders = [_order(ids, batch, rng) for rng in _rngs(config.seed, epoch, m.ensemble)]
        rows = _aligned(orders, lengths, batch)
        found = tf.data.Dataset.from_tensor_slices(
            {"ids": ids[rows], "label": labels[rows].astype(np.int32)}
        ).batch(batch)
        # The windows' short-to-long order, shuffled away.
        found = found.shuffle(max(1, len(rows) // batch), seed=config.seed + epoch)
        return found.map(_trimmed)

    def lm_batches(epoch):
        """As many batches of the pretraining texts as a classifier epoch has."""
        lengths = (lm_ids != PAD_ID).sum(1)
        count = len(ids) // batch * batch or len(ids)
        orders = []
        for rng in _rngs(config.seed, epoch, m.ensemble):
            drawn = pretrain.draw(np.arange(len(lm_ids)), count, rng)
            orders.append(drawn[_order(lm_ids[drawn], batch, rng)])
        rows = _aligned(orders, lengths, batch)
        found = tf.data.Dataset.from_tensor_slices({"lm": lm_ids[rows]}).batch(batch)
        found = found.shuffle(max(1, len(rows) // batch), seed=config.seed + epoch)
        return found.map(lambda b: {"lm": _cut(b["lm"])})

    def loss(model, b, training):
        if "lm" in b:
            return pretrain.per_example_loss(model, b["lm"], training)
        return per_example_loss(model, b, training, weights)

    watched = _Watched(val_ids, val_labels, parts["validation"].texts, classes, encoder)
    return Task(
        build_model=lambda: build_model(m, len(vocab), len(classes), seed=config.seed),
        loss=loss,
        train_data=lambda epoch: batches(ids, labels, epoch),
        val_data=lambda: batches(val_ids, val_labels),
        validation_metrics=watched.metrics,
        samples=watched.samples,
        # The best checkpoint's: the calibrated validation loss. The plain loss
        # turns up while the network grows overconfident and accuracy still
        # climbs (full preset: lowest at epoch 11, accuracy 0.755; 0.768 at 15).
        monitor="nll",
        optimizer=pretrain.make_optimizer(m, m.pretrain_epochs) if m.pretrain_epochs else None,
    )


def validation_logits(model, ids: np.ndarray, batch: int = 256, key="logits") -> np.ndarray:
    """The model's logits (or another output) for id rows, in batches cut to their
    longest."""
    found = []
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        width = max(1, int((part != PAD_ID).sum(1).max()))
        found.append(model(tf.constant(part[:, :width]))[key].numpy())
    return np.concatenate(found) if found else np.zeros((0, model.classes), np.float32)


def uncalibrated_probabilities(model, ids: np.ndarray) -> np.ndarray:
    """The probabilities before temperature scaling: the softmax of the logits, or the mean
    of an ensemble's members' softmaxes."""
    from apps.classify import metrics

    if isinstance(model, Ensemble):
        return metrics.softmax(validation_logits(model, ids, key="members")).mean(1)
    return metrics.softmax(validation_logits(model, ids))


class _Watched:
    """Validation accuracy, macro F1 and ECE after fitting the temperature (which it sets
    in the model), the confusion matrix and explained sentences for TensorBoard."""

    def __init__(self, ids, labels, texts, classes, encoder):
        self.ids, self.labels, self.texts, self.classes = ids, labels, texts, classes
        self.encoder = encoder
        self.found = self.predictor = None

    def metrics(self, model) -> dict[str, float]:
        from apps.classify import metrics

        found = {}
        if isinstance(model, Ensemble):  # each member's temperature, then the mean's
            accuracies = []
            for member in model.members:
                logits = validation_logits(member, self.ids)
                member.temperature.assign(metrics.fit_temperature(logits, self.labels))
                accuracies.append(np.mean(logits.argmax(-1) == self.labels))
            found["member_accuracy"] = float(np.mean(accuracies))
        logits = validation_logits(model, self.ids)
        temperature = metrics.fit_temperature(logits, self.labels)
        model.temperature.assign(temperature)
        self.found = metrics.scores(self.labels, metrics.softmax(logits, temperature), self.classes)
        return {
            "accuracy": self.found["accuracy"],
            "macro_f1": self.found["macro_f1"],
            "ece": self.found["ece"],
            "temperature": temperature,
            "nll": metrics.nll(logits, self.labels, temperature),
            **found,
        }

    def samples(self, model, epoch) -> dict:
        from apps.classify import plots
        from apps.classify.inference import Predictor

        if self.found is None:
            self.metrics(model)
        if self.predictor is None:  # once: its graph functions serve every epoch
            vocab, max_words = self.encoder.vocab, self.encoder.max_words
            self.predictor = Predictor(model, vocab, self.classes, max_words)
        rows = self.predictor.rows(list(self.texts[:SHOWN]), explain=True)
        text = "\n\n".join(
            f"{plots.marked(row)}\n  -> {row['label']} ({max(row['probabilities'].values()):.2f}); "
            f"truth: {self.classes[y]}"
            for row, y in zip(rows, self.labels[:SHOWN])
        )
        return {
            "samples/explained": "```\n" + text + "\n```",
            "confusion/validation": plots.image(
                plots.confusion_figure(self.found["confusion"], self.classes)
            ),
        }
