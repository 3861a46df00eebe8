"""Training throughput of rnnkit's recurrent layers next to Keras's and PyTorch's.

Model: Embedding(65, 64) -> recurrent layer (return_sequences) -> Dense(65),
Adam, sparse softmax cross-entropy; one training step per batch on fixed
random tokens. Variants run alternately, one block of steps each per round, so
drift of a shared machine hits them all alike; the median round counts (the
best is printed beside it).

Each cell (LSTM, GRU, Elman with tanh; Elman with relu and sigmoid
reported) runs as rnnkit's layer, as Keras's in each of its settings
(``use_cudnn=False``; the default, ``use_cudnn="auto"``; and
``use_cudnn=False`` compiled with ``jit_compile=True``; ``SimpleRNN`` has
no cuDNN setting) and as PyTorch's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``.
Ratios compare rnnkit with the better Keras setting and with PyTorch.

GFLOP/s counts the recurrent layer's matmuls, forward and backward: per
token ``2 (E + H) G`` forward (the input projection and the recurrent
matmul, ``G`` = 4H, 3H or H) and twice that backward (the gradients of the
inputs and of the weights). The machine's fp32 peak is a 4096 x 4096
``tf.matmul`` timed once a round beside the variants (its median over the
rounds); "% peak" is the variant's GFLOP/s against it.

``--memory`` measures instead the peak resident memory of a training step
(B32 T2000 H256, LSTM), each variant in a fresh process with its model
built: what the first step adds to the resident memory at its peak (with
TensorFlow's tracing), what the second adds (the process's peak is reset
through ``/proc/self/clear_refs``; TensorFlow keeps the first step's
buffers, PyTorch returns them), and the process's peak.

    python benchmarks/rnn_throughput.py            # both shapes, every variant
    python benchmarks/rnn_throughput.py --quick    # a small shape, two rounds
    python benchmarks/rnn_throughput.py --cells lstm --shape B64-T100-H256
    python benchmarks/rnn_throughput.py --variants torch "rnnkit bf16"
    python benchmarks/rnn_throughput.py --memory
    python benchmarks/rnn_throughput.py --json     # figures as JSON on stdout

rnnkit trains with its native kernels when they are built (`make venv`
builds them) and no GPU is visible, else with its XLA-compiled loops;
RNNKIT_NATIVE=0 forces the latter. The first line says which. Nothing here
assumes a CPU: on a GPU Keras's default setting is the cuDNN one, PyTorch's
layers run on CUDA, and the peak is the GPU's fp32 matmul.
PyTorch rows appear when `torch` imports (`make bench` installs it). Where
the CPU has AVX512_BF16, "rnnkit bf16" is rnnkit's layer with
``RNNKIT_BF16=1`` (bfloat16 recurrent matmuls, float32 accumulation).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import rnnkit.layers
from rnnkit.kernels import native

VOCAB, EMBED = 65, 64
SHAPES = {
    "B64-T100-H256": (64, 100, 256),
    "B32-T500-H128": (32, 500, 128),
}
QUICK_SHAPES = {"B16-T50-H64": (16, 50, 64)}
MEMORY_SHAPE = (32, 2000, 256)
GATES = {"lstm": 4, "gru": 3, "elman": 1, "elman-relu": 1, "elman-sigmoid": 1}
CELLS = tuple(GATES)


def keras_variant(make_layer, batch, steps, jit_compile=False):
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
        jit_compile=jit_compile,
    )
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (batch, steps)).astype("int32")
    y = rng.integers(0, VOCAB, (batch, steps)).astype("int32")
    return lambda: model.train_on_batch(x, y)


def torch_variant(cell, batch, steps, units):
    import torch

    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(VOCAB, EMBED)
            if cell == "lstm":
                self.rnn = torch.nn.LSTM(EMBED, units, batch_first=True)
            elif cell == "gru":
                self.rnn = torch.nn.GRU(EMBED, units, batch_first=True)
            else:
                nonlinearity = "relu" if cell == "elman-relu" else "tanh"
                self.rnn = torch.nn.RNN(EMBED, units, batch_first=True, nonlinearity=nonlinearity)
            self.out = torch.nn.Linear(units, VOCAB)

        def forward(self, x):
            return self.out(self.rnn(self.embed(x))[0])

    model = Model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randint(0, VOCAB, (batch, steps), device=device)
    y = torch.randint(0, VOCAB, (batch, steps), device=device)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x).reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()  # waits for the device

    return step


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def variants(cell, batch, steps, units) -> dict:
    """``{name: step function}`` for one cell: rnnkit, each Keras setting, PyTorch."""
    activation = cell.split("-")[1] if "-" in cell else "tanh"
    seq = dict(return_sequences=True)
    out = {}
    if cell == "lstm":
        out["rnnkit"] = lambda: rnnkit.layers.LSTM(units, **seq)
        out["keras"] = lambda: keras.layers.LSTM(units, use_cudnn=False, **seq)
        out["keras auto"] = lambda: keras.layers.LSTM(units, **seq)
    elif cell == "gru":
        out["rnnkit"] = lambda: rnnkit.layers.GRU(units, **seq)
        out["keras"] = lambda: keras.layers.GRU(units, use_cudnn=False, **seq)
        out["keras auto"] = lambda: keras.layers.GRU(units, **seq)
    else:
        out["rnnkit"] = lambda: rnnkit.layers.Elman(units, activation=activation, **seq)
        out["keras"] = lambda: keras.layers.SimpleRNN(units, activation=activation, **seq)
    fns = {name: keras_variant(make, batch, steps) for name, make in out.items()}
    if native.ops() is not None and native.has_bf16():
        fns["rnnkit bf16"] = _bf16(keras_variant(out["rnnkit"], batch, steps))
    fns["keras xla"] = keras_variant(out["keras"], batch, steps, jit_compile=True)
    if has_torch() and cell != "elman-sigmoid":  # nn.RNN: tanh or relu only
        fns["torch"] = torch_variant(cell, batch, steps, units)
    return fns


def _bf16(step):
    """``step`` with ``RNNKIT_BF16=1`` while it runs (it is read when the step is traced)."""

    def run():
        before = os.environ.get("RNNKIT_BF16")
        os.environ["RNNKIT_BF16"] = "1"
        try:
            return step()
        finally:
            os.environ.pop("RNNKIT_BF16")
            if before is not None:
                os.environ["RNNKIT_BF16"] = before

    return run


def layer_flops_per_token(cell: str, units: int) -> float:
    """Matmul FLOPs of the recurrent layer per token, forward and backward."""
    return 3 * 2 * (EMBED + units) * GATES[cell] * units


class MatmulPeak:
    """The machine's fp32 matmul GFLOP/s, timed between the variants of every round (it
    drifts with the machine: 260-440 GFLOP/s within a minute on the 2-core VM), after
    ``warmup_s`` seconds of products (the thread pool and the clock ramp up)."""

    def __init__(self, n: int = 4096, warmup_s: float = 2.0):
        self.n = n
        a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
        product = tf.function(lambda: tf.matmul(a, b))
        self.product = lambda: product().numpy()
        start = time.perf_counter()
        while time.perf_counter() - start < warmup_s:
            self.product()

    def __call__(self) -> float:
        start = time.perf_counter()
        self.product()
        return 2 * self.n**3 / (time.perf_counter() - start) / 1e9


def measure(cell, shape, rounds, steps_per_round, peak_meter, only=()):
    batch, steps, units = shape
    fns = variants(cell, batch, steps, units)
    if only:
        fns = {name: fn for name, fn in fns.items() if name in only}
    for fn in fns.values():  # build, trace, compile
        fn()
        fn()
    rates = {name: [] for name in fns}
    peaks = []
    for _ in range(rounds):
        peaks.append(peak_meter())
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(steps_per_round):
                fn()
            rates[name].append(batch * steps * steps_per_round / (time.perf_counter() - start))
    peak = statistics.median(peaks)
    flops = layer_flops_per_token(cell, units)
    found = {}
    for name, got in rates.items():
        median = statistics.median(got)
        found[name] = {
            "tokens_per_s": median,
            "best_tokens_per_s": max(got),
            "gflops": median * flops / 1e9,
            "percent_of_peak": 100 * median * flops / 1e9 / peak,
        }
    ours = found["rnnkit"]["tokens_per_s"]
    keras = [v["tokens_per_s"] for k, v in found.items() if k.startswith("keras")]
    ratios = {"rnnkit/keras": ours / max(keras)} if keras else {}
    if "torch" in found:
        ratios["rnnkit/torch"] = ours / found["torch"]["tokens_per_s"]
    if "rnnkit bf16" in found:
        bf16 = found["rnnkit bf16"]["tokens_per_s"]
        ratios["bf16/rnnkit"] = bf16 / ours
        if "torch" in found:
            ratios["bf16/torch"] = bf16 / found["torch"]["tokens_per_s"]
    return {"variants": found, "ratios": ratios, "peak_gflops": peak}


# --memory: each variant in a process of its own.


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(variant: str) -> dict:
    """Each of two training steps' peak resident memory above the resident memory before
    it, and the process's peak."""
    batch, steps, units = MEMORY_SHAPE
    if variant == "torch":
        step = torch_variant("lstm", batch, steps, units)
    else:
        fns = {
            "rnnkit": lambda: rnnkit.layers.LSTM(units, return_sequences=True),
            "keras": lambda: keras.layers.LSTM(units, use_cudnn=False, return_sequences=True),
        }
        step = keras_variant(fns[variant], batch, steps)
    found = {}
    for name in ("first_step_mib", "second_step_mib"):
        before = _rss_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak, to the current resident size
        step()
        found[name] = (_rss_kib("VmHWM") - before) / 1024
    return {**found, "peak_mib": _rss_kib("VmHWM") / 1024}


