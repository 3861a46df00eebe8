"""Training throughput with 1 and 2 local workers, the per-worker batch fixed.

Each variant trains a textgen-sized model (embedding 64, two LSTM layers,
65-symbol output, 100-step windows of random symbols) for ``--steps`` steps
with ``rnnkit.training.fit``: one process under the default strategy, or two
processes under MultiWorkerMirroredStrategy on loopback (each with its own
``TF_CONFIG``, as ``rnnkit launch`` starts them). Two workers train a global
batch twice as large per step. The variants alternate over ``--rounds``;
the figures are medians over rounds of the steady steps (the first
``--warmup`` steps, tracing included, are left out).

    python benchmarks/cluster_scaling.py [--rounds 3] [--steps 60] [--batch 32] [--units 256]

On a machine with fewer cores than workers x threads, the workers share the
cores: the figure then shows what the all-reduce costs, not a speed-up.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEQ, VOCAB = 100, 65


def _worker(args) -> None:
    """One training process; prints its steady steps/s as JSON (the chief only)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from rnnkit import layers as L
    from rnnkit import strategies, training

    strategy = strategies.make_strategy("auto")
    workers = max(1, strategy.num_replicas_in_sync)
    global_batch = args.batch * workers

    def build_model():
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((SEQ,), dtype="int32"),
                keras.layers.Embedding(VOCAB, 64),
                L.LSTM(args.units, return_sequences=True),
                L.LSTM(args.units, return_sequences=True),
                keras.layers.Dense(VOCAB),
            ]
        )

    def loss(model, batch, training_):
        x, y = batch
        logits = model(x, training=training_)
        per_token = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        return tf.reduce_mean(per_token, axis=-1)

    tokens = np.random.default_rng(0).integers(0, VOCAB, (global_batch * 8, SEQ + 1))
    tokens = tokens.astype("int32")

    def train_data(epoch):
        ds = tf.data.Dataset.from_tensor_slices((tokens[:, :-1], tokens[:, 1:]))
        return ds.batch(global_batch, drop_remainder=True).repeat()

    times = []
    task = training.Task(build_model=build_model, loss=loss, train_data=train_data)
    config = training.TrainConfig(
        epochs=1,
        batch_size=global_batch,
        steps_per_epoch=args.steps,
        checkpoint_every=10**9,
        log_every=10**9,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        training.fit(
            task,
            config,
            run_dir,
            strategy=strategy,
            verbose=False,
            on_step=lambda step, loss: times.append(time.perf_counter()),
        )
    if strategies.is_chief(strategy):
        steady = times[args.warmup :]
        rate = (len(steady) - 1) / (steady[-1] - steady[0])
        print(json.dumps({"workers": workers, "steps_per_s": rate, "global_batch": global_batch}))


def _run(workers, args) -> dict:
    command = [sys.executable, __file__, "--worker-process"]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    command += ["--batch", str(args.batch), "--units", str(args.units)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CONFIG", None)
    if workers == 1:
        processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)]
    else:
        from rnnkit.cli import free_ports

        cluster = {"worker": [f"localhost:{p}" for p in free_ports(workers)]}
        processes = [
            subprocess.Popen(
                command,
                env={
                    **env,
                    "TF_CONFIG": json.dumps(
                        {"cluster": cluster, "task": {"type": "worker", "index": i}}
                    ),
                },
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for i in range(workers)
        ]
    outputs = [p.communicate()[0] for p in processes]
    if any(p.returncode for p in processes):
        sys.exit(f"a {workers}-worker run failed: exit codes {[p.returncode for p in processes]}")
    return json.loads(outputs[0].strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32, help="per-worker batch")
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--worker-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_process:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        _worker(args)
        return

    rates = {1: [], 2: []}
    for round_ in range(args.rounds):
        for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
            result = _run(workers, args)
            rates[workers].append(result["steps_per_s"])
            print(
                f"round {round_ + 1}: {workers} worker(s) {result['steps_per_s']:.2f} steps/s",
                file=sys.stderr,
            )
    print(f"per-worker batch {args.batch}, {args.units} units, {args.rounds} rounds (medians)")
    print(f"{'workers':>7} {'steps/s':>8} {'examples/s':>10} {'vs 1 worker':>11}")
    base = statistics.median(rates[1]) * args.batch
    for workers, found in rates.items():
        steps = statistics.median(found)
        examples = steps * args.batch * workers
        print(f"{workers:>7} {steps:>8.2f} {examples:>10.0f} {examples / base:>10.2f}x")


if __name__ == "__main__":
    main()
