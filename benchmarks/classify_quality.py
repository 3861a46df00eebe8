"""classify's quality on the embedded test split: the RNN's variants against the baselines.

For each seed, trains every variant (in turn, so the machine's noise falls
on all of them alike), runs ``rnnkit classify evaluate --json`` on each and
prints every run, then for each variant the mean and the spread (min-max)
over the seeds of the RNN's test accuracy, macro F1 and expected
calibration error (after temperature scaling, and before), its best epoch
and its training time, beside the baselines (which do not depend on the
seed). A variant is ``NAME=OPTIONS`` (train options, e.g. ``attention=--pooling
attention``); without one, the preset as it is.

    python benchmarks/classify_quality.py [--preset quick] [--seeds 3] [--first-seed 0]
        [--variant NAME=OPTIONS ...] [--json]
"""

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "classify"]


def run_variant(preset: str, seed: int, options: list[str]) -> dict:
    run = Path(tempfile.mkdtemp(prefix="classify-")) / "run"
    start = time.perf_counter()
    subprocess.run(
        [*RNNKIT, "train", "--preset", preset, "--seed", str(seed), *options]
        + ["--run-dir", str(run), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    out = subprocess.run(
        [*RNNKIT, "evaluate", str(run), "--json"], check=True, capture_output=True, text=True
    )
    best = json.loads((run / "metrics.json").read_text()).get("best") or {}
    return {"report": json.loads(out.stdout), "seconds": seconds, "best_epoch": best.get("epoch")}


def spread(values) -> str:
    return f"{statistics.mean(values):.4f} ({min(values):.4f}-{max(values):.4f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OPTIONS")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    variants = dict(v.split("=", 1) for v in args.variant) or {"preset": ""}
    results: dict[str, list[dict]] = {name: [] for name in variants}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name, options in variants.items():
            found = run_variant(args.preset, seed, shlex.split(options))
            results[name].append(found)
            rnn = found["report"]["models"]["rnn"]
            print(
                f"seed {seed} {name}: accuracy {rnn['accuracy']:.4f}, macro F1 "
                f"{rnn['macro_f1']:.4f}, ECE {rnn['ece']:.4f} (unscaled {rnn['ece_unscaled']:.4f}),"
                f" best epoch {found['best_epoch']}, {found['seconds']:.0f} s",
                file=sys.stderr,
            )
    table = {}
    for name, runs in results.items():
        rnn = [r["report"]["models"]["rnn"] for r in runs]
        table[name] = {
            **{k: [m[k] for m in rnn] for k in ("accuracy", "macro_f1", "ece", "ece_unscaled")},
            "seconds": [r["seconds"] for r in runs],
            "best_epoch": [r["best_epoch"] for r in runs],
        }
    first = next(iter(results.values()))[0]["report"]
    baselines = {k: v for k, v in first["models"].items() if k != "rnn"}
    if args.json:
        print(json.dumps({"preset": args.preset, "variants": table, "baselines": baselines}))
        return 0
    print(
        f"classify {args.preset}, {args.seeds} seeds from {args.first_seed}; test texts: "
        f"{first['texts']}"
    )
    print(f"{'model':<22}{'accuracy':>26}{'macro F1':>26}{'ECE':>26}{'ECE unscaled':>26}  s")
    for name, row in table.items():
        print(
            f"{'rnn ' + name:<22}"
            + "".join(
                f"{spread(row[k]):>26}" for k in ("accuracy", "macro_f1", "ece", "ece_unscaled")
            )
            + f"  {statistics.median(row['seconds']):.0f}"
        )
    for name, found in baselines.items():
        print(
            f"{name:<22}" + "".join(f"{found[k]:>26.4f}" for k in ("accuracy", "macro_f1", "ece"))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
