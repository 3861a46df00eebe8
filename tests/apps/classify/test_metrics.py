"""classify's scores, and temperature scaling that calibrates an overconfident model."""

import numpy as np
import pytest

from apps.classify import metrics


def test_scores_of_a_known_confusion():
    labels = [0, 0, 0, 1, 1, 2]
    predicted = [0, 0, 1, 1, 2, 2]
    probabilities = np.eye(3)[predicted]
    found = metrics.scores(labels, probabilities, ["a", "b", "c"])
    assert found["accuracy"] == pytest.approx(4 / 6)
    assert found["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert found["per_class"]["a"] == {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    assert found["per_class"]["b"]["precision"] == 0.5
    assert found["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    # Always sure: the ECE is the error rate.
    assert found["ece"] == pytest.approx(2 / 6)


def test_temperature_scaling_lowers_the_ece_of_an_overconfident_model():
    rng = np.random.default_rng(0)
    n = 4000
    labels = rng.integers(0, 2, n)
    # A model right 75% of the time that says so with 99% confidence.
    right = rng.random(n) < 0.75
    predicted = np.where(right, labels, 1 - labels)
    logits = np.stack([np.zeros(n), np.zeros(n)], 1)
    logits[np.arange(n), predicted] = np.log(99)
    before = metrics.ece(labels, metrics.softmax(logits))
    temperature = metrics.fit_temperature(logits[: n // 2], labels[: n // 2])
    after = metrics.ece(labels[n // 2 :], metrics.softmax(logits[n // 2 :], temperature))
    assert before > 0.2 and temperature > 2 and after < 0.03
    # The right temperature makes the confidence 75%: log(99) / T = log(3).
    assert temperature == pytest.approx(np.log(99) / np.log(3), rel=0.05)
