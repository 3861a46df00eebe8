"""forecast's backtest against its baselines, per preset.

Trains the preset on each series (co2, sunspots, elnino by default; also
macrodata, and two series made here with a fixed seed: ``hourly``, a year of
hourly temperatures with a sharp afternoon peak, a yearly swing and a
random-walk drift; ``daily``, three years of daily load with a yearly and a
weekly season, a trend and noise), runs ``rnnkit forecast evaluate`` (rolling
origin, the last 20 windows of the held-out part) and prints the MASE of the
RNN, naive, seasonal naive and Holt-Winters (ETS), the RNN's 10-90% interval
coverage and the training time. ``--base naive`` trains the first model (the
last value plus a learned correction) for comparison.

    python benchmarks/forecast_quality.py [--preset full] [--series co2 --series elnino]
    python benchmarks/forecast_quality.py --seeds 3    # the spread over training seeds
    python benchmarks/forecast_quality.py --preset quick --series hourly --base naive
    python benchmarks/forecast_quality.py --set model.baselines=false --set data.val_blocks=1
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
SYNTHETIC = ("hourly", "daily")


def write_synthetic(name: str, folder: Path) -> list[str]:
    """A series made here (fixed seed) as a CSV; the ``train`` options that read it."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    if name == "hourly":
        t = np.arange(24 * 365)
        hour = t % 24
        values = (
            10
            + 8 * np.exp(-(((hour - 14) / 4.0) ** 2))
            - 2 * np.cos(2 * np.pi * hour / 24)
            - 8 * np.cos(2 * np.pi * t / (24 * 365))
            + np.cumsum(rng.normal(0, 0.02, len(t)))
            + rng.normal(0, 0.05, len(t))
        )
        times = pd.date_range("2023-01-01", periods=len(t), freq="h")
    else:  # daily
        t = np.arange(3 * 365)
        values = (
            50
            + 10 * np.sin(2 * np.pi * t / 365.25)
            + 5 * (t % 7 >= 5)
            + 0.01 * t
            + rng.normal(0, 1.0, len(t))
        )
        times = pd.date_range("2022-01-01", periods=len(t), freq="D")
    path = folder / f"{name}.csv"
    pd.DataFrame({"time": times, "value": values.round(3)}).to_csv(path, index=False)
    return ["--data", f"csv:{path}", "--time-col", "time", "--target", "value"]


def train(preset: str, series: str, seed: int, base: str | None = None, settings=()) -> Path:
    """A run of ``preset`` trained on ``series`` in a new temporary folder."""
    run = Path(tempfile.mkdtemp(prefix=f"forecast-{series}-")) / "run"
    if series in SYNTHETIC:
        data = write_synthetic(series, run.parent)
    else:
        data = ["--data", f"statsmodels:{series}"]
    subprocess.run(
        [*RNNKIT, "train", "--preset", preset, *data]
        + ["--seed", str(seed), "--run-dir", str(run), "--quiet"]
        + (["--base", base] if base else [])
        + [arg for item in settings for arg in ("--set", item)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return run


def train_and_evaluate(
    preset: str, series: str, seed: int, base: str | None = None, settings=()
) -> dict:
    start = time.perf_counter()
    run = train(preset, series, seed, base, settings)
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
    parser.add_argument("--seeds", type=int, default=1, help="train N seeds per series")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them (default 0)")
    parser.add_argument("--base", choices=["auto", "seasonal", "naive"], help="the model's base")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting passed to train, e.g. model.baselines=false data.val_blocks=1 (the "
        "model before the baselines were candidates)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    series_names = args.series or ["co2", "sunspots", "elnino"]

    rows = []
    for name in series_names:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            found = train_and_evaluate(args.preset, name, seed, args.base, args.set)
            rows.append((name, seed, found))
    if args.json:
        print(json.dumps([{"series": n, "seed": s, **r} for n, s, r in rows], indent=2))
        return
    header = f"{'series':<10} {'seed':>4} " + " ".join(f"{m:>14}" for m in MODELS)
    print(f"MASE, preset {args.preset} (lower is better); coverage of the 10-90% interval")
    print(
        header
        + f" {'rnn cover %':>12} {'ets cover %':>12} {'epochs':>6} {'train':>7}  choice (steps)"
    )
    for name, seed, r in rows:
        found = r["models"]
        print(
            f"{name:<10} {seed:>4} "
            + " ".join(f"{found[m]['mase']:>14.3f}" if m in found else f"{'-':>14}" for m in MODELS)
            + f" {100 * found['rnn']['coverage']:>12.1f} {100 * found['ets']['coverage']:>12.1f}"
            + f" {r['epochs']:>6} {r['train_seconds']:>6.0f}s  "
            + ", ".join(f"{k.replace('baseline_', 'b:')} {n}" for k, n in r["choice"].items())
        )


if __name__ == "__main__":
    main()
