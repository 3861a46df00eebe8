"""The baselines translate must beat, on the same test pairs.

- ``copy``: the source itself (names and numbers survive; everything else
  is wrong).
- ``NearestNeighbour``: the first reference of the most similar training
  source, by cosine similarity of TF-IDF vectors over character 2-4-grams
  within words (scikit-learn).
- ``IBMModel1``: the classic statistical word model (Brown et al. 1993):
  translation probabilities t(target word | source word), with a NULL
  source word, learnt by expectation maximisation from the training pairs;
  it translates word by word, each source word to its likeliest target
  word, in the source's order (a source word never seen is copied).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.translate.data import Pair
from apps.translate.features import join_words, split_words

NULL = "<null>"


def copy(sources: Sequence[str]) -> list[str]:
    return list(sources)


class NearestNeighbour:
    def __init__(self, train: Sequence[Pair]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.targets = [p.references[0] for p in train]
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform([p.source for p in train])

    def __call__(self, sources: Sequence[str], batch: int = 256) -> list[str]:
        found = []
        for start in range(0, len(sources), batch):
            query = self.vectorizer.transform(sources[start : start + batch])
            similarity = (query @ self.matrix.T).toarray()  # rows are L2-normalised: cosine
            found += [self.targets[i] for i in similarity.argmax(axis=1)]
        return found


class IBMModel1:
    """t(e | f) by EM over every (source word or NULL, target word) pair of each example."""

    def __init__(self, train: Sequence[Pair], iterations: int = 8):
        sources = [[NULL, *split_words(p.source)] for p in train]
        targets = [split_words(p.references[0]) for p in train]
        self.f_words = sorted({w for s in sources for w in s})
        self.e_words = sorted({w for t in targets for w in t})
        f_index = {w: i for i, w in enumerate(self.f_words)}
        e_index = {w: i for i, w in enumerate(self.e_words)}
        # One row per (example, target position, source position): the alignments EM weighs.
        f_ids, e_ids, slots = [], [], []
        slot = 0
        for source, target in zip(sources, targets):
            fs = [f_index[w] for w in source]
            for e in target:
                f_ids += fs
                e_ids += [e_index[e]] * len(fs)
                slots += [slot] * len(fs)
                slot += 1
        f_ids, e_ids, slots = (np.asarray(a, np.int64) for a in (f_ids, e_ids, slots))
        # The distinct (f, e) pairs, and each row's pair.
        keys = f_ids * len(self.e_words) + e_ids
        pairs, row_pair = np.unique(keys, return_inverse=True)
        self.pair_f, self.pair_e = pairs // len(self.e_words), pairs % len(self.e_words)
        t = np.full(len(pairs), 1.0 / len(self.e_words))
        for _ in range(iterations):
            weight = t[row_pair]
            # E: each target word's alignment posterior over its example's source words.
            weight = weight / np.bincount(slots, weight)[slots]
            # M: expected counts, normalised per source word.
            counts = np.bincount(row_pair, weight, minlength=len(pairs))
            t = counts / np.bincount(self.pair_f, counts)[self.pair_f]
        self.t = t
        # Each source word's likeliest target word.
        order = np.lexsort((-t, self.pair_f))
        first = np.unique(self.pair_f[order], return_index=True)[1]
        self.best = {
            self.f_words[self.pair_f[order[i]]]: self.e_words[self.pair_e[order[i]]] for i in first
        }

    def probability(self, e: str, f: str) -> float:
        if f not in self.best or e not in self.e_words:
            return 0.0
        fi, ei = self.f_words.index(f), self.e_words.index(e)
        match = np.flatnonzero((self.pair_f == fi) & (self.pair_e == ei))
        return float(self.t[match[0]]) if len(match) else 0.0

    def __call__(self, sources: Sequence[str]) -> list[str]:
        return [join_words([self.best.get(f, f) for f in split_words(s)]) for s in sources]
