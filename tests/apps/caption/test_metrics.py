"""caption's BLEU and CIDEr-D against hand-computed values."""

import math

import pytest

from apps.caption import metrics


def test_bleu_against_hand_computed_values():
    # One image, hypothesis "a b c d", references "a b c e" and "a b x d".
    # Clipped precisions: 1-grams 4/4, 2-grams 2/3 (ab, bc), 3-grams 1/2 (abc),
    # 4-grams 0/1; lengths equal, so no brevity penalty.
    found = metrics.bleu(["a b c d"], [["a b c e", "a b x d"]])
    assert found["bleu1"] == pytest.approx(1.0)
    assert found["bleu2"] == pytest.approx(math.sqrt(2 / 3))
    assert found["bleu3"] == pytest.approx((2 / 3 * 1 / 2) ** (1 / 3))
    assert found["bleu4"] == pytest.approx(0.0, abs=1e-9)
    # Brevity: "a b" against "a b c d": precisions 1, BP = exp(1 - 4/2).
    assert metrics.bleu(["a b"], [["a b c d"]])["bleu2"] == pytest.approx(math.exp(-1))
    # Captions shorter than n words hold no n-grams, and miss none: perfect
    # captions of 1-3 words score 1 (NLTK's corpus_bleu gives less).
    perfect = metrics.bleu(
        ["a", "a b", "a b c", "d e f g"], [["a"], ["a b"], ["a b c"], ["d e f g"]]
    )
    assert perfect == pytest.approx({"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0})
    # Images with different numbers of references.
    found = metrics.bleu(["a b", "c d"], [["x y", "a b", "z"], ["c d"]])
    assert found["bleu2"] == pytest.approx(1.0)


def test_cider_d_against_hand_computed_values():
    # Two images. Image 1: hyp "a b", refs ["a b"]; image 2: hyp "c", refs ["c d"].
    # Document frequencies: every n-gram occurs in one image's references, so
    # every weight is tf * log(2); an n-gram absent from the references
    # weighs 0. Image 1: cosine 1 for n = 1, 2 (n = 3, 4 empty), no length
    # penalty: 10 * (1 + 1) / 4 = 5. Image 2: n = 1: hyp {c}, ref {c, d}:
    # min(w, w) * w / (|h| |r|) = 1 / sqrt(2); bigram lengths 0 and 1:
    # penalty exp(-1 / 72); 10 * exp(-1/72) / sqrt(2) / 4.
    found = metrics.cider_d(["a b", "c"], [["a b"], ["c d"]])
    second = 10 * math.exp(-1 / 72) / math.sqrt(2) / 4
    assert found == pytest.approx((5 + second) / 2)
    assert metrics.exact_match(["a b", "c"], [["a b"], ["c d"]]) == 0.5
