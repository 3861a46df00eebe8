"""classify's scores: accuracy, macro F1, per-class precision and recall, the confusion
matrix, expected calibration error, and temperature scaling fitted to validation."""

from __future__ import annotations

import numpy as np

ECE_BINS = 15  # Guo et al. (2017)


def scores(labels, probabilities, classes: list[str]) -> dict:
    """``labels [n]`` class indices, ``probabilities [n, classes]`` -> the report's scores
    (fractions): accuracy, macro F1, ECE, per class precision/recall/F1, confusion."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, np.float64)
    predicted = probabilities.argmax(-1)
    every = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=every, zero_division=0
    )
    return {
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else 0.0,
        "macro_f1": float(np.mean(f1)),
        "ece": ece(labels, probabilities),
        "per_class": {
            name: {
                "precision": float(precision[k]),
                "recall": float(recall[k]),
                "f1": float(f1[k]),
                "support": int(support[k]),
            }
            for k, name in enumerate(classes)
        },
        "confusion": confusion_matrix(labels, predicted, labels=every).tolist(),
    }


def ece(labels, probabilities, bins: int = ECE_BINS) -> float:
    """Expected calibration error: the mean gap between confidence and accuracy over
    equal-width confidence bins, weighted by the bins' shares of the examples."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, np.float64)
    if not len(labels):
        return 0.0
    confidence = probabilities.max(-1)
    correct = probabilities.argmax(-1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(gap)


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def nll(logits, labels, temperature: float = 1.0) -> float:
    """The mean negative log-likelihood of ``labels`` under ``softmax(logits / T)``."""
    labels = np.asarray(labels)
    if not len(labels):
        return 0.0
    probabilities = softmax(logits, temperature)[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.maximum(probabilities, 1e-12))))


def fit_temperature(logits, labels) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` (one scalar
    by bounded search on its logarithm, between 0.05 and 20)."""
    from scipy.optimize import minimize_scalar

    logits, labels = np.asarray(logits, np.float64), np.asarray(labels)
    if not len(labels):
        return 1.0

    def nll(log_t):
        z = logits / np.exp(log_t)
        z = z - z.max(-1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(-1)) - z[np.arange(len(labels)), labels]))

    found = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(found.x))
