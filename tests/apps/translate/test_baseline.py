"""translate's baselines and scores, where the right answer is known."""

import pytest

from apps.translate import baseline, metrics
from apps.translate.data import Pair

# A made-up parallel set: IBM Model 1 must find the word mapping from co-occurrence alone.
TOY = [
    Pair("das haus", ("the house",)),
    Pair("das buch", ("the book",)),
    Pair("ein buch", ("a book",)),
    Pair("ein haus", ("a house",)),
    Pair("das kleine haus", ("the small house",)),
    Pair("ein kleines buch", ("a small book",)),
]


def test_ibm_model_1_learns_the_word_mapping():
    model = baseline.IBMModel1(TOY, iterations=20)
    assert model.probability("house", "haus") > 0.9
    assert model.probability("the", "das") > 0.9 and model.probability("a", "ein") > 0.9
    assert model.probability("book", "haus") < 0.05
    assert model(["das buch", "ein haus", "das auto"]) == ["the book", "a house", "the auto"]


def test_nearest_neighbour_returns_the_closest_sources_target():
    found = baseline.NearestNeighbour(TOY)(["das kleine haus!", "ein kleine buch"])
    assert found == ["the small house", "a small book"]
    assert baseline.copy(["Berlin 2024"]) == ["Berlin 2024"]


def test_scores_count_every_reference_and_bucket_by_length():
    pairs = [
        Pair("Wie spät ist es?", ("What time is it?", "What's the time?")),
        Pair("Ich habe keine Zeit mehr für solche Dinge heute.", ("I have no more time.",)),
    ]
    perfect = metrics.scores(["What's the time?", "I have no more time."], pairs)
    assert perfect == {"bleu": pytest.approx(100.0), "chrf": pytest.approx(100.0), "exact": 1.0}
    wrong = metrics.scores(["Good morning.", "Nothing at all."], pairs)
    assert wrong["exact"] == 0.0 and wrong["bleu"] < 10 and wrong["chrf"] < 30
    buckets = metrics.by_length(["What's the time?", "Nothing at all."], pairs)
    assert buckets["1-5"]["count"] == 1 and buckets["1-5"]["exact"] == 1.0
    assert buckets["6-10"]["count"] == 1 and buckets["6-10"]["exact"] == 0.0
    assert buckets["11+"] == {"count": 0, "bleu": 0.0, "chrf": 0.0, "exact": 0.0}
