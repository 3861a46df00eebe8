"""The baselines evaluation reports beside the RNN, all from scikit-learn, on the same split.

- ``majority``: always the most frequent training class.
- ``tfidf_logreg``: TF-IDF of word 1-2 grams (sublinear term frequency),
  logistic regression.
- ``nbsvm``: Wang and Manning (2012)'s NB-SVM: binarised word 1-2 grams
  scaled by naive Bayes log-count ratios (one ratio vector a class, one
  against the rest), then a linear model: here logistic regression, the
  NB-LR form (Mesnil et al., 2015) that also gives probabilities.

Both linear models take their regularisation strength ``C`` from
``C_GRID`` by validation accuracy (never the test split). Texts are
lowercased and split as the RNN's are (``rnnkit.text.split_words``).
"""

from __future__ import annotations

import numpy as np

# Validation chose the largest C of a grid up to 30 for both (the split's
# texts are short and the n-grams many): the grid reaches 3,000.
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)


def _analyzer():
    from rnnkit.text import split_words

    def words_and_bigrams(text: str) -> list[str]:
        found = split_words(text.lower())
        return found + [f"{a} {b}" for a, b in zip(found, found[1:])]

    return words_and_bigrams


class Majority:
    def __init__(self, train_labels, classes: int):
        self.probabilities = np.bincount(train_labels, minlength=classes) / len(train_labels)

    def predict_proba(self, texts) -> np.ndarray:
        return np.tile(self.probabilities, (len(texts), 1))


class _Linear:
    """A vectoriser and a logistic regression whose ``C`` validation chose."""

    def _features(self, matrix):
        return matrix

    def _fit(self, train, validation) -> None:
        from sklearn.linear_model import LogisticRegression

        x = self._features(self.vectorizer.transform(train[0]))
        x_val = self._features(self.vectorizer.transform(validation[0]))
        best = None
        for c in C_GRID:
            model = LogisticRegression(C=c, max_iter=3000).fit(x, train[1])
            accuracy = np.mean(model.predict(x_val) == np.asarray(validation[1]))
            if best is None or accuracy > best[0]:
                best = (accuracy, c, model)
        _, self.c, self.model = best

    def predict_proba(self, texts) -> np.ndarray:
        found = self.model.predict_proba(self._features(self.vectorizer.transform(texts)))
        # A class absent from training gets probability 0.
        out = np.zeros((len(texts), self.classes))
        out[:, self.model.classes_] = found
        return out


class TfidfLogReg(_Linear):
    def __init__(self, train, validation, classes: int):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.classes = classes
        self.vectorizer = TfidfVectorizer(
            analyzer=_analyzer(), sublinear_tf=True, min_df=1, dtype=np.float32
        ).fit(train[0])
        self._fit(train, validation)


class NBSVM(_Linear):
    """Naive Bayes log-count ratio features (alpha = 1) of binarised 1-2 grams."""

    def __init__(self, train, validation, classes: int, alpha: float = 1.0):
        from sklearn.feature_extraction.text import CountVectorizer

        self.classes = classes
        self.vectorizer = CountVectorizer(analyzer=_analyzer(), binary=True, dtype=np.float32)
        x = self.vectorizer.fit_transform(train[0])
        labels = np.asarray(train[1])
        present = sorted(set(labels.tolist()))
        ratios = []
        # Binary: one ratio (positive against negative); more classes: one a class.
        for c in present[1:] if len(present) == 2 else present:
            p = alpha + np.asarray(x[labels == c].sum(0)).ravel()
            q = alpha + np.asarray(x[labels != c].sum(0)).ravel()
            ratios.append(np.log((p / p.sum()) / (q / q.sum())))
        self.ratios = np.stack(ratios).astype(np.float32)
        self._fit(train, validation)

    def _features(self, matrix):
        import scipy.sparse as sparse

        return sparse.hstack([matrix.multiply(r) for r in self.ratios]).tocsr()


def fit_all(train, validation, classes: int) -> dict:
    """``{name: model with predict_proba(texts)}``; ``train`` and ``validation`` are
    ``(texts, label indices)``."""
    return {
        "tfidf_logreg": TfidfLogReg(train, validation, classes),
        "nbsvm": NBSVM(train, validation, classes),
        "majority": Majority(np.asarray(train[1]), classes),
    }
