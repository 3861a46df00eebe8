"""The classifier: every pooling and cell, masks honoured, explanations that sum to one."""

import numpy as np
import pytest

from apps.classify.config import ModelConfig
from apps.classify.model import build_model


@pytest.mark.parametrize(
    "options",
    [
        {"pooling": "attention"},
        {"pooling": "max", "cell": "gru"},
        {"pooling": "last", "cell": "elman", "activation": "relu"},
        {"pooling": "attention", "cell": "elman", "activation": "sigmoid", "layers": 2},
    ],
)
def test_padding_changes_nothing_and_weights_sum_to_one(options):
    config = ModelConfig(units=6, embedding=5, attention_units=4, dropout=0.0, **options)
    model = build_model(config, vocab_size=30, classes=3, seed=1)
    ids = np.array([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]], np.int32)
    out = model(ids)
    assert out["logits"].shape == (2, 3)
    alone = model(ids[:1, :3])["logits"]
    np.testing.assert_allclose(out["logits"][0], alone[0], atol=1e-5)
    logits, weights = model.explain(ids)
    np.testing.assert_allclose(logits, out["logits"], atol=1e-5)
    weights = np.asarray(weights)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-5)
    assert np.all(weights[0, 3:] == 0) and np.all(weights >= 0)


def test_the_temperature_divides_the_logits_and_is_not_trained():
    model = build_model(ModelConfig(units=4, embedding=4), vocab_size=10, classes=2, seed=0)
    assert all(w is not model.temperature for w in model.trainable_weights)
    assert model.temperature in model.non_trainable_weights
    logits = np.array([[2.0, 0.0]], np.float32)
    model.temperature.assign(2.0)
    np.testing.assert_allclose(model.probabilities(logits), [[np.e / (np.e + 1), 1 / (np.e + 1)]])


def test_word_dropout_drops_whole_words_in_training_only():
    config = ModelConfig(units=4, embedding=6, word_dropout=0.5)
    model = build_model(config, vocab_size=10, classes=2, seed=0)
    ids = np.full((64, 20), 3, np.int32)
    dropped = np.asarray(model.embedded(ids, training=True))
    zero_rows = np.all(dropped == 0, axis=-1)
    assert 0.4 < zero_rows.mean() < 0.6
    kept = dropped[~zero_rows]
    np.testing.assert_allclose(kept, np.asarray(model.embed(ids))[~zero_rows] * 2, rtol=1e-6)
    np.testing.assert_array_equal(model.embedded(ids), model.embed(ids))
