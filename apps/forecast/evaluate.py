"""forecast's ``evaluate``: a rolling-origin backtest of the RNN and the baselines."""

from __future__ import annotations

from collections import Counter

import numpy as np

from apps.forecast import baseline, data
from apps.forecast.config import ForecastConfig
from apps.forecast.export import Forecaster
from apps.forecast.features import SeriesInfo
from apps.forecast.metrics import INTERVAL, interval_index, metrics
from rnnkit.errors import InputError
from rnnkit.runs import Run

METRICS = ("mae", "rmse", "smape", "mase", "coverage")


_CHOICES = {
    "seasonal": "networks correcting seasonal naive",
    "naive": "networks correcting the last value",
    "all": "all networks",
    "baseline_naive": "the last value",
    "baseline_seasonal_naive": "seasonal naive",
    "baseline_ets": "ETS",
    "custom": "custom weights",
}


def _described(name: str) -> str:
    """A weighting's name in words; ``NAME+ets:SHARE`` is an average with ETS."""
    base, _, share = name.partition("+ets:")
    if share:
        return f"{_CHOICES[base]} averaged with ETS ({float(share):.0%} ETS)"
    return _CHOICES[name]


def choice_counts(chosen: list[list[str]]) -> dict[str, int]:
    """``{weighting: steps}`` over every horizon step and target, most first."""
    return dict(Counter(name for step in chosen for name in step).most_common())


def describe_choice(counts: dict[str, int], targets: int = 1) -> str:
    """``{"seasonal": 10, "baseline_ets": 2}`` -> words for the report."""
    if len(counts) == 1:
        return f"the RNN forecasts with {_described(next(iter(counts)))} at every step"
    unit = "steps" if targets == 1 else "step-target pairs"
    (first, n), *rest = counts.items()
    others = "".join(f", {_described(name)} at {k}" for name, k in rest)
    total = sum(counts.values())
    return f"the RNN forecasts with {_described(first)} at {n} of its {total} {unit}{others}"


def format_report(report: dict) -> str:
    lines = [
        f"Backtest on {report['source']}: {report['windows']} windows of {report['horizon']} "
        f"steps, {report['stride']} apart, origins {report['first_origin'][:10]} to "
        f"{report['last_origin'][:10]}; targets {', '.join(report['targets'])}; "
        + describe_choice(report["choice"], len(report["targets"])),
        f"{'model':<16}"
        + "".join(f"{m:>10}" for m in ("MAE", "RMSE", "sMAPE %", "MASE"))
        + f"{'cover 10-90 %':>15}",
    ]
    for name, found in report["models"].items():
        shown = {**found, "smape": 100 * found["smape"]}  # the table's percent
        lines.append(
            f"{name:<16}"
            + "".join(f"{shown[m]:>10.4g}" for m in METRICS[:4])
            + f"{100 * found['coverage']:>15.1f}"
        )
    rnn, snaive = report["models"]["rnn"]["mase"], report["models"]["seasonal_naive"]["mase"]
    if rnn > snaive:
        lines.append(
            f"Warning: the RNN's MASE {rnn:.3f} is worse than seasonal naive's {snaive:.3f} "
            f"(season {report['season']}) on these windows: seasonal naive is the better "
            "forecast for this series"
        )
    return "\n".join(lines)


def rnn_forecast(forecaster: Forecaster, windows: dict) -> tuple[np.ndarray, ...]:
    out = forecaster(windows["history"], windows["future_times"])
    low, high = interval_index(forecaster.info.quantiles)
    return out["mean"], out["quantiles"][:, :, low], out["quantiles"][:, :, high], out


def backtest(
    forecaster: Forecaster, series: data.Series, windows: int, stride: int | None, cache=None
) -> dict:
    """Rolling-origin backtest over the last ``windows`` origins of the test part.

    ``cache``: a folder that keeps the ETS baseline's forecasts between calls.
    """
    info = forecaster.info
    stride = stride or max(1, info.horizon // 4)
    at = data.origins(series, series.test_start, len(series.times), windows, stride)
    if len(at) == 0:
        raise InputError(f"the test part of {series.name} holds no full forecast window")
    found = data.windows(series, at)
    actual = found["actual"]
    values = series.values[:, : info.n_targets]
    point, low, high, _ = rnn_forecast(forecaster, found)
    models = {"rnn": metrics(actual, point, low, high, info.mase_scale)}
    models["naive"] = metrics(
        actual,
        *baseline.naive(values, at, info.horizon, series.val_start, INTERVAL),
        info.mase_scale,
    )
    # With no season (season 1) the seasonal naive forecast is the naive one.
    models["seasonal_naive"] = metrics(
        actual,
        *baseline.seasonal_naive(values, at, info.horizon, info.season, series.val_start, INTERVAL),
        info.mase_scale,
    )
    models["ets"] = metrics(
        actual,
        *baseline.ets(values, at, info.horizon, info.season, INTERVAL, cache=cache),
        info.mase_scale,
    )
    return {
        "data": series.name,
        "rnn_beats_seasonal_naive": models["rnn"]["mase"] <= models["seasonal_naive"]["mase"],
        "targets": list(info.targets),
        "lookback": info.lookback,
        "horizon": info.horizon,
        "season": info.season,
        "windows": int(len(at)),
        "stride": int(stride),
        "first_origin": str(series.times[at[0]]),
        "last_origin": str(series.times[at[-1]]),
        "interval": list(INTERVAL),
        "models": models,
    }


def evaluate(run: Run, options: dict) -> dict:
    """The backtest of a trained run on its own data set (read again from its source)."""
    info = SeriesInfo.load(run.path)
    return score(run.config, run.model, info, options, cache=run.path / "cache")


def score(config: ForecastConfig, model, info: SeriesInfo, options: dict, cache=None) -> dict:
    """The backtest of ``model`` on the data set of ``config``."""
    series = data.load_series(config.data)
    windows, stride = options["windows"], options["stride"]
    report = backtest(Forecaster(model, info), series, windows, stride, cache)
    chosen = model.chosen()
    return {
        "source": config.data.source,
        "choice": choice_counts(chosen),
        "choice_per_step": chosen,
        **report,
    }


def headline(report: dict) -> str:
    """One line for ``make demo``'s summary: the model against its baselines."""
    models = report["models"]
    return (
        f"MASE {models['rnn']['mase']:.3f} against seasonal naive's "
        f"{models['seasonal_naive']['mase']:.3f} and ETS's {models['ets']['mase']:.3f} "
        "(lower is better)"
    )
