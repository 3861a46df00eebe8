"""From frame tags to segments, and the scores speech taggers are judged by.

- ``smooth``: Viterbi decoding of per-frame log-probabilities with a penalty
  for every change of tag, so that a one-frame flicker is not a segment;
  runs of one tag are split where the model's start probability peaks (so
  "one one" spoken without a pause is two words).
- ``segments``: runs of the same tag, split where a start is marked:
  ``(start_frame, end_frame, tag)``, end exclusive.
- ``frame_accuracy``, ``error_rate`` (edit distance on the segment labels
  with silence removed: phone error rate, word error rate via ``jiwer``) and
  ``boundary_f1`` (boundaries matched one to one within a tolerance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.speechtag.data import HOP, SAMPLE_RATE, WINDOW

FRAME_SECONDS = HOP / SAMPLE_RATE
SWITCH_PENALTY = 1.0  # nats per change of tag (chosen on validation utterances)
START_THRESHOLD = 0.6  # start probability that splits a run of one tag (chosen on validation)
MIN_FRAMES = 5  # the shortest segment a split may leave (50 ms)


def smooth(
    log_probs: np.ndarray,
    starts: np.ndarray | None = None,
    penalty: float = SWITCH_PENALTY,
    min_frames: int = MIN_FRAMES,
) -> tuple[np.ndarray, np.ndarray]:
    """``(tags, starts)``: the segmentation of ``log_probs`` ``[frames, tags]``.

    The tags are the path maximising ``sum_t log p(tag_t) - penalty *
    (number of changes)`` (Viterbi with a uniform switch cost, O(tags) per
    frame). A run of one non-silent tag is then split where the start
    probability ``starts`` peaks above ``START_THRESHOLD`` (the highest in
    +-2 frames), leaving no piece shorter than ``min_frames``: that is how
    "one one" spoken without a pause becomes two words. The returned starts
    mark those splits.
    """
    frames, tags = log_probs.shape
    marks = np.zeros([frames], bool)
    if frames == 0:
        return np.zeros([0], np.int64), marks
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
    if starts is not None:
        b = np.asarray(starts, np.float64)
        for start, end, tag in segments(path):
            if tag == 0:
                continue
            peaks = [
                t
                for t in range(start + min_frames, end - min_frames + 1)
                if b[t] > START_THRESHOLD and b[t] >= b[max(t - 2, 0) : t + 3].max()
            ]
            taken = [start, end]
            for t in sorted(peaks, key=lambda t: -b[t]):
                if all(abs(t - u) >= min_frames for u in taken):
                    taken.append(t)
                    marks[t] = True
    return path, marks


def segments(tags: Sequence, starts: Sequence | None = None) -> list[tuple[int, int, object]]:
    """Runs of equal tags, also split where ``starts`` is set: ``(start, end, tag)``."""
    out = []
    start = 0
    for t in range(1, len(tags) + 1):
        if t == len(tags) or tags[t] != tags[start] or (starts is not None and starts[t]):
            out.append((start, t, tags[start]))
            start = t
    return out


def frame_tags(segs, frames: int | None = None) -> np.ndarray:
    """The tag of every frame of a segment list."""
    frames = segs[-1][1] if frames is None and segs else frames or 0
    out = np.zeros([frames], np.int64)
    for start, end, tag in segs:
        out[start:end] = tag
    return out


def frame_time(frame: int) -> float:
    """Seconds where frame ``frame`` begins to own the audio: halfway between two centres."""
    return 0.0 if frame <= 0 else (frame * HOP + (WINDOW - HOP) / 2) / SAMPLE_RATE


def segment_times(runs, labels: Sequence[str], probs: np.ndarray | None = None) -> list[dict]:
    """Segments in seconds, with their label and the mean probability of that label.

    Segments meet where one frame's centre is as near as the next's; the last
    one ends half a hop past its last frame's centre (clip it to the audio).
    """
    out = []
    for start, end, tag in runs:
        entry = {
            "start": round(frame_time(start), 4),
            "end": round(frame_time(end), 4),
            "label": labels[tag],
        }
        if probs is not None:
            entry["probability"] = round(float(np.mean(probs[start:end, tag])), 4)
        out.append(entry)
    return out


def collapse(segs, silence=0) -> list:
    """The tags of a segment list, silence removed."""
    return [tag for _, _, tag in segs if tag != silence]


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


def boundaries(segs) -> list[int]:
    """Frame indices where a segment starts (the first one's excepted)."""
    return [start for start, _, _ in segs[1:]]


def boundary_f1(
    predicted: Sequence[list], reference: Sequence[list], tolerance_s: float = 0.02
) -> dict[str, float]:
    """Precision, recall and F1 of segment boundaries, each matched once at most within tolerance.

    ``predicted`` and ``reference``: a segment list per utterance.
    """
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


def score(predicted: dict[str, list], reference: dict[str, list], labels) -> dict[str, dict]:
    """Per tier: frame accuracy, error rate on the segment labels, boundary P/R/F1.

    ``predicted`` and ``reference``: ``{tier: [segment list per utterance]}``.
    """
    out = {}
    for tier in ("phones", "words"):
        names = labels.tier(tier)
        pred = [[names[t] for t in collapse(p)] for p in predicted[tier]]
        ref = [[names[t] for t in collapse(r)] for r in reference[tier]]
        found = boundary_f1(predicted[tier], reference[tier])
        out[tier] = {
            "frame_accuracy": frame_accuracy(
                [frame_tags(p) for p in predicted[tier]], [frame_tags(r) for r in reference[tier]]
            ),
            "error_rate": error_rate(pred, ref),
            "boundary_precision": found["precision"],
            "boundary_recall": found["recall"],
            "boundary_f1": found["f1"],
        }
    return out
