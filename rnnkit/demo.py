"""What ``make demo`` prints before and after the apps run: the plan, then a summary.

``python -m rnnkit.demo plan APP...`` says what the demo will do and about
how long it takes on two cores; ``python -m rnnkit.demo summary --stamp S
APP...`` prints one line per app from the run's ``evaluation.json``: its
quality against the baseline (the app's ``evaluate.headline``), where the
SavedModel and the TensorBoard logs are.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

# App -> (minutes on two cores, what the demo does with it).
PLAN = {
    "textgen": (
        "8-13",
        "quick preset on the embedded Shakespeare: train, evaluate against an n-gram "
        "model, generate, export",
    ),
    "forecast": (
        "3",
        "quick preset on the CO2 series: train, backtest against seasonal naive and ETS, "
        "forecast with a plot, export",
    ),
    "speechtag": (
        "12",
        "quick preset on speech generated with eSpeak NG: train, evaluate on held-out "
        "voices, synthesize and tag an utterance, export",
    ),
    "caption": (
        "8",
        "quick preset on strips of handwritten digits: train, evaluate on unseen digits, "
        "caption three strips with an attention plot, export",
    ),
    "translate": (
        "10",
        "quick preset on German-English sentences of the Ding dictionary: train, evaluate "
        "against word-by-word (IBM Model 1) and nearest-neighbour baselines, translate with "
        "an attention plot, export",
    ),
    "classify": (
        "5",
        "quick preset on Rotten Tomatoes review snippets: train, evaluate against NB-SVM, "
        "TF-IDF + logistic regression and majority baselines, classify three sentences with "
        "their explanations, export",
    ),
}


def run_dir(app: str, stamp: str) -> Path:
    return Path("runs") / app / f"demo-{stamp}"


def plan(apps: list[str]) -> str:
    low = sum(int(PLAN[a][0].split("-")[0]) for a in apps)
    high = sum(int(PLAN[a][0].split("-")[-1]) for a in apps)
    total = f"{low}" if low == high else f"{low}-{high}"
    lines = [f"make demo: {len(apps)} app(s), about {total} minutes on two cores"]
    lines += [f"  {app:<10} {PLAN[app][0]:>5} min  {PLAN[app][1]}" for app in apps]
    lines.append(
        "  then `rnnkit serving check saved_models`; `make demo APP=forecast` runs one app"
    )
    return "\n".join(lines)


def summary(apps: list[str], stamp: str) -> str:
    from rnnkit.serving import layout

    lines = ["make demo: done"]
    for app in apps:
        run = run_dir(app, stamp)
        report = run / "evaluation.json"
        if not report.is_file():
            lines.append(f"  {app:<10} no evaluation in {run}")
            continue
        evaluate = importlib.import_module(f"apps.{app}.evaluate")
        version = layout.latest(Path("saved_models") / app)
        lines.append(f"  {app:<10} {evaluate.headline(json.loads(report.read_text()))}")
        lines.append(f"  {'':<10} SavedModel {version}; TensorBoard: tensorboard --logdir {run}/tb")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnnkit.demo")
    parser.add_argument("what", choices=["plan", "summary"])
    parser.add_argument("apps", nargs="+")
    parser.add_argument("--stamp")
    args = parser.parse_args(argv)
    unknown = [a for a in args.apps if a not in PLAN]
    if unknown:
        print(f"Error: no app {unknown[0]!r}; APP is one of {', '.join(PLAN)}", file=sys.stderr)
        return 2
    print(plan(args.apps) if args.what == "plan" else summary(args.apps, args.stamp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
