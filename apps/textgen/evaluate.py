"""textgen's ``evaluate``: bits per character of the model and of the n-gram baseline."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from apps.textgen import data
from apps.textgen.baseline import KneserNey
from apps.textgen.config import TextgenConfig
from apps.textgen.model import CharRNN
from apps.textgen.train import LN2, per_char_loss
from rnnkit.runs import Run


def stream_bits_per_char(model: CharRNN, ids: np.ndarray, rows: int = 16, chunk: int = 512):
    """Bits per character of ``ids[1:]``, each predicted from everything before it.

    The stream is cut into ``rows`` contiguous rows read in parallel, with the
    state carried from chunk to chunk. Returns ``(bits_per_char, scored)``:
    the characters ``ids[1 : scored + 1]`` were scored (a remainder shorter
    than ``rows`` is left out).
    """
    rows = max(1, min(rows, (len(ids) - 1) // 2))
    width = (len(ids) - 1) // rows
    inputs = ids[: rows * width].reshape(rows, width)
    targets = ids[1 : rows * width + 1].reshape(rows, width)

    num_states = model.num_layers * model.states_per_layer

    @tf.function(
        input_signature=[tf.TensorSpec([rows, None], tf.int32)] * 2
        + [tf.TensorSpec([rows, model.units])] * num_states
    )
    def nll(x, y, *states):
        logits, states = model(x, list(states), training=False)
        per_row = per_char_loss(logits, y) * tf.cast(tf.shape(y)[1], tf.float32)
        return tf.reduce_sum(per_row), states

    total = 0.0
    states = model.zero_states(rows)
    for start in range(0, width, chunk):
        value, states = nll(
            inputs[:, start : start + chunk], targets[:, start : start + chunk], *states
        )
        total += float(value)
    return total / (rows * width) / LN2, rows * width


def evaluate(run: Run, options: dict) -> dict:
    """The report of ``rnnkit textgen evaluate RUN`` (``--dynamic``: with dynamic evaluation)."""
    dynamic = None
    if options.get("dynamic"):
        dynamic = {"learning_rate": options["dynamic_lr"], "decay": options["dynamic_decay"]}
    return score(run.config, run.model, data.Vocab.load(run.path), dynamic=dynamic)


def format_report(report: dict) -> str:
    rows = [
        ("model", report["bits_per_char"], report["perplexity"]),
        ("baseline", report["baseline_bits_per_char"], report["baseline_perplexity"]),
    ]
    if "dynamic_bits_per_char" in report:
        bits = report["dynamic_bits_per_char"]
        rows.insert(1, ("dynamic", bits, 2.0**bits))
    lines = [f"{'':<10} {'bits/char':>10} {'perplexity':>11}"]
    lines += [f"{name:<10} {bits:>10.4f} {ppl:>11.3f}" for name, bits, ppl in rows]
    lines.append(
        f"model / baseline: {report['ratio_to_baseline']:.3f} on "
        f"{report['validation_chars']} validation characters ({report['data']}); "
        f"baseline: {report['baseline']}"
    )
    if "dynamic_bits_per_char" in report:
        d = report["dynamic"]
        lines.append(
            f"dynamic evaluation (the weights adapt to the text as it is read; "
            f"{d['segment']}-char segments, learning rate {d['learning_rate']:g}, decay "
            f"{d['decay']:g}): {report['dynamic_ratio_to_baseline']:.3f} x the baseline"
        )
    if report["ratio_to_baseline"] > 1:
        lines.append(
            f"Warning: the model's {report['bits_per_char']:.3f} bits/char is worse than the "
            f"baseline's {report['baseline_bits_per_char']:.3f}: train longer or with a larger "
            "preset (tiny only shows the pieces working)"
        )
    return "\n".join(lines)


def score(
    config: TextgenConfig, model: CharRNN, vocab: data.Vocab, dynamic: dict | None = None
) -> dict:
    """Validation bits/char and perplexity of the model and of the order-5 KN baseline;
    with ``dynamic`` (``learning_rate``, ``decay``), also under dynamic evaluation."""
    train_text, val_text = data.load_text(config.data)
    val_ids = vocab.encode(val_text)
    bits, scored = stream_bits_per_char(model, val_ids)
    baseline = KneserNey(train_text, order=5)
    # The baseline scores the same characters, with up to four characters of context.
    scored_text = val_text[: scored + 1]
    baseline_bits = baseline.bits_per_char(scored_text, start=1)
    found = {}
    if dynamic is not None:
        found = dynamic_score(model, vocab.encode(train_text), val_ids[: scored + 1], dynamic)
        found["dynamic_ratio_to_baseline"] = found["dynamic_bits_per_char"] / baseline_bits
    return {
        "bits_per_char": bits,
        "perplexity": 2.0**bits,
        "baseline_bits_per_char": baseline_bits,
        "baseline_perplexity": 2.0**baseline_bits,
        "ratio_to_baseline": bits / baseline_bits,
        "baseline": "order-5 interpolated Kneser-Ney character model, fitted on the training split",
        "validation_chars": scored,
        "training_chars": len(train_text),
        "data": config.data.source,
        **found,
    }


def dynamic_score(model: CharRNN, train_ids, ids, settings: dict) -> dict:
    """Bits/char of ``ids[1:]`` read as one stream with dynamic evaluation; the
    model's trained weights are restored after."""
    from apps.textgen.dynamic import SEGMENT, Adapter

    start = time.perf_counter()
    adapter = Adapter(model, train_ids, **settings)
    try:
        bits, _ = adapter.read(ids)
    finally:
        adapter.restore()
    return {
        "dynamic_bits_per_char": bits,
        "dynamic_perplexity": 2.0**bits,
        "dynamic": {**settings, "segment": SEGMENT, "seconds": time.perf_counter() - start},
    }


def headline(report: dict) -> str:
    """One line for ``make demo``'s summary: the model against its baseline."""
    line = (
        f"{report['bits_per_char']:.3f} bits/char against the n-gram baseline's "
        f"{report['baseline_bits_per_char']:.3f} "
        f"({report['ratio_to_baseline']:.3f}x; lower is better)"
    )
    if "dynamic_bits_per_char" in report:
        line += (
            f"; {report['dynamic_bits_per_char']:.3f} with dynamic evaluation "
            f"({report['dynamic_ratio_to_baseline']:.3f}x)"
        )
    return line
