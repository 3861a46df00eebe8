"""From a model's frame scores to segments: run the model, smooth, split, tune.

``log_probs`` runs a tagger; ``predict`` gives the smoothed segments of each
tier (``metrics.smooth``: Viterbi with a penalty per change of tag and
splits where a new segment starts), with the penalties ``tune_decoding``
chose on validation utterances.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from apps.speechtag import data, metrics
from apps.speechtag.data import TIERS
from apps.speechtag.model import SpeechTagger

EVAL_BATCH = 16


def log_probs(model: SpeechTagger, batch_inputs) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per tier, tag log-probabilities ``[batch, frames, tags]`` and segment-start
    probabilities (``<tier>_start``, ``[batch, frames]``); and ``frames [batch]``."""
    out = model(batch_inputs, training=False)
    found = {t: tf.nn.log_softmax(out[t]).numpy() for t in TIERS}
    found.update({f"{t}_start": tf.sigmoid(out[f"{t}_start"]).numpy() for t in TIERS})
    return found, out["frames"].numpy()


def run_model(tag_fn, found) -> tuple[list[dict], dict]:
    """``(rows, reference)``: per utterance the model's outputs over its real frames (as
    ``log_probs`` gives them), and per tier the reference segments.

    ``tag_fn(inputs) -> (log_probs, frames)``; ``found``: ``data.examples(...)``.
    """
    rows, reference = [], {t: [] for t in TIERS}
    for inputs, tags in data.dataset(found, EVAL_BATCH):
        found, frames = tag_fn(inputs)
        for k, n in enumerate(frames):
            rows.append({name: value[k, :n] for name, value in found.items()})
        for tier in TIERS:
            starts = tags[f"{tier}_start"].numpy()
            for k, (row, n) in enumerate(zip(tags[tier].numpy(), frames)):
                reference[tier].append(metrics.segments(row[:n], starts[k, :n]))
    return rows, reference


def segment(rows, tiers=TIERS, penalty=metrics.SWITCH_PENALTY, use_starts=True) -> dict:
    """Per tier, each row's segments (``metrics.smooth``); ``use_starts=False`` ignores
    the start probabilities."""
    out = {}
    for tier in tiers:
        out[tier] = [
            metrics.segments(
                *metrics.smooth(row[tier], row[f"{tier}_start"] if use_starts else None, penalty)
            )
            for row in rows
        ]
    return out


def predict(tag_fn, found) -> tuple[dict, dict]:
    """``(predicted, reference)`` segments per tier over the examples' real frames."""
    rows, reference = run_model(tag_fn, found)
    return segment(rows), reference


def tune_decoding(rows, reference, labels) -> dict[str, dict]:
    """Per tier, the switch penalty and use of starts with the lowest error rate on
    ``rows`` (validation utterances): how a baseline gets its fairest decoding."""
    chosen = {}
    for tier in TIERS:
        best = None
        for penalty in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
            for use_starts in (True, False):
                segs = segment(rows, [tier], penalty, use_starts)
                found = metrics.score({**reference, tier: segs[tier]}, reference, labels)[tier]
                if best is None or found["error_rate"] < best[0]:
                    best = (found["error_rate"], penalty, use_starts)
        chosen[tier] = {"penalty": best[1], "use_starts": best[2]}
    return chosen
