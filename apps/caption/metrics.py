"""Caption scores against every reference of an image.

- ``bleu``: corpus BLEU-1..4 (Papineni et al., 2002) from sacrebleu, on the
  word tokens as they are: clipped n-gram counts against all references,
  brevity penalty from the closest reference length, no smoothing (as the
  COCO caption evaluation). Not NLTK's ``corpus_bleu``: it counts a caption
  shorter than n words as one n-gram missed, so perfect captions of 1-5
  digits scored a BLEU-4 of 0.77 there.
- ``cider_d``: CIDEr-D (Vedantam et al., 2015) as the COCO caption
  evaluation computes it: TF-IDF n-gram vectors (n = 1..4) with document
  frequencies over the evaluated images' references, clipped candidate
  counts, a Gaussian penalty on the length difference (sigma 6), the mean
  over references and n, times 10.
- ``exact_match``: the share of images whose caption equals one of its
  references.

Captions are compared as lower-cased word tokens (``data.words``).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence

from sacrebleu.metrics import BLEU

from apps.caption.data import words

CIDER_SIGMA = 6.0


def bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """``{"bleu1": ..., "bleu4": ...}`` in [0, 1]; each image has one or more references."""
    hyps = [" ".join(words(h)) for h in hypotheses]
    most = max((len(rs) for rs in references), default=0)
    # sacrebleu takes reference streams; None pads images with fewer references.
    streams = [
        [" ".join(words(rs[k])) if k < len(rs) else None for rs in references] for k in range(most)
    ]
    out = {}
    for n in range(1, 5):
        scorer = BLEU(max_ngram_order=n, tokenize="none", smooth_method="none")
        score = scorer.corpus_score(hyps, streams).score / 100 if hyps else 0.0
        out[f"bleu{n}"] = float(score)
    return out


def _ngrams(tokens: list[str], n_max: int = 4) -> collections.Counter:
    return collections.Counter(
        tuple(tokens[i : i + n]) for n in range(1, n_max + 1) for i in range(len(tokens) - n + 1)
    )


def cider_d(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus CIDEr-D (the mean of the images' scores)."""
    ref_counts = [[_ngrams(words(r)) for r in rs] for rs in references]
    frequency = collections.Counter()  # in how many images' references each n-gram occurs
    for counts in ref_counts:
        frequency.update(set().union(*counts))
    log_images = math.log(float(len(references)))

    def vector(counts):
        vec = [{} for _ in range(4)]
        norm = [0.0] * 4
        bigrams = 0
        for gram, tf in counts.items():
            n = len(gram) - 1
            weight = tf * (log_images - math.log(max(1.0, frequency[gram])))
            vec[n][gram] = weight
            norm[n] += weight * weight
            if n == 1:
                bigrams += tf
        return vec, [math.sqrt(x) for x in norm], bigrams

    scores = []
    for hypothesis, refs in zip(hypotheses, ref_counts):
        hyp_vec, hyp_norm, hyp_len = vector(_ngrams(words(hypothesis)))
        total = [0.0] * 4
        for ref in refs:
            ref_vec, ref_norm, ref_len = vector(ref)
            penalty = math.exp(-((hyp_len - ref_len) ** 2) / (2 * CIDER_SIGMA**2))
            for n in range(4):
                value = sum(
                    min(w, ref_vec[n].get(g, 0.0)) * ref_vec[n].get(g, 0.0)
                    for g, w in hyp_vec[n].items()
                )
                if hyp_norm[n] and ref_norm[n]:
                    value /= hyp_norm[n] * ref_norm[n]
                total[n] += value * penalty
        scores.append(10.0 * sum(total) / 4 / len(refs))
    return sum(scores) / len(scores) if scores else 0.0


def exact_match(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    hits = sum(
        words(h) in [words(r) for r in rs] for h, rs in zip(hypotheses, references, strict=True)
    )
    return hits / len(hypotheses) if hypotheses else 0.0


def scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """BLEU-1..4, CIDEr-D and exact match of a corpus."""
    return {
        **bleu(hypotheses, references),
        "cider_d": cider_d(hypotheses, references),
        "exact_match": exact_match(hypotheses, references),
    }
