"""``rnnkit forecast``: train, evaluate, export (built by rnnkit) and predict."""

import csv
import io
from pathlib import Path

import click

from apps.forecast import config as cfg
from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.errors import InputError
from rnnkit.files import check_writable, write_all
from rnnkit.options import add_options, field_options, input_errors, server_options

# The data options of ``predict``: the same fields as ``train``'s.
DATA_OPTIONS = ["data.target", "data.covariates", "data.time_col", "data.freq", "data.fill"]


APP = rapp.App.from_package(
    __package__,
    help="Time-series forecasting: multi-horizon point and quantile forecasts. --data: "
    "statsmodels:NAME (co2, the default; sunspots, elnino, macrodata) or csv:PATH (with "
    "--time-col and --target).",
    evaluate_options=[
        click.Option(
            ["--windows"],
            type=click.IntRange(min=1),
            default=20,
            show_default=True,
            help="Backtest windows: the last N origins of the held-out period.",
        ),
        click.Option(
            ["--stride"],
            type=click.IntRange(min=1),
            help="Steps between origins (default: a quarter of the horizon).",
        ),
    ],
    assets=("series.json",),  # features.INFO_FILE
)

group = rapp.app_group(APP)


def _open(source: Path, **server):
    """``(forecast_fn, info)`` of a run or a SavedModel (here or on TF Serving)."""
    import tensorflow as tf

    from apps.forecast import export as forecast_export
    from apps.forecast.features import SeriesInfo

    opened = runs.open_model(APP, source, **server)
    info = SeriesInfo.load(opened.assets)
    if opened.run is not None:
        return forecast_export.Forecaster(opened.run.model, info), info
    signature = opened.signatures["serving_default"]

    def forecast(history, future_times):
        out = signature(
            history=tf.constant(history, tf.float32),
            future_times=tf.constant(future_times, tf.int64),
        )
        return {k: v.numpy() for k, v in out.items()}

    return forecast, info


def forecast_table(info, times, out) -> str:
    """CSV text: one row per (time, target) with the mean and every quantile."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "target", "mean", *(f"q{q:g}" for q in info.quantiles)])
    for h, when in enumerate(times):
        for t, name in enumerate(info.targets):
            quantiles = out["quantiles"][0, h, :, t]
            writer.writerow(
                [when.isoformat(), name, f"{out['mean'][0, h, t]:.6g}"]
                + [f"{v:.6g}" for v in quantiles]
            )
    return buffer.getvalue()


@group.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--data", "source_data", help="The series to continue (default: the model's own).")
@add_options(field_options(cfg.ForecastConfig, DATA_OPTIONS).values())
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("forecast.csv"),
    show_default=True,
    help="CSV: time, target, mean and one column per quantile.",
)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="PNG of the fan.")
@add_options(server_options())
def predict(source, source_data, target, covariates, time_col, freq, fill, out, plot, **server):
    """Forecast the next horizon after the end of the data with a run or SavedModel (SOURCE).

    Reads the model's own series unless --data names another with the same
    columns; writes the forecast as CSV (--out) and, with --plot, a PNG of
    the history and the forecast fan.
    """
    import numpy as np
    import pandas as pd

    from apps.forecast import data, plots
    from rnnkit import figures

    with input_errors():
        for path in (out, plot):
            if path is not None:
                check_writable(path)
        forecast, info = _open(source, **server)
        config = info.data_config(
            source=source_data,
            target=target,
            covariates=covariates,
            time_col=time_col,
            freq=freq,
            fill=fill,
        )
        series = data.load_series(config, split=False)
        if series.features != info.targets + info.covariates:
            raise InputError(
                f"the model reads the columns {list(info.targets + info.covariates)}; "
                f"the data gives {list(series.features)}"
            )
        if pd.tseries.frequencies.to_offset(series.freq) != pd.tseries.frequencies.to_offset(
            info.freq
        ):
            raise InputError(
                f"the data's frequency is {series.freq}; the model forecasts {info.freq} steps"
            )
    history = series.values[-info.lookback :][None].astype(np.float32)
    times = series.future_times(info.horizon)
    with input_errors():  # a server that fails: one line, exit 2
        result = forecast(history, data.unix_seconds(times)[None])
    outputs = {out: forecast_table(info, times, result).encode("utf-8")}
    if plot is not None:
        shown = min(len(series.times), max(info.lookback, 3 * info.horizon))
        figure = plots.fan_figure(
            info,
            series.times[-shown:],
            series.values[-shown:],
            times,
            {k: v[0] for k, v in result.items()},
            title=f"{series.name}: forecast from {times[0].date()} to {times[-1].date()}",
        )
        outputs[plot] = figures.png(figure)
    write_all(outputs)  # the CSV and the plot, or neither
    click.echo(
        f"Forecast of {info.horizon} steps from {times[0].date()} to {times[-1].date()}: {out}"
    )
    if plot is not None:
        click.echo(f"Plot: {plot}", err=True)  # on stderr, as in every app
