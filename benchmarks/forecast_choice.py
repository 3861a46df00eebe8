"""forecast's validation choices, judged on validation data alone.

Two of the forecast model's design choices were first compared on test
windows, which the project's rules forbid (docs/benchmarks.md says so);
this script redoes both on the validation runs only, never reading the test
part:

- the choice rule's margin ``z``: a baseline replaces the networks at a
  horizon step only where its validation error is lower by more than ``z``
  standard errors. Each validation run in turn is held out, the choice made
  on the other runs and scored on it (leave one run out); ``z = inf`` keeps
  the networks everywhere, ``z = 0`` takes the lowest error outright.
- the in-graph ETS map's start (every whole season of the window averaged,
  or the textbook start from the first season) and its window (the model's
  lookback, or longer), by the ETS candidate's MASE on every validation
  origin that has the longest window's history.

    python benchmarks/forecast_choice.py --preset quick --series elnino --seeds 2
    python benchmarks/forecast_choice.py --run RUN_DIR --run RUN_DIR

The model's best epoch was picked by the validation MASE of the choice made
on all runs, so the held-out figures lean slightly towards the margin it
trained with (``--set model.choice_margin=Z``, default 2). A margin picked
this way each epoch was tried and measured (docs/benchmarks.md): it chose
0 on sunspots, macrodata and elnino, and their test MASE got worse.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

MARGINS = (0.0, 1.0, 2.0, 3.0, float("inf"))
STARTS = ("seasons", "first")


def held_out_margins(errors, networks: int, horizon: int, block: np.ndarray) -> dict:
    """``{z: MASE}``: the mean over validation runs of the held-out run's MASE
    when the choice is made on the others. ``errors [weightings, windows,
    horizon, targets]`` are absolute errors already divided by the MASE scale."""
    from apps.forecast.train import choose

    found = {}
    for z in MARGINS:
        scores = []
        for b in np.unique(block):
            pick = choose(errors[:, block != b], networks, horizon, z)
            held = np.take_along_axis(errors[:, block == b], pick[None, None], axis=0)[0]
            scores.append(held.mean(axis=(0, 1)).mean())
        found[z] = float(np.mean(scores))
    return found


def held_out_averages(means, point, target, scale, weights, networks: int, ets, block) -> dict:
    """The model's rule (margin 2) without and with the averages of its pick
    and ETS (``choose_weights``), scored on validation runs it did not see:
    ``leave one out`` (each run held out in turn, the choice made on the
    others, the mean over runs) and ``forward`` (made on the runs before the
    last, scored on the last, the one nearest the test part). MASE;
    ``means [candidates, windows, horizon, targets]`` and ``point
    [weightings, ...]`` forecast ``target``, scaled as in training; ``scale``
    turns a scaled error into MASE units, per target."""
    from apps.forecast.train import choose_weights

    runs = np.unique(block)
    folds = {
        "leave one out": [(block != b, block == b) for b in runs],
        "forward": [(block < runs[-1], block == runs[-1])],
    }
    found = {}
    for way, pairs in folds.items():
        for name, mix in (("rule", None), ("with ETS averages", ets)):
            scores = []
            for seen, held in pairs:
                w = choose_weights(point[:, seen], target[seen], weights, networks, 2.0, mix)
                forecast = np.einsum("htc,cbht->bht", w, means[:, held])
                error = np.abs(forecast - target[held]) * scale
                scores.append(error.mean(axis=(0, 1)).mean())
            found[f"{way}, {name}"] = float(np.mean(scores))
    if ets is not None:
        chosen = choose_weights(point, target, weights, networks, 2.0, ets)
        share = chosen[..., int(np.argmax(weights[ets]))]
        found["steps averaged"] = int(((share > 0) & (share < 1)).sum())
    return found


def ets_windows(series, info, runs, lookbacks) -> dict:
    """``{(start, lookback): MASE}`` of the ETS map on the validation origins
    that have ``max(lookbacks)`` steps of history; smoothing parameters fitted
    on the series before the first validation target, as in training."""
    from apps.forecast import baseline, candidates

    values = series.values[:, : info.n_targets].astype(np.float64)
    fitted = [
        candidates.ets_parameters(values[: runs[0][0], t], info.season)
        for t in range(info.n_targets)
    ]
    at = np.concatenate(runs)
    at = at[at >= max(lookbacks)]
    actual = np.stack([values[o : o + info.horizon] for o in at])  # [windows, horizon, targets]

    def mase(point):
        return float(
            (np.abs(actual - point).mean(axis=(0, 1)) / np.asarray(info.mase_scale)).mean()
        )

    found = {}
    for start in STARTS:
        for lookback in lookbacks:
            maps = [
                candidates.ets_map(p, lookback, info.horizon, info.season, start) for p in fitted
            ]
            history = np.stack([values[o - lookback : o] for o in at])  # [windows, l, targets]
            point = np.einsum("thl,wlt->wht", np.stack(maps), history)
            found[(start, lookback)] = mase(point)
    snaive = baseline.seasonal_naive(
        values, at, info.horizon, max(1, info.season), series.val_start
    )[0]
    found[("seasonal naive", 0)] = mase(snaive)
    return found


def study(run_dir: Path, lookbacks: list[int]) -> dict:
    """Both comparisons on one trained run."""
    import tensorflow as tf

    from apps.forecast import candidates, data
    from apps.forecast.cli import APP
    from apps.forecast.features import SeriesInfo
    from apps.forecast.train import scaled_examples
    from rnnkit.runs import load_run

    run = load_run(APP, run_dir)
    config, model = run.config, run.model
    series = data.load_series(config.data)
    info = SeriesInfo.load(run.path)
    runs = candidates.validation_origins(
        series.lookback, series.val_start, series.test_start, series.horizon, config.data.val_blocks
    )
    block = np.concatenate([np.full(len(r), i) for i, r in enumerate(runs)])
    inputs, target = scaled_examples(info, data.windows(series, np.concatenate(runs)))
    means, _ = model.candidate_outputs({k: tf.constant(v) for k, v in inputs.items()})
    named = model.candidate_weights()
    weights = np.asarray([w for _, w in named], np.float32)
    point = np.einsum("wc,cbht->wbht", weights, means.numpy())
    std = np.asarray(info.std[: info.n_targets]) / np.asarray(info.mase_scale)
    errors = np.abs(point - target[None]) * std  # in MASE units
    names = [name for name, _ in named]
    networks = sum(not name.startswith("baseline_") for name in names)
    ets = names.index("baseline_ets") if "baseline_ets" in names else None
    averages = held_out_averages(means.numpy(), point, target, std, weights, networks, ets, block)
    alone = {name: float(errors[i].mean(axis=(0, 1)).mean()) for i, (name, _) in enumerate(named)}
    # A candidate the model does not have: the networks and ETS averaged,
    # offered beside the networks (no margin) or beside the baselines.
    mixed = {}
    if ets is not None:
        best = names[int(np.argmin([alone[n] for n in names[:networks]]))]
        mix = 0.5 * (weights[names.index(best)] + weights[ets])
        mix_error = np.abs(np.einsum("c,cbht->bht", mix, means.numpy()) - target) * std
        alone[f"{best}+ets"] = float(mix_error.mean(axis=(0, 1)).mean())
        with_mix = np.concatenate([errors[:networks], mix_error[None], errors[networks:]])
        mixed["as a network"] = held_out_margins(with_mix, networks + 1, info.horizon, block)
        with_mix = np.concatenate([errors, mix_error[None]])
        mixed["as a baseline"] = held_out_margins(with_mix, networks, info.horizon, block)
    windows = sorted({info.lookback, *(k * info.lookback for k in lookbacks)})
    windows = [w for w in windows if w <= runs[0][0]]
    return {
        "series": config.data.source,
        "seed": config.seed,
        "runs": len(runs),
        "windows": len(block),
        "alone": alone,
        "margins": held_out_margins(errors, networks, info.horizon, block),
        "mixed": mixed,
        "averages": averages,
        "ets": ets_windows(series, info, runs, windows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", default=[], help="a trained forecast run")
    parser.add_argument("--preset", default="quick", choices=["tiny", "quick", "full"])
    parser.add_argument("--series", action="append", default=[])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument(
        "--ets-windows",
        type=int,
        action="append",
        default=[],
        metavar="K",
        help="also try the ETS map on K times the model's lookback (default 2 and 4)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from forecast_quality import train

    found_runs = [Path(r) for r in args.run]
    for name in args.series if not args.run else []:
        for seed in range(args.seeds):
            found_runs.append(train(args.preset, name, seed))
    rows = [study(r, args.ets_windows or [2, 4]) for r in found_runs]
    if args.json:
        for row in rows:
            row["margins"] = {str(z): v for z, v in row["margins"].items()}
            row["mixed"] = {
                way: {str(z): v for z, v in found.items()} for way, found in row["mixed"].items()
            }
            row["ets"] = {f"{s}@{w}": v for (s, w), v in row["ets"].items()}
        print(json.dumps(rows, indent=2))
        return
    print("Held-out validation MASE (leave one validation run out) per margin z")
    print(f"{'series':<34} {'seed':>4} " + " ".join(f"{'z=' + str(z):>8}" for z in MARGINS))
    for row in rows:
        print(
            f"{row['series'][-34:]:<34} {row['seed']:>4} "
            + " ".join(f"{row['margins'][z]:>8.3f}" for z in MARGINS)
        )
    for way in ("as a network", "as a baseline"):
        print(f"\nThe same with the best networks and ETS averaged, {way}")
        for row in rows:
            if way in row["mixed"]:
                print(
                    f"{row['series'][-34:]:<34} {row['seed']:>4} "
                    + " ".join(f"{row['mixed'][way][z]:>8.3f}" for z in MARGINS)
                )
    print("\nThe rule without and with ETS averages (validation MASE; steps averaged on all runs)")
    for row in rows:
        print(
            f"{row['series'][-34:]:<34} {row['seed']:>4} "
            + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in row["averages"].items()
            )
        )
    print("\nEach candidate alone on every validation window (MASE)")
    for row in rows:
        print(
            f"{row['series'][-34:]:<34} {row['seed']:>4} "
            + ", ".join(f"{k} {v:.3f}" for k, v in row["alone"].items())
        )
    print("\nThe ETS map on the validation origins (MASE), by start and window")
    for row in rows:
        print(
            f"{row['series'][-34:]:<34} {row['seed']:>4} "
            + ", ".join(
                f"{s}@{w} {v:.3f}" if w else f"{s} {v:.3f}" for (s, w), v in row["ets"].items()
            )
        )


if __name__ == "__main__":
    main()
