"""textgen's quality against its n-gram baseline, and the training time, per preset.

Trains each preset on the embedded corpus (or reads runs already trained)
and prints validation bits/char of the model and of the order-5 Kneser-Ney
baseline, their ratio (issue goal for `full`: at most 0.85) and the time.

    python benchmarks/textgen_quality.py --preset quick [--preset full]
    python benchmarks/textgen_quality.py --run runs/textgen/demo-...   # evaluate only
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "textgen"]


def _evaluate(run: Path) -> dict:
    out = subprocess.run(
        [*RNNKIT, "evaluate", str(run), "--json"], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    metrics = json.loads((run / "metrics.json").read_text())
    report["train_seconds"] = sum(h["seconds"] for h in metrics["history"])
    report["epochs"] = len(metrics["history"])
    report["status"] = metrics["status"]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", default=[], choices=["tiny", "quick", "full"])
    parser.add_argument("--run", action="append", default=[], help="an already trained run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.preset and not args.run:
        args.preset = ["quick"]

    rows = {}
    for preset in args.preset:
        run = Path(tempfile.mkdtemp(prefix=f"textgen-{preset}-")) / "run"
        start = time.perf_counter()
        subprocess.run(
            [*RNNKIT, "train", "--preset", preset, "--run-dir", str(run), "--quiet"],
            check=True,
            stdout=sys.stderr,
        )
        report = _evaluate(run)
        report["wall_seconds"] = time.perf_counter() - start
        rows[preset] = report
    for run in args.run:
        rows[run] = _evaluate(Path(run))

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'run':<34} {'bits/char':>9} {'baseline':>9} {'ratio':>6} {'epochs':>6} {'train':>8}")
    for name, r in rows.items():
        print(
            f"{name:<34} {r['bits_per_char']:>9.4f} {r['baseline_bits_per_char']:>9.4f} "
            f"{r['ratio_to_baseline']:>6.3f} {r['epochs']:>6} {r['train_seconds'] / 60:>6.1f} m"
        )


if __name__ == "__main__":
    main()
