"""From frame tags to segments, and the scores speech taggers are judged by.

- ``smooth``: Viterbi decoding of per-frame log-probabilities with a penalty
  for every change of tag, so that a one-frame flicker is not a segment.
- ``segments``: runs of the same tag, ``(start_frame, end_frame, tag)``.
- ``frame_accuracy``, ``error_rate`` (edit distance on the collapsed tag
  sequence with silence removed: phone error rate, word error rate via
  ``jiwer``) and ``boundary_f1`` (boundaries matched one to one within a
  tolerance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.speechtag.data import HOP, SAMPLE_RATE, WINDOW

FRAME_SECONDS = HOP / SAMPLE_RATE
SWITCH_PENALTY = 4.0  # nats per change of tag


def smooth(log_probs: np.ndarray, penalty: float = SWITCH_PENALTY) -> np.ndarray:
    """The tag path maximising ``sum log p(tag_t) - penalty * (number of changes)``.

    ``log_probs``: ``[frames, tags]``. Viterbi with a uniform switch cost,
    so each step is O(tags).
    """
    frames, tags = log_probs.shape
    if frames == 0:
        return np.zeros([0], np.int64)
    score = log_probs[0].astype(np.float64)
    back = np.zeros([frames, tags], np.int64)
    for t in range(1, frames):
        best = int(np.argmax(score))
        switch = score[best] - penalty
        stay = score >= switch
        back[t] = np.where(stay, np.arange(tags), best)
        score = np.where(stay, score, switch) + log_probs[t]
    path = np.zeros([frames], np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def segments(tags: Sequence) -> list[tuple[int, int, object]]:
    """Runs of equal tags: ``(start, end, tag)`` in frames, end exclusive."""
    out = []
    start = 0
    for t in range(1, len(tags) + 1):
        if t == len(tags) or tags[t] != tags[start]:
            out.append((start, t, tags[start]))
            start = t
    return out


def segment_times(runs, labels: Sequence[str], probs: np.ndarray | None = None) -> list[dict]:
    """Segments in seconds, with their label and the mean probability of that label."""
    out = []
    for start, end, tag in runs:
        entry = {
            "start": round(start * FRAME_SECONDS, 3),
            "end": round((end - 1) * FRAME_SECONDS + WINDOW / SAMPLE_RATE, 3)
            if end > start
            else round(start * FRAME_SECONDS, 3),
            "label": labels[tag],
        }
        if probs is not None:
            entry["probability"] = round(float(np.mean(probs[start:end, tag])), 4)
        out.append(entry)
    return out


def collapse(tags: Sequence, silence=0) -> list:
    """The tag sequence of the segments, silence removed."""
    return [tag for _, _, tag in segments(list(tags)) if tag != silence]


def frame_accuracy(predicted: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> float:
    right = sum(int(np.sum(p == r)) for p, r in zip(predicted, reference))
    total = sum(len(r) for r in reference)
    return right / max(total, 1)


def error_rate(predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]) -> float:
    """Edit distance over reference length, summed over utterances (WER / PER), via jiwer.

    Tokens are whole tags (a phone or a word), never split further.
    """
    import jiwer

    pairs = [(r, p) for r, p in zip(reference, predicted) if r]
    if not pairs:
        return 0.0
    # jiwer splits on spaces; tags hold none, so each tag is one token.
    ref = [" ".join(r) for r, _ in pairs]
    hyp = [" ".join(p) for _, p in pairs]
    out = jiwer.process_words(ref, hyp)
    errors = out.substitutions + out.deletions + out.insertions
    extra = sum(len(p) for r, p in zip(reference, predicted) if not r)  # insertions into nothing
    total = sum(len(r) for r, _ in pairs)
    return (errors + extra) / total


def boundaries(tags: Sequence) -> list[int]:
    """Frame indices where the tag changes."""
    return [start for start, _, _ in segments(list(tags))[1:]]


def boundary_f1(
    predicted: Sequence[Sequence], reference: Sequence[Sequence], tolerance_s: float = 0.02
) -> dict[str, float]:
    """Precision, recall and F1 of tag boundaries, each matched once at most within tolerance."""
    tolerance = tolerance_s / FRAME_SECONDS + 1e-9
    hits = n_pred = n_ref = 0
    for pred, ref in zip(predicted, reference):
        p, r = boundaries(pred), boundaries(ref)
        n_pred += len(p)
        n_ref += len(r)
        used = set()
        for b in r:
            candidates = [
                (abs(q - b), i)
                for i, q in enumerate(p)
                if i not in used and abs(q - b) <= tolerance
            ]
            if candidates:
                used.add(min(candidates)[1])
                hits += 1
    precision = hits / n_pred if n_pred else float(n_ref == 0)
    recall = hits / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def score(
    predicted: dict[str, list[np.ndarray]],
    reference: dict[str, list[np.ndarray]],
    labels,
) -> dict[str, dict[str, float]]:
    """Per tier: frame accuracy, error rate on the collapsed sequence, boundary P/R/F1."""
    out = {}
    for tier in ("phones", "words"):
        names = labels.tier(tier)
        pred = [[names[t] for t in collapse(p)] for p in predicted[tier]]
        ref = [[names[t] for t in collapse(r)] for r in reference[tier]]
        found = boundary_f1(predicted[tier], reference[tier])
        out[tier] = {
            "frame_accuracy": frame_accuracy(predicted[tier], reference[tier]),
            "error_rate": error_rate(pred, ref),
            "boundary_precision": found["precision"],
            "boundary_recall": found["recall"],
            "boundary_f1": found["f1"],
        }
    return out
