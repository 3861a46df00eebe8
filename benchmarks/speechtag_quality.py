"""speechtag's quality on held-out voices, against its baselines, and under changed audio.

Trains the preset (offline and, with ``--streaming``, the streaming model:
``PRESET-streaming`` where it exists) for each seed, or takes trained runs
(``--run``), then runs ``rnnkit speechtag evaluate`` on:

- ``test``: the test voices (a held-out accent and held-out variants);
- ``klatt family`` / ``female family``: voice families held out of training
  and validation whole (``evaluate --split``): every Klatt-synthesizer voice;
  every female voice;
- ``accent``: only the held-out accent (en-us-nyc);
- ``variants``: only the held-out variants of the training accents;
- ``noise 0 dB``: the test utterances with white noise at 0 dB SNR;
- ``from 8 kHz`` / ``from 44.1 kHz``: the test utterances resampled to that
  rate and written as WAV (``evaluate --data`` resamples them back).

It prints, per run and condition, frame accuracy, PER / WER and boundary F1
of the RNN, the frame MLP and the majority tag.

    python benchmarks/speechtag_quality.py [--preset quick] [--streaming] [--seeds 1]
    python benchmarks/speechtag_quality.py --seeds 2 --first-seed 1   # seeds 1 and 2
    python benchmarks/speechtag_quality.py --run runs/speechtag/RUN [--run ...]
    python benchmarks/speechtag_quality.py --preset quick -- --vtlp 0   # train options
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RNNKIT = [sys.executable, "-m", "rnnkit.cli", "speechtag"]
CONDITIONS = (
    "test",
    "klatt family",
    "female family",
    "accent",
    "variants",
    "noise 0 dB",
    "from 8 kHz",
    "from 44.1 kHz",
)


def train(preset: str, streaming: bool, seed: int, extra=()) -> tuple[Path, float]:
    """Trains ``preset`` (streaming: ``PRESET-streaming`` where it exists, else ``--streaming``)."""
    from apps.speechtag.config import PRESETS

    options = []
    if streaming:
        preset, options = (
            (f"{preset}-streaming", [])
            if f"{preset}-streaming" in PRESETS
            else (preset, ["--streaming"])
        )
    run = Path(tempfile.mkdtemp(prefix="speechtag-")) / "run"
    start = time.perf_counter()
    subprocess.run(
        [*RNNKIT, "train", "--preset", preset, "--seed", str(seed), "--run-dir", str(run)]
        + ["--quiet", *options, *extra],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return run, time.perf_counter() - start


def write_condition(utterances, folder: Path, rate: int, noise_db: float | None) -> Path:
    """The utterances as WAV + .PHN/.WRD files at ``rate``, optionally with noise."""
    from apps.speechtag import data

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for u in utterances:
        audio = u.audio
        if noise_db is not None:
            noise = rng.standard_normal(len(audio)).astype(np.float32)
            audio = audio + noise * np.sqrt(np.mean(audio**2) / 10 ** (noise_db / 10))
            audio = audio / max(1.0, float(np.abs(audio).max()))
        audio = data.resample(audio, data.SAMPLE_RATE, rate)
        (folder / f"{u.name}.wav").write_bytes(data.wav_bytes(audio, rate))
        for tier, suffix in (("phones", "PHN"), ("words", "WRD")):
            scale = rate / data.SAMPLE_RATE
            lines = "".join(
                f"{round(s * scale)} {min(round(e * scale), len(audio))} {label}\n"
                for s, e, label in u.tiers[tier]
            )
            (folder / f"{u.name}.{suffix}").write_text(lines)
    return folder


def evaluate(run: Path, data_dir: Path | None = None, split: str = "test") -> dict:
    extra = (["--data", f"dir:{data_dir}"] if data_dir else []) + ["--split", split]
    out = subprocess.run(
        [*RNNKIT, "evaluate", str(run), "--json", *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def conditions(run: Path) -> dict[str, dict]:
    from apps.speechtag import train, voicebank
    from apps.speechtag.cli import APP
    from rnnkit import runs

    config = runs.load_config(APP, run)
    test = train.load_data(config.data, quiet=True)["test"]
    accent = [u for u in test if u.voice.split("+")[0] in voicebank.TEST_ACCENTS]
    variants = [u for u in test if u.voice.split("+")[0] not in voicebank.TEST_ACCENTS]
    root = Path(tempfile.mkdtemp(prefix="speechtag-conditions-"))
    found = {"test": evaluate(run)}
    for family in voicebank.FAMILIES:  # voice families held out of training whole
        found[f"{family} family"] = evaluate(run, split=family)
    for name, part, rate, noise in (
        ("accent", accent, 16_000, None),
        ("variants", variants, 16_000, None),
        ("noise 0 dB", test, 16_000, 0.0),
        ("from 8 kHz", test, 8_000, None),
        ("from 44.1 kHz", test, 44_100, None),
    ):
        if part:
            found[name] = evaluate(
                run, write_condition(part, root / name.replace(" ", "_"), rate, noise)
            )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=["tiny", "quick", "full"])
    parser.add_argument("--streaming", action="store_true", help="also the streaming model")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them (default 0)")
    parser.add_argument("--run", action="append", default=[], help="trained runs to evaluate")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("train_options", nargs="*", help="after --: passed to train (--vtlp 0)")
    args = parser.parse_args()

    runs = [(Path(r), None) for r in args.run]
    if not runs:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for streaming in (False, True) if args.streaming else (False,):
                runs.append(train(args.preset, streaming, seed, args.train_options))
    results = []
    for run, seconds in runs:
        config = json.loads((run / "config.json").read_text())
        results.append(
            {
                "run": str(run),
                "streaming": config["model"]["streaming"],
                "seed": config["seed"],
                "train_seconds": seconds,
                "conditions": conditions(run),
            }
        )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("frame accuracy %, PER / WER %, boundary F1 % (rnn | mlp | majority)")
    for r in results:
        kind = "streaming" if r["streaming"] else "offline"
        took = f", trained in {r['train_seconds'] / 60:.1f} min" if r["train_seconds"] else ""
        print(f"\n{r['run']} ({kind}, seed {r['seed']}{took})")
        models = ("rnn", "mlp", "majority")
        print(f"{'condition':<15}{'tier':<8}" + "".join(f"{m:>24}" for m in models))
        for name, report in r["conditions"].items():
            for tier in ("phones", "words"):
                cells = []
                for model in ("rnn", "mlp", "majority"):
                    m = report["models"][model][tier]
                    cells.append(
                        f"{100 * m['frame_accuracy']:6.1f} {100 * m['error_rate']:6.1f} "
                        f"{100 * m['boundary_f1']:6.1f}"
                    )
                print(f"{name:<15}{tier:<8}" + "".join(f"{c:>24}" for c in cells))


if __name__ == "__main__":
    main()
