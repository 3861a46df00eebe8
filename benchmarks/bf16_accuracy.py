"""Accuracy of the opt-in bfloat16 recurrent matmuls (``RNNKIT_BF16=1``): a model trained both ways.

A character language model (Embedding 64 -> rnnkit recurrent layer ->
Dense) trains on textgen's embedded corpus (100-character windows, batch
64, Adam) in float32 and with bf16 recurrent matmuls, with the same seed,
initial weights and batches; the seeds alternate between the two. Reported
per seed: the held-out bits per character after ``--steps`` steps (the last
10% of the corpus, evaluated in float32: inference graphs never use the
native ops) and the median training step time. Needs the native kernels
and a CPU with AVX512_BF16.

    python benchmarks/bf16_accuracy.py [--cell lstm] [--units 256] [--steps 300] [--seeds 3]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import json
import math
import statistics
import sys
import time

import keras
import numpy as np

import rnnkit.layers
from apps.textgen import data
from rnnkit.kernels import native

LAYERS = {"lstm": rnnkit.layers.LSTM, "gru": rnnkit.layers.GRU, "elman": rnnkit.layers.Elman}
BATCH, WINDOW = 64, 100


def _ids():
    text = data.EMBEDDED.read_text(encoding="utf-8")
    vocab = data.Vocab.from_text(text)
    ids = np.array(vocab.encode(text), dtype="int32")
    cut = int(0.9 * len(ids))
    return ids[:cut], ids[cut:], len(vocab)


def _windows(ids, starts):
    x = np.stack([ids[s : s + WINDOW] for s in starts])
    y = np.stack([ids[s + 1 : s + WINDOW + 1] for s in starts])
    return x, y


def train(cell, units, steps, seed, bf16, train_ids, held_out, vocab_size):
    """Held-out bits per character after ``steps`` steps, and the median step's seconds."""
    os.environ["RNNKIT_BF16"] = "1" if bf16 else "0"  # read when the step is traced
    try:
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [
                keras.Input((WINDOW,), dtype="int32"),
                keras.layers.Embedding(vocab_size, 64),
                LAYERS[cell](units, return_sequences=True),
                keras.layers.Dense(vocab_size),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(3e-3, clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        rng = np.random.default_rng(seed)
        times = []
        for _ in range(steps):
            x, y = _windows(train_ids, rng.integers(0, len(train_ids) - WINDOW - 1, BATCH))
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
    finally:
        os.environ.pop("RNNKIT_BF16")
    starts = np.arange(0, len(held_out) - WINDOW - 1, WINDOW)
    x, y = _windows(held_out, starts)
    nats = model.evaluate(x, y, batch_size=BATCH, verbose=0)
    return nats / math.log(2), statistics.median(times[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=sorted(LAYERS), default="lstm")
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args()
    if native.ops() is None or not native.has_bf16():
        sys.exit("bf16_accuracy: needs the native kernels and a CPU with AVX512_BF16")
    train_ids, held_out, vocab_size = _ids()
    found = []
    for seed in range(args.seeds):
        row = {"seed": seed}
        for name, bf16 in (("float32", False), ("bf16", True)):
            bits, step_s = train(
                args.cell, args.units, args.steps, seed, bf16, train_ids, held_out, vocab_size
            )
            row[name] = {"bits_per_char": bits, "step_s": step_s}
        found.append(row)
        if not args.json:
            f, b = row["float32"], row["bf16"]
            print(
                f"seed {seed}: float32 {f['bits_per_char']:.4f} bits/char "
                f"({1000 * f['step_s']:.0f} ms a step), bf16 {b['bits_per_char']:.4f} "
                f"({1000 * b['step_s']:.0f} ms), difference "
                f"{b['bits_per_char'] - f['bits_per_char']:+.4f}",
                flush=True,
            )
    diffs = [r["bf16"]["bits_per_char"] - r["float32"]["bits_per_char"] for r in found]
    summary = {
        "cell": args.cell,
        "units": args.units,
        "steps": args.steps,
        "seeds": found,
        "mean_difference_bits_per_char": statistics.mean(diffs),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{args.cell} {args.units} units, {args.steps} steps: bf16 minus float32 "
            f"{statistics.mean(diffs):+.4f} bits/char (mean of {len(diffs)} seeds)"
        )


if __name__ == "__main__":
    main()
