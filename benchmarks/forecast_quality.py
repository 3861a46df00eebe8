"""forecast's backtest against its baselines on the statsmodels series, per preset.

Trains the preset on each series (co2, sunspots, elnino by default), runs
``rnnkit forecast evaluate`` (rolling origin, the last 20 windows of the
held-out part) and prints the MASE of the RNN, naive, seasonal naive and
Holt-Winters (ETS), the RNN's 10-90% interval coverage and the training time.
Issue goal for `full`: the RNN below seasonal naive on all three series, at or
below ETS on at least two, coverage within 10 points of 80%.

    python benchmarks/forecast_quality.py [--preset full] [--series co2 --series elnino]
    python benchmarks/forecast_quality.py --seeds 3    # the spread over training seeds
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "forecast"]
MODELS = ("rnn", "naive", "seasonal_naive", "ets")


def train_and_evaluate(preset: str, series: str, seed: int) -> dict:
    run = Path(tempfile.mkdtemp(prefix=f"forecast-{series}-")) / "run"
    start = time.perf_counter()
    subprocess.run(
        [*RNNKIT, "train", "--preset", preset, "--data", f"statsmodels:{series}"]
        + ["--seed", str(seed), "--run-dir", str(run), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    train_seconds = time.perf_counter() - start
    out = subprocess.run(
        [*RNNKIT, "evaluate", str(run), "--json"], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    metrics = json.loads((run / "metrics.json").read_text())
    report.update(train_seconds=train_seconds, epochs=len(metrics["history"]), run=str(run))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="full", choices=["tiny", "quick", "full"])
    parser.add_argument("--series", action="append", default=[])
    parser.add_argument("--seeds", type=int, default=1, help="train seeds 0..N-1 per series")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    series_names = args.series or ["co2", "sunspots", "elnino"]

    rows = []
    for name in series_names:
        for seed in range(args.seeds):
            rows.append((name, seed, train_and_evaluate(args.preset, name, seed)))
    if args.json:
        print(json.dumps([{"series": n, "seed": s, **r} for n, s, r in rows], indent=2))
        return
    header = f"{'series':<10} {'seed':>4} " + " ".join(f"{m:>14}" for m in MODELS)
    print(f"MASE, preset {args.preset} (lower is better); coverage of the 10-90% interval")
    print(header + f" {'rnn cover %':>12} {'ets cover %':>12} {'epochs':>6} {'train':>7}")
    for name, seed, r in rows:
        found = r["models"]
        print(
            f"{name:<10} {seed:>4} "
            + " ".join(f"{found[m]['mase']:>14.3f}" if m in found else f"{'-':>14}" for m in MODELS)
            + f" {found['rnn']['coverage']:>12.1f} {found['ets']['coverage']:>12.1f}"
            + f" {r['epochs']:>6} {r['train_seconds']:>6.0f}s"
        )


if __name__ == "__main__":
    main()
