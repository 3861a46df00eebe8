"""forecast's data: statsmodels series, the user's CSV files, windows."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from apps.forecast import config as cfg
from apps.forecast import data, features
from rnnkit import errors
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("forecast")


@pytest.mark.parametrize(
    "name, points, freq, season, targets",
    [
        ("co2", 2284, "W-SAT", 52, ("co2",)),
        ("sunspots", 309, "YS-JAN", 11, ("SUNACTIVITY",)),
        ("elnino", 732, "MS", 12, ("temperature",)),
        ("macrodata", 203, "QS-JAN", 4, ("realgdp", "realcons", "realinv")),
    ],
)
def test_statsmodels_series(name, points, freq, season, targets):
    series = data.load_series(cfg.DataConfig(source=f"statsmodels:{name}"))
    assert series.values.shape == (points, len(targets))
    assert (series.freq, series.season, series.targets) == (freq, season, targets)
    assert np.isfinite(series.values).all()
    assert series.lookback + series.horizon <= series.val_start < series.test_start < points
    assert (np.diff(series.seconds()) > 0).all()


def test_co2_gaps_are_interpolated_with_a_warning(capsys):
    series = data.load_series(cfg.DataConfig())
    assert "59 missing values in co2" in capsys.readouterr().err
    # 1958-05-10 is missing between 1958-05-03 (316.9) and 1958-05-17 (317.5).
    i = series.times.get_loc(pd.Timestamp("1958-05-10"))
    assert series.values[i, 0] == pytest.approx((316.9 + 317.5) / 2)
    with pytest.raises(errors.InputError, match="59 missing values"):
        data.load_series(cfg.DataConfig(fill="error"))


@pytest.mark.parametrize("days, lookback", [(60, 72), (150, 168), (300, 336)])
def test_a_longer_series_reads_more_seasons_by_default(tmp_path, write_hourly, days, lookback):
    # Three days of hourly history; a week where the series holds 20 weeks of points,
    # two weeks where it holds 20 times two.
    path = write_hourly(tmp_path / "h.csv", days=days)
    config = cfg.DataConfig(source=f"csv:{path}", time_col="time", target=("temp",))
    series = data.load_series(config)
    assert (series.season, series.horizon, series.lookback) == (24, 24, lookback)
    # A lookback given, or a bundled series' own, is kept whatever the length.
    assert data.load_series(dataclasses.replace(config, lookback=50)).lookback == 50
    assert data.load_series(cfg.DataConfig(source="statsmodels:co2")).lookback == 104


def test_csv_source_with_gaps_and_covariates(tmp_path, capsys, write_csv):
    path = write_csv(tmp_path / "s.csv", drop=[10, 11])
    config = cfg.DataConfig(
        source=f"csv:{path}", time_col="day", target=("sales",), covariates=("price",), freq="D"
    )
    series = data.load_series(config)
    assert series.features == ("sales", "price")
    assert len(series.times) == 160 and series.season == 7 and series.horizon == 7
    assert series.lookback == 21
    assert "4 missing values in s" in capsys.readouterr().err
    original = pd.read_csv(path)
    assert series.values[9, 0] == pytest.approx(original["sales"][9])
    # Without --freq the frequency is inferred from a gap-free file.
    inferred = data.load_series(
        cfg.DataConfig(
            source=f"csv:{write_csv(tmp_path / 'f.csv')}", time_col="day", target=("sales",)
        )
    )
    assert inferred.freq == "D"


@pytest.mark.parametrize(
    "csv_kwargs, options, message",
    [
        (None, [], "no such CSV file"),
        ({}, ["--target", "nope"], "no column 'nope' in s; its columns: day, sales, price"),
        ({"bad": (5, "sales", "abc")}, [], "non-numeric value 'abc' (data row 6)"),
        ({"bad": (7, "day", "yesterday")}, [], "cannot parse the time 'yesterday'"),
        ({"bad": (7, "day", "2024-01-03")}, [], "timestamps must increase: 2024-01-03"),
        ({"n": 20}, [], "20 points, fewer than lookback 21 + horizon 7"),
        ({"drop": [3]}, ["--fill", "error"], "has 1 missing value (the first at 2024-01-04"),
        ({"drop": [3]}, ["--freq", "bogus"], "--freq 'bogus' is not a pandas offset alias"),
        ({}, ["--freq", "W-MON"], "is off the W-MON grid"),
        ({}, ["--season", "7,30", "--lookback", "21"], "is shorter than the season 30"),
    ],
)
def test_bad_csv_is_a_one_line_usage_error(tmp_path, csv_kwargs, options, message, write_csv):
    if csv_kwargs is not None:
        write_csv(tmp_path / "s.csv", **csv_kwargs)
    args = ["train", "--preset", "tiny", "--run-dir", tmp_path / "r", "--data"]
    args += [f"csv:{tmp_path / 's.csv'}", "--time-col", "day"]
    if "--target" not in options:
        args += ["--target", "sales"]
    result = invoke(*args, *options)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if not line.startswith("Warn")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0]
    assert not (tmp_path / "r").exists()


def test_the_frequency_is_inferred_across_gaps_but_not_from_irregular_steps(tmp_path, write_csv):
    path = write_csv(tmp_path / "s.csv", drop=[3, 50, 51])
    config = cfg.DataConfig(source=f"csv:{path}", time_col="day", target=("sales",))
    assert data.load_series(config).freq == "D"
    irregular = pd.DataFrame(
        {"day": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(60) ** 2, "D"), "sales": 1.0}
    )
    irregular.to_csv(path, index=False)
    with pytest.raises(errors.InputError, match="cannot infer the frequency"):
        data.load_series(config)


def test_windows_and_origins():
    series = data.load_series(cfg.DataConfig(source="statsmodels:sunspots"))
    at = data.origins(series, series.test_start, len(series.times), 3, 2)
    assert list(at) == [
        len(series.times) - 11 - 4,
        len(series.times) - 11 - 2,
        len(series.times) - 11,
    ]
    found = data.windows(series, at)
    assert found["history"].shape == (3, 44, 1) and found["actual"].shape == (3, 11, 1)
    o = at[0]
    np.testing.assert_allclose(found["history"][0, :, 0], series.values[o - 44 : o, 0], rtol=1e-6)
    np.testing.assert_array_equal(found["actual"][0, :, 0], series.values[o : o + 11, 0])
    assert found["future_times"][0, 0] == series.seconds()[o]


def test_multivariate_csv_end_to_end(tmp_path, write_csv):
    path = write_csv(tmp_path / "s.csv")
    run = tmp_path / "run"
    common = ["--data", f"csv:{path}", "--time-col", "day"]
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--run-dir",
        run,
        "--quiet",
        *common,
        "--target",
        "sales,price",
        "--horizon",
        "5",
    )
    assert result.exit_code == 0, result.output
    info = features.SeriesInfo.load(run)
    assert info.targets == ("sales", "price") and info.periods == (features.YEAR, features.WEEK)
    report = json.loads(invoke("evaluate", run, "--json", "--windows", 2).stdout)
    assert report["targets"] == ["sales", "price"] and report["windows"] == 2
    # Predict from the newest 30 rows only: a forecast needs just the lookback.
    recent = tmp_path / "recent.csv"
    pd.read_csv(path).tail(30).to_csv(recent, index=False)
    out = tmp_path / "f.csv"
    result = invoke("predict", run, "--data", f"csv:{recent}", "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert len(frame) == 10 and list(frame["target"][:2]) == ["sales", "price"]
    assert frame["time"][0] == "2024-06-09T00:00:00"
    # Too little history: a usage error.
    pd.read_csv(path).tail(10).to_csv(recent, index=False)
    short = invoke("predict", run, "--data", f"csv:{recent}", "--out", out)
    assert short.exit_code == 2
    assert "recent has 10 points, fewer than the lookback 15" in short.output
