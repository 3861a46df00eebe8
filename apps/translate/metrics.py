"""translate's scores: corpus BLEU and chrF (sacrebleu, 0-100), exact match, by length.

Every reference of a source counts: sacrebleu takes one stream per
reference position, ``None`` where a source has fewer references. Exact
match is a fraction (0-1), as every rate in rnnkit's JSON; BLEU and chrF
keep sacrebleu's 0-100 scale, as the literature reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.translate.data import Pair

# Source lengths in words: 1-5, 6-10, 11 and more.
BUCKETS = ((1, 5), (6, 10), (11, None))


def _streams(pairs: Sequence[Pair]) -> list[list[str | None]]:
    most = max(len(p.references) for p in pairs)
    return [
        [p.references[k] if k < len(p.references) else None for p in pairs] for k in range(most)
    ]


def scores(hypotheses: Sequence[str], pairs: Sequence[Pair]) -> dict[str, float]:
    """``{"bleu", "chrf", "exact"}`` of ``hypotheses`` against ``pairs``' references."""
    import sacrebleu

    if not pairs:
        return {"bleu": 0.0, "chrf": 0.0, "exact": 0.0}
    streams = _streams(pairs)
    exact = sum(h.strip() in p.references for h, p in zip(hypotheses, pairs)) / len(pairs)
    return {
        "bleu": float(sacrebleu.corpus_bleu(list(hypotheses), streams).score),
        "chrf": float(sacrebleu.corpus_chrf(list(hypotheses), streams).score),
        "exact": float(exact),
    }


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}-{high}" if high is not None else f"{low}+"


def by_length(hypotheses: Sequence[str], pairs: Sequence[Pair]) -> dict[str, dict]:
    """``scores`` per source length bucket (words), with each bucket's count."""
    found = {}
    for low, high in BUCKETS:
        chosen = [
            k
            for k, p in enumerate(pairs)
            if low <= len(p.source.split()) and (high is None or len(p.source.split()) <= high)
        ]
        found[bucket_name(low, high)] = {
            "count": len(chosen),
            **scores([hypotheses[k] for k in chosen], [pairs[k] for k in chosen]),
        }
    return found
