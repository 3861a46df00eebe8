"""Latency of rnnkit's TF Serving clients over loopback, against the local SavedModel.

For each case (an app's signature called with one warmup request) three
variants alternate over ``--rounds`` rounds of ``--calls`` calls each:

- ``local``: the signature of ``tf.saved_model.load`` in this process;
- ``rest``: ``rnnkit.serving.client`` over HTTP (JSON row format);
- ``grpc``: the same client over gRPC (``PredictionService.Predict``).

The server is ``tests/serving_standin.py``, the stand-in for TF Serving the
tests use (Python's HTTP server and grpcio, calling the same SavedModel in
another thread of this process). The remote figures are therefore the
client's encoding and decoding, the loopback transport and the stand-in's
own decoding, on top of the model: TF Serving's C++ server would add less
than the stand-in does. Medians over rounds of the per-call mean, in ms.

    python benchmarks/serving_latency.py [--saved-models DIR] [--rounds 5] [--calls 20]

Without ``--saved-models`` it trains and exports the apps' tiny presets first.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("textgen", "step"),
    ("textgen", "serving_default"),
    ("forecast", "serving_default"),
    ("caption", "greedy"),
]


def _tiny_exports(base: Path) -> Path:
    from rnnkit.testing import cli as rcli

    for app in sorted({app for app, _ in CASES}):
        print(f"training and exporting {app} (tiny)", file=sys.stderr, flush=True)
        run = rcli.train(app, base / "runs" / app)
        rcli.export(app, run, base / "saved_models" / app)
    return base / "saved_models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved-models", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()

    import tensorflow as tf

    from rnnkit.serving import client, layout

    sys.path.insert(0, str(ROOT / "tests"))
    from serving_standin import StandIn

    with tempfile.TemporaryDirectory() as tmp:
        saved_models = args.saved_models or _tiny_exports(Path(tmp))
        results = []
        with StandIn(saved_models) as server:
            for app, signature in CASES:
                version = layout.latest(saved_models / app)
                if version is None:
                    print(f"skipping {app}: not exported", file=sys.stderr)
                    continue
                inputs = next(
                    i
                    for name, i in layout.read_warmup(version / layout.WARMUP_FILE)
                    if name == signature
                )
                local = tf.saved_model.load(str(version)).signatures[signature]
                variants = {
                    "local": lambda f=local, **i: f(**{k: tf.constant(v) for k, v in i.items()}),
                    "rest": client.connect(server.rest_url, app).signatures[signature],
                    "grpc": client.connect(server.grpc_url, app).signatures[signature],
                }
                for call in variants.values():  # warm: tracing, metadata, connections
                    call(**inputs)
                times = {name: [] for name in variants}
                for _ in range(args.rounds):
                    for name, call in variants.items():
                        start = time.perf_counter()
                        for _ in range(args.calls):
                            call(**inputs)
                        times[name].append((time.perf_counter() - start) / args.calls * 1e3)
                row = {"app": app, "signature": signature}
                row.update({f"{k}_ms": round(statistics.median(v), 2) for k, v in times.items()})
                results.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)

    print("| case | local SavedModel, ms | REST, ms | gRPC, ms |")
    print("| --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['app']} `{r['signature']}` | {r['local_ms']} | {r['rest_ms']} | {r['grpc_ms']} |"
        )


if __name__ == "__main__":
    main()
