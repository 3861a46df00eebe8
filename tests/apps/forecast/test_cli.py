"""forecast predict, from a run, a SavedModel or TF Serving; bad commands."""

import pandas as pd

from rnnkit.testing import cli as rcli

invoke = rcli.invoker("forecast")


def test_predict_writes_csv_and_plot(saved_model, run_dir, tmp_path):
    out, plot = tmp_path / "f.csv", tmp_path / "f.png"
    result = invoke("predict", saved_model.parent, "--out", out, "--plot", plot)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["time", "target", "mean", "q0.1", "q0.5", "q0.9"]
    assert len(frame) == 52 and frame["time"][0] == "2002-01-05T00:00:00"
    assert (frame["q0.1"] <= frame["q0.5"]).all() and (frame["q0.5"] <= frame["q0.9"]).all()
    assert plot.read_bytes().startswith(b"\x89PNG")
    # The run directory gives the same forecast as its SavedModel.
    again = tmp_path / "g.csv"
    assert invoke("predict", run_dir, "--out", again).exit_code == 0
    assert again.read_text() == out.read_text()


def test_bad_commands_are_usage_errors(tmp_path, run_dir):
    cases = [
        (["evaluate", tmp_path], "has no config.json"),
        (["predict", tmp_path / "nothing"], "no such run or SavedModel"),
        (["train", "--data", "statsmodels:nope"], "unknown statsmodels series 'nope'"),
        (["train", "--data", "s3:x"], "unknown data source 's3:x'"),
        (["train", "--data", f"csv:{tmp_path}"], "no such CSV file"),
        (["train", "--horizon", "0"], "Invalid value for '--horizon'"),
        (["train", "--season", "7,x"], "'7,x' is not a list of integers such as 24,168"),
        (["train", "--season", "7,7"], "`season` must be distinct positive integers"),
        (["predict", run_dir, "--target", "nope", "--out", tmp_path / "x.csv"], "no column 'nope'"),
        (["predict", run_dir, "--out", tmp_path / "no" / "f.csv"], "its folder does not exist"),
        (["predict", run_dir, "--plot", tmp_path / "no" / "f.png"], "its folder does not exist"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_predict_on_tf_serving_writes_the_local_csv(saved_model, tmp_path, StandIn):
    local = tmp_path / "local.csv"
    assert invoke("predict", saved_model, "--out", local).exit_code == 0
    with StandIn(saved_model.parent.parent) as server:
        for protocol, url in (("rest", server.rest_url), ("grpc", server.grpc_url)):
            out = tmp_path / f"{protocol}.csv"
            result = invoke("predict", saved_model, "--out", out, "--server", url)
            assert result.exit_code == 0, result.output
            assert out.read_text() == local.read_text()
        assert [p for p, _ in server.requests].count("grpc") == 2  # metadata, then Predict
