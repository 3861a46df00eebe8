"""Training throughput of rnnkit's recurrent layers next to Keras's and PyTorch's.

Model: Embedding(65, 64) -> recurrent layer (return_sequences) -> Dense(65),
Adam, sparse softmax cross-entropy; one training step per batch on fixed
random tokens. Variants run alternately, one block of steps each per round, so
drift of a shared machine hits them all alike; the best round counts.

    python benchmarks/rnn_throughput.py            # both shapes, all variants
    python benchmarks/rnn_throughput.py --quick    # a small shape, two rounds
    python benchmarks/rnn_throughput.py --json     # figures as JSON on stdout

Keras's layers run with use_cudnn=False (faster than "auto" on a CPU).
rnnkit trains with its native kernels when they are built (`make venv`
builds them), else with its XLA-compiled loops; RNNKIT_NATIVE=0 forces the
latter. The first line of output says which.
PyTorch rows appear when `torch` imports (`pip install torch==2.13.0`).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import rnnkit.layers
from rnnkit.kernels import native

VOCAB, EMBED = 65, 64
SHAPES = {
    "B64-T100-H256": (64, 100, 256),
    "B32-T500-H128": (32, 500, 128),
}
QUICK_SHAPES = {"B16-T50-H64": (16, 50, 64)}


def keras_variant(make_layer, batch, steps):
    model = keras.Sequential(
        [
            keras.Input((steps,), batch_size=batch, dtype="int32"),
            keras.layers.Embedding(VOCAB, EMBED),
            make_layer(),
            keras.layers.Dense(VOCAB),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (batch, steps)).astype("int32")
    y = rng.integers(0, VOCAB, (batch, steps)).astype("int32")
    return lambda: model.train_on_batch(x, y)


def torch_variant(kind, batch, steps, units):
    import torch

    torch.manual_seed(0)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(VOCAB, EMBED)
            rnn = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
            self.rnn = rnn(EMBED, units, batch_first=True)
            self.out = torch.nn.Linear(units, VOCAB)

        def forward(self, x):
            return self.out(self.rnn(self.embed(x))[0])

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randint(0, VOCAB, (batch, steps))
    y = torch.randint(0, VOCAB, (batch, steps))

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def variants(batch, steps, units):
    out = {
        "rnnkit.LSTM": keras_variant(
            lambda: rnnkit.layers.LSTM(units, return_sequences=True), batch, steps
        ),
        "keras.LSTM": keras_variant(
            lambda: keras.layers.LSTM(units, return_sequences=True, use_cudnn=False), batch, steps
        ),
        "rnnkit.GRU": keras_variant(
            lambda: rnnkit.layers.GRU(units, return_sequences=True), batch, steps
        ),
        "keras.GRU": keras_variant(
            lambda: keras.layers.GRU(units, return_sequences=True, use_cudnn=False), batch, steps
        ),
    }
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not importable: PyTorch variants skipped", file=sys.stderr)
    else:
        out["torch.LSTM"] = torch_variant("lstm", batch, steps, units)
        out["torch.GRU"] = torch_variant("gru", batch, steps, units)
    return out


def measure(shape, rounds, steps_per_round):
    batch, steps, units = shape
    fns = variants(batch, steps, units)
    for fn in fns.values():  # build, trace, compile
        fn()
        fn()
    best = {name: 0.0 for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(steps_per_round):
                fn()
            elapsed = time.perf_counter() - start
            best[name] = max(best[name], batch * steps * steps_per_round / elapsed)
    ratios = {}
    for kind in ("LSTM", "GRU"):
        ours = best[f"rnnkit.{kind}"]
        ratios[f"{kind} rnnkit/keras"] = ours / best[f"keras.{kind}"]
        if f"torch.{kind}" in best:
            ratios[f"{kind} rnnkit/torch"] = ours / best[f"torch.{kind}"]
    return {"tokens_per_s": best, "ratios": ratios}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small shape, two short rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--steps", type=int, default=None, help="training steps per variant per round"
    )
    parser.add_argument("--shape", choices=sorted(SHAPES), help="only this shape")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shape:
        shapes = {args.shape: SHAPES[args.shape]}
    rounds = args.rounds or (2 if args.quick else 4)
    steps = args.steps or (3 if args.quick else 5)

    kernels = "native" if native.ops() is not None else "xla"
    if not args.json:
        print(f"rnnkit training kernels: {kernels}")
    results = {"rnnkit_kernels": kernels}
    for name, shape in shapes.items():
        results[name] = measure(shape, rounds, steps)
        if not args.json:
            print(
                f"\n{name} (batch, time, units = {shape}), best of {rounds} rounds x {steps} steps"
            )
            for variant, rate in results[name]["tokens_per_s"].items():
                print(f"  {variant:<14} {rate:>10,.0f} tokens/s")
            for ratio, value in results[name]["ratios"].items():
                print(f"  {ratio:<20} {value:5.2f}x")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