def memory(as_json: bool) -> dict:
    names = ["rnnkit", "keras"] + (["torch"] if has_torch() else [])
    found = {}
    for name in names:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", name],
            check=True,
            capture_output=True,
            text=True,
        )
        found[name] = json.loads(out.stdout)
    if not as_json:
        batch, steps, units = MEMORY_SHAPE
        print(f"LSTM training step, B{batch} T{steps} H{units}: resident memory (MiB)")
        for name, got in found.items():
            first, second = got["first_step_mib"], got["second_step_mib"]
            print(
                f"  {name:<8} first step adds {first:6.0f}, second {second:6.0f}; "
                f"process peak {got['peak_mib']:6.0f}"
            )
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small shape, two short rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--steps", type=int, default=None, help="training steps per variant per round"
    )
    parser.add_argument("--shape", choices=sorted(SHAPES), help="only this shape")
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument(
        "--variants",
        nargs="+",
        help="only these variants (rnnkit is always run): e.g. torch 'rnnkit bf16'",
    )
    parser.add_argument("--memory", action="store_true", help="peak memory of a training step")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child)))
        return
    if args.memory:
        found = memory(args.json)
        if args.json:
            print(json.dumps({"memory": found}, indent=2))
        return
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shape:
        shapes = {args.shape: SHAPES[args.shape]}
    rounds = args.rounds or (2 if args.quick else 5)
    steps = args.steps or (2 if args.quick else 4)

    kernels = "native" if native.ops() is not None else "xla"
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    peak_meter = MatmulPeak()
    results = {"rnnkit_kernels": kernels, "device": device}
    if not args.json:
        print(f"rnnkit training kernels: {kernels}; device: {device}")
    for name, shape in shapes.items():
        results[name] = {}
        for cell in args.cells:
            only = {"rnnkit", *args.variants} if args.variants else ()
            found = measure(cell, shape, rounds, steps, peak_meter, only)
            results[name][cell] = found
            if args.json:
                continue
            print(
                f"\n{name} {cell}: median (best) of {rounds} rounds x {steps} steps; fp32 "
                f"matmul peak {found['peak_gflops']:,.0f} GFLOP/s (median of the rounds)"
            )
            for variant, got in found["variants"].items():
                rate, best = got["tokens_per_s"], got["best_tokens_per_s"]
                print(
                    f"  {variant:<12} {rate:>10,.0f} ({best:>10,.0f}) tokens/s "
                    f"{got['gflops']:7.1f} GFLOP/s {got['percent_of_peak']:5.1f}% peak"
                )
            print("  " + "  ".join(f"{k} {v:.2f}x" for k, v in found["ratios"].items()))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
