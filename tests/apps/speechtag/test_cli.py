"""speechtag tag and synth, from a run, a SavedModel or TF Serving; bad audio."""

import json

import numpy as np
import pytest

from apps.speechtag import data
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("speechtag")


def test_synth_then_tag_with_textgrid_and_plot(run_dir, tmp_path):
    wav = tmp_path / "x.wav"
    result = invoke("synth", "three one four", "--voice", "en-us-nyc+f4", "--out", wav)
    assert result.exit_code == 0, result.output
    assert wav.with_suffix(".WRD").is_file() and wav.with_suffix(".PHN").is_file()
    result = invoke(
        "tag",
        run_dir,
        wav,
        "--json",
        "--textgrid",
        tmp_path / "grids",
        "--plot",
        tmp_path / "x.png",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (entry,) = report["files"]
    assert entry["duration"] == pytest.approx(len(data.read_wav(wav)[0]) / 16_000, abs=1e-3)
    for seg in entry["segments"]:
        assert 0 <= seg["start"] < seg["end"] <= entry["duration"] + 0.03
        assert 0 < seg["probability"] <= 1
    from praatio import textgrid

    grid = textgrid.openTextgrid(str(tmp_path / "grids" / "x.TextGrid"), False)
    assert set(grid.tierNames) == {"phones", "words"}
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_tag_with_the_saved_model_matches_the_run(
    saved_model, streaming_run, tmp_path, write_labelled
):
    wav = write_labelled(tmp_path, "u", ["one", "two"])
    a = invoke("tag", streaming_run, wav, "--json", "--tier", "phones")
    b = invoke("tag", saved_model.parent, wav, "--json", "--tier", "phones")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    (x,), (y,) = (json.loads(r.stdout)["files"] for r in (a, b))
    assert [(s["start"], s["end"], s["label"]) for s in x["segments"]] == [
        (s["start"], s["end"], s["label"]) for s in y["segments"]
    ]
    for s, t in zip(x["segments"], y["segments"]):
        assert s["probability"] == pytest.approx(t["probability"], abs=2e-3)


def _bad_files(tmp_path, write_labelled):
    good = write_labelled(tmp_path / "good", "u", ["one"])
    cases = {}
    (tmp_path / "notwav.wav").write_text("hello")
    cases["notwav"] = (tmp_path / "notwav.wav", "not a readable WAV")
    (tmp_path / "empty.wav").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.wav", "not a readable WAV")
    (tmp_path / "trunc.wav").write_bytes(good.read_bytes()[:30])
    cases["truncated"] = (tmp_path / "trunc.wav", "not a readable WAV")
    (tmp_path / "short.wav").write_bytes(data.wav_bytes(np.zeros(200, np.float32)))
    cases["short"] = (tmp_path / "short.wav", "shorter than one 25 ms frame")
    from scipy.io import wavfile

    wavfile.write(tmp_path / "nan.wav", 16_000, np.array([0.0, np.nan] * 400, np.float32))
    cases["nan"] = (tmp_path / "nan.wav", "NaN or infinite")
    return cases


def test_bad_audio_is_a_one_line_usage_error(run_dir, tmp_path, write_labelled):
    for name, (path, message) in _bad_files(tmp_path, write_labelled).items():
        result = invoke("tag", run_dir, path)
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
        assert "Traceback" not in result.output


def test_tag_on_tf_serving_gives_the_local_segments(saved_model, tmp_path, StandIn, write_labelled):
    wav = write_labelled(tmp_path, "u", ["three", "one"])
    local = invoke("tag", saved_model, wav, "--json")
    assert local.exit_code == 0, local.output
    with StandIn(saved_model.parent.parent) as server:
        for url in (server.rest_url, server.grpc_url):
            remote = invoke("tag", saved_model, wav, "--json", "--server", url)
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_a_large_example_request_goes_to_a_file(saved_model, tmp_path, monkeypatch):
    """A waveform body is hundreds of KB: too long for a shell's command line."""
    import shlex

    monkeypatch.chdir(tmp_path)
    base = saved_model.parent.parent
    result = rcli.invoke("serving", "request", "speechtag", "--saved-models", base, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["body_file"] == "speechtag-request.json"
    assert shlex.split(document["curl"])[-2:] == ["-d", "@speechtag-request.json"]
    assert len(document["curl"]) < 300
    written = (tmp_path / "speechtag-request.json").read_text()
    assert json.loads(written) == document["body"] and len(written) > 4096
    assert list(document["body"]["instances"][0]) == sorted(document["body"]["instances"][0])
