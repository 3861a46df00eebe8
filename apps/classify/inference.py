"""Texts to labels, one graph function for the run (evaluate, ``text``, TensorBoard) and the
SavedModel alike: ``classify`` is what the serving signatures run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from apps.classify.features import encode
from rnnkit.text import Vocabulary

BATCH = 256  # texts a call in Python


def classify(model, vocab: Vocabulary, table, max_words: int, classes, texts, explain: bool):
    """``texts [batch]`` -> ``{"label": string[batch], "probabilities": [batch, classes]}``;
    with ``explain`` also ``words [batch, T]`` (``""`` past each end) and ``weights [batch,
    T]``, each word's share of the decision."""
    ids, tokens = encode(texts, vocab, table, max_words)
    if explain:
        logits, weights = model.explain(ids)
    else:
        logits = model(ids)["logits"]
    probabilities = model.probabilities(logits)
    out = {
        "label": tf.gather(classes, tf.argmax(probabilities, -1)),
        "probabilities": probabilities,
    }
    if explain:
        out.update(words=tokens, weights=weights)
    return out


class Predictor:
    """``classify`` over a run's model, in batches, for Python callers."""

    def __init__(self, model, vocab: Vocabulary, classes: Sequence[str], max_words: int):
        self.classes = list(classes)
        table = vocab.table()
        names = tf.constant(self.classes)
        spec = [tf.TensorSpec([None], tf.string)]
        self.table = table  # kept alive with the functions that read it
        self._plain, self._explained = (
            tf.function(
                lambda t, e=explain: classify(model, vocab, table, max_words, names, t, e),
                input_signature=spec,
            )
            for explain in (False, True)
        )

    def outputs(self, texts: Sequence[str], explain: bool = False) -> dict[str, np.ndarray]:
        """The signature's outputs as numpy arrays, every text (``words`` and ``weights``
        padded to the widest batch)."""
        function = self._explained if explain else self._plain
        parts = [
            {k: v.numpy() for k, v in function(tf.constant(list(texts[s : s + BATCH]))).items()}
            for s in range(0, len(texts), BATCH)
        ]
        if not parts:
            return {"label": np.zeros(0, object), "probabilities": np.zeros((0, len(self.classes)))}
        out = {}
        for key in parts[0]:
            found = [p[key] for p in parts]
            if key in ("words", "weights"):
                width = max(f.shape[1] for f in found)
                fill = b"" if key == "words" else 0.0
                found = [
                    np.pad(f, [(0, 0), (0, width - f.shape[1])], constant_values=fill)
                    for f in found
                ]
            out[key] = np.concatenate(found)
        return out

    def rows(self, texts: Sequence[str], explain: bool = False) -> list[dict]:
        return rows(texts, self.outputs(texts, explain), self.classes)


def rows(texts: Sequence[str], outputs: dict, classes: Sequence[str]) -> list[dict]:
    """One dict a text from the signature's outputs (a run's or a SavedModel's): its label,
    each class's probability, and with an explanation each word's weight."""
    found = []
    for k, text in enumerate(texts):
        label = outputs["label"][k]
        row = {
            "text": text,
            "label": label.decode("utf-8") if isinstance(label, bytes) else str(label),
            "probabilities": {
                name: round(float(p), 4) for name, p in zip(classes, outputs["probabilities"][k])
            },
        }
        if "words" in outputs:
            words = [
                w.decode("utf-8") if isinstance(w, bytes) else str(w) for w in outputs["words"][k]
            ]
            kept = [j for j, w in enumerate(words) if w]
            row["words"] = [words[j] for j in kept]
            row["weights"] = [round(float(outputs["weights"][k][j]), 4) for j in kept]
        found.append(row)
    return found


def label_indices(labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    index = {name: k for k, name in enumerate(classes)}
    return np.array([index[label] for label in labels], np.int64)
