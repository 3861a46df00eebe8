"""The classifier: every pooling and cell, masks honoured, explanations that sum to one, and
the ensemble that averages members of its own seeds."""

import numpy as np
import pytest

from apps.classify.config import ModelConfig
from apps.classify.model import Ensemble, build_model


@pytest.mark.parametrize(
    "options",
    [
        {"pooling": "attention"},
        {"pooling": "max", "cell": "gru"},
        {"pooling": "last", "cell": "elman", "activation": "relu"},
        {"pooling": "attention", "cell": "elman", "activation": "sigmoid", "layers": 2},
        {"pooling": "attention", "ensemble": 2},
        {"pooling": "max", "ensemble": 3},
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


def test_an_ensemble_averages_its_members_calibrated_probabilities():
    config = ModelConfig(units=5, embedding=4, attention_units=3, ensemble=3)
    model = build_model(config, vocab_size=20, classes=3, seed=4)
    assert isinstance(model, Ensemble) and len(model.members) == 3
    kernels = [m.embed.embeddings.numpy() for m in model.members]
    assert not np.allclose(kernels[0], kernels[1]) and not np.allclose(kernels[1], kernels[2])
    for member, temperature in zip(model.members, (0.5, 1.0, 3.0)):
        member.temperature.assign(temperature)
    model.temperature.assign(1.5)
    ids = np.array([[3, 4, 5], [6, 7, 0]], np.int32)
    out = model(ids)
    alone = [member(ids) for member in model.members]
    np.testing.assert_allclose(out["members"], np.stack([a["logits"] for a in alone], 1), atol=1e-6)
    mean = np.mean([m.probabilities(a["logits"]) for m, a in zip(model.members, alone)], 0)
    np.testing.assert_allclose(np.exp(out["logits"]), mean, atol=1e-6)
    want = np.exp(np.log(mean) / 1.5) / np.exp(np.log(mean) / 1.5).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.probabilities(out["logits"]), want, atol=1e-6)
    np.testing.assert_allclose(out["weights"], np.mean([a["weights"] for a in alone], 0), atol=1e-6)
    # Trainable: every member's weights; the temperatures are fitted, not trained.
    assert len(model.trainable_weights) == 3 * len(model.members[0].trainable_weights)
    assert not any(w.path.endswith("temperature") for w in model.trainable_weights)
