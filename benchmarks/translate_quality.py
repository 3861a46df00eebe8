"""translate's quality on the embedded test split: the RNN against its baselines, over seeds.

Trains the preset for each seed (or takes trained runs, ``--run``) in the
given direction, with or without Ding's phrases, then runs ``rnnkit
translate evaluate --json`` on each: BLEU, chrF (sacrebleu, 0-100) and exact
match for the RNN (beam and greedy), copying the source, the nearest
neighbour and word-by-word (IBM Model 1), overall and by source length
(1-5, 6-10, 11+ words). It prints each run, then the mean and the spread
(min-max) over the seeds. Other options go to ``train`` as they are (e.g.
``--tokens words``).

    python benchmarks/translate_quality.py [--preset quick] [--seeds 3] [--first-seed 0]
        [--direction de-en] [--phrases/--no-phrases] [--json] [TRAIN OPTIONS]
    python benchmarks/translate_quality.py --run runs/translate/RUN [--run ...]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "translate"]


def train(
    preset: str, seed: int, direction: str, phrases: bool | None, options: list[str]
) -> tuple[Path, float]:
    run = Path(tempfile.mkdtemp(prefix="translate-")) / "run"
    extra = [] if phrases is None else ["--phrases" if phrases else "--no-phrases"]
    extra += options
    start = time.perf_counter()
    subprocess.run(
        [*RNNKIT, "train", "--preset", preset, "--seed", str(seed), "--direction", direction]
        + [*extra, "--run-dir", str(run), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return run, time.perf_counter() - start


def evaluate(run: Path) -> dict:
    out = subprocess.run(
        [*RNNKIT, "evaluate", str(run), "--json"], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def summary(results: list[dict]) -> dict:
    """Mean and (min, max) over the runs of every model's scores and length buckets."""
    found = {}
    for model in results[0]["report"]["models"]:
        rows = {
            **{k: [r["report"]["models"][model][k] for r in results] for k in ("bleu", "chrf")},
            "exact": [100 * r["report"]["models"][model]["exact"] for r in results],
            **{
                f"bleu {bucket}": [r["report"]["by_length"][model][bucket]["bleu"] for r in results]
                for bucket in results[0]["report"]["by_length"][model]
            },
        }
        found[model] = {
            k: {"mean": sum(v) / len(v), "min": min(v), "max": max(v)} for k, v in rows.items()
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["tiny", "quick", "full"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds N, N + 1, ...")
    parser.add_argument("--direction", default="de-en", choices=["de-en", "en-de"])
    parser.add_argument("--phrases", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--run", action="append", default=[], help="trained runs to evaluate")
    parser.add_argument("--json", action="store_true")
    args, options = parser.parse_known_args()

    trained = [(Path(r), None) for r in args.run] or [
        train(args.preset, seed, args.direction, args.phrases, options)
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    results = []
    for run, seconds in trained:
        config = json.loads((run / "config.json").read_text())
        results.append(
            {"run": str(run), "seed": config["seed"], "train_seconds": seconds}
            | {"report": evaluate(run)}
        )
    table = summary(results)
    if args.json:
        print(json.dumps({"runs": results, "summary": table}, indent=2, ensure_ascii=False))
        return
    for r in results:
        took = f", trained in {r['train_seconds'] / 60:.1f} min" if r["train_seconds"] else ""
        report = r["report"]
        print(f"{r['run']} (seed {r['seed']}, {report['direction']}{took}): BLEU", end="")
        print(", ".join(f" {m} {v['bleu']:.2f}" for m, v in report["models"].items()))
    columns = list(next(iter(table.values())))
    print(f"\nmean (min-max) over {len(results)} runs")
    print(f"{'model':<19}" + "".join(f"{c:>19}" for c in columns))
    for model, scores in table.items():
        cells = [f"{v['mean']:.2f} ({v['min']:.1f}-{v['max']:.1f})" for v in scores.values()]
        print(f"{model:<19}" + "".join(f"{c:>19}" for c in cells))


if __name__ == "__main__":
    main()
