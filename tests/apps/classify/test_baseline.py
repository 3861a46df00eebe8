"""classify's baselines on a toy set whose answer is known."""

import numpy as np

from apps.classify import baseline


def test_linear_baselines_learn_the_words_that_decide_and_majority_counts():
    rng = np.random.default_rng(0)
    filler = ["the", "film", "was", "a", "story", "of", "it"]
    good, bad = ["great", "superb", "lovely"], ["awful", "dull", "boring"]

    def texts(n):
        labels = rng.integers(0, 2, n)
        found = [
            " ".join([*rng.choice(filler, 5), rng.choice(bad if y == 0 else good)]) for y in labels
        ]
        return found, labels

    train, validation, test = texts(300), texts(60), texts(100)
    fitted = baseline.fit_all(train, validation, 2)
    for name in ("tfidf_logreg", "nbsvm"):
        predicted = fitted[name].predict_proba(test[0]).argmax(1)
        assert (predicted == test[1]).mean() == 1.0, name
    majority = fitted["majority"].predict_proba(["anything", "else"])
    assert np.allclose(majority, np.bincount(train[1]) / 300)
    # NB-SVM's ratios say which words are positive.
    vocabulary = fitted["nbsvm"].vectorizer.vocabulary_
    ratios = fitted["nbsvm"].ratios[0]
    assert ratios[vocabulary["great"]] > 1 and ratios[vocabulary["dull"]] < -1
    assert abs(ratios[vocabulary["film"]]) < 0.5


def test_three_classes_get_a_ratio_each_and_unseen_classes_zero():
    train = (["good film", "bad film", "meh film"] * 10, [0, 1, 2] * 10)
    fitted = baseline.NBSVM(train, train, 4)
    assert fitted.ratios.shape[0] == 3
    found = fitted.predict_proba(["good", "bad", "meh"])
    assert found.shape == (3, 4) and np.all(found[:, 3] == 0)
    assert found.argmax(1).tolist() == [0, 1, 2]
