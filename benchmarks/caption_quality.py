"""caption's quality on held-out digit images, against its baselines, and on unlike strips.

Trains the preset for each seed (or takes trained runs, ``--run``), then
evaluates every run (greedy, beam, nearest neighbour in pixels and in the
encoder's features, most frequent caption) on:

- ``test``: strips drawn as the test set is (``StripStyle()``), from digit
  images never seen in training;
- ``heavy noise``: background noise up to 72 (training: up to 40 with the
  wider ``WIDE_STYLE`` the presets train on, 24 without);
- ``thin strokes`` / ``thick strokes``: every digit eroded / dilated over 3
  pixels (training: about a third of them over 2);
- ``wide gaps``: 10-20 pixels between digits (training: 1-9), so the strip
  is wider and shrunk to the model's input;
- ``low resolution``: every digit drawn 8-14 pixels high and scaled back up,
  blocky or blurred (training with ``--degrade``: a third of them at 15-22);
- ``blur, faint ink``: the strip blurred by a Gaussian of 1.0-1.5 pixels,
  the ink at 45-55% of white, every stroke thinner or thicker (with
  ``--degrade``: blur up to 0.8, ink from 55%);
- ``wide digits`` / ``narrow digits``: every digit 1.4-1.7 / 0.55-0.7 times
  as wide (with ``--degrade``: 0.8-1.25; without, 1).

It prints BLEU-1, BLEU-4, CIDEr-D and exact match per model and condition.

    python benchmarks/caption_quality.py [--preset quick] [--seeds 1] [--first-seed 0] [--json]
    python benchmarks/caption_quality.py --run runs/caption/RUN [--run ...]
    python benchmarks/caption_quality.py --set data.degrade=true   # degraded training strips
"""

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "caption"]


def styles() -> dict:
    from apps.caption.config import DEGRADATIONS, WIDE_STYLE, StripStyle

    base = StripStyle()
    found = {
        "test": None,
        "heavy noise": dataclasses.replace(base, noise=72.0),
        "thin strokes": dataclasses.replace(base, thin=1.0, thick=0.0, stroke=3),
        "thick strokes": dataclasses.replace(base, thin=0.0, thick=1.0, stroke=3),
        "wide gaps": dataclasses.replace(base, gap=(10, 20)),
        "low resolution": dataclasses.replace(base, low_res=1.0, low_height=(8, 14)),
        "blur, faint ink": dataclasses.replace(
            base, blur=(1.0, 1.5), contrast=(0.45, 0.55), thin=0.5, thick=0.5
        ),
        "wide digits": dataclasses.replace(base, aspect=(1.4, 1.7)),
        "narrow digits": dataclasses.replace(base, aspect=(0.55, 0.7)),
    }
    # Each condition lies beyond what training draws, degraded (--degrade) or not.
    wide = dataclasses.replace(WIDE_STYLE, **DEGRADATIONS)
    assert found["heavy noise"].noise > wide.noise
    assert found["thin strokes"].stroke > wide.stroke
    assert found["wide gaps"].gap[0] > wide.gap[1]
    assert found["low resolution"].low_height[1] < wide.low_height[0]
    assert found["blur, faint ink"].blur[0] > wide.blur[1]
    assert found["blur, faint ink"].contrast[1] <= wide.contrast[0]
    assert found["wide digits"].aspect[0] > wide.aspect[1]
    assert found["narrow digits"].aspect[1] < wide.aspect[0]
    return found


def train(preset: str, seed: int, settings=()) -> tuple[Path, float]:
    run = Path(tempfile.mkdtemp(prefix="caption-")) / "run"
    start = time.perf_counter()
    subprocess.run(
        [
            *RNNKIT,
            "train",
            "--preset",
            preset,
            "--seed",
            str(seed),
            "--run-dir",
            str(run),
            "--quiet",
            *[arg for item in settings for arg in ("--set", item)],
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return run, time.perf_counter() - start


def conditions(run: Path, beam: int | None) -> dict[str, dict]:
    from apps.caption import evaluate
    from apps.caption.cli import APP
    from rnnkit import runs

    loaded = runs.load_run(APP, run)
    found = {}
    for name, style in styles().items():
        options = {"beam": beam, "style": style}
        found[name] = evaluate.evaluate(loaded, options)
        found[name].pop("examples")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["tiny", "quick", "full"])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them (default 0)")
    parser.add_argument("--beam", type=int, help="beam width (default: the run's)")
    parser.add_argument("--run", action="append", default=[], help="trained runs to evaluate")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting passed to train, e.g. data.degrade=true (degraded training strips)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    runs = [(Path(r), None) for r in args.run] or [
        train(args.preset, seed, args.set)
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    results = []
    for run, seconds in runs:
        config = json.loads((run / "config.json").read_text())
        results.append(
            {
                "run": str(run),
                "seed": config["seed"],
                "train_seconds": seconds,
                "conditions": conditions(run, args.beam),
            }
        )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    keys = ("bleu1", "bleu4", "cider_d", "exact_match")
    for r in results:
        took = f", trained in {r['train_seconds'] / 60:.1f} min" if r["train_seconds"] else ""
        print(f"\n{r['run']} (seed {r['seed']}{took})")
        print(f"{'condition':<17}{'model':<27}" + "".join(f"{k:>12}" for k in keys))
        for name, report in r["conditions"].items():
            for model, found in report["models"].items():
                print(f"{name:<17}{model:<27}" + "".join(f"{found[k]:>12.3f}" for k in keys))


if __name__ == "__main__":
    main()
