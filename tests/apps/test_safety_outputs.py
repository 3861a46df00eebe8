"""Outputs are checked before the work starts, and a command writes all of them or none.

Each case names an output that cannot be written: under a file, where a
folder stands, or in a folder that refuses new files (a read-only folder
for a user; ``/sys`` for root, whom permissions do not stop). Each must be
one ``Error:`` line, exit 2, and leave nothing behind.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from apps.speechtag import data as speech_data
from rnnkit.testing import cli as rcli


@pytest.fixture
def blocker(tmp_path) -> Path:
    """A file where an output's folder should be."""
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.fixture
def read_only(tmp_path) -> Path:
    """A folder that refuses new files."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    try:  # root writes through any mode bits: a kernel file system refuses it
        os.close(tempfile.mkstemp(dir="/sys")[0])
    except OSError:
        yield Path("/sys")
        return
    pytest.skip("no folder here refuses root's writes")


def _wav(tmp_path) -> Path:
    wav = tmp_path / "u.wav"
    wav.write_bytes(speech_data.wav_bytes(0.3 * np.sin(np.arange(8000) / 8.0)))
    return wav


def _commands(tmp_path, runs, out):
    """``(app, args)`` for every command with an output, writing to ``out(name)``."""
    wav = _wav(tmp_path)
    return [
        ("forecast", ["train", "--preset", "tiny", "--quiet", "--run-dir", out("run")]),
        ("textgen", ["export", runs["textgen"], "--out", out("saved")]),
        ("forecast", ["predict", runs["forecast"], "--out", out("f.csv")]),
        ("forecast", ["predict", runs["forecast"], "--plot", out("f.png")]),
        ("speechtag", ["tag", runs["speechtag"], wav, "--textgrid", out("grids")]),
        ("speechtag", ["tag", runs["speechtag"], wav, "--plot", out("t.png")]),
        ("speechtag", ["synth", "one two", "--out", out("u.wav")]),
        ("caption", ["compose", "12", "--out", out("s.png")]),
    ]


@pytest.fixture
def runs(tiny_runs):
    from tests.apps.conftest import TINY

    return {app: tiny_runs.run(app, *TINY[app][0]) for app in ("textgen", "forecast", "speechtag")}


def test_an_output_under_a_file_is_one_line(tmp_path, runs, blocker):
    for app, args in _commands(tmp_path, runs, lambda name: blocker / name):
        result = rcli.invoke(app, *args)
        rcli.usage_error(result, f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "not a folder"


def test_an_output_in_a_read_only_folder_is_one_line(tmp_path, runs, read_only):
    before = sorted(read_only.iterdir())
    for app, args in _commands(tmp_path, runs, lambda name: read_only / name):
        result = rcli.invoke(app, *args)
        rcli.usage_error(result, f"{read_only} is not writable")
    assert sorted(read_only.iterdir()) == before


def test_predict_writes_the_csv_and_plot_together_or_neither(tmp_path, runs, read_only):
    args = ["--out", tmp_path / "f.csv", "--plot", read_only / "fan.png"]
    result = rcli.invoke("forecast", "predict", runs["forecast"], *args)
    rcli.usage_error(result, f"cannot write {read_only / 'fan.png'}")
    assert not (tmp_path / "f.csv").exists()  # before, the CSV was written, then the plot failed
    args[-1] = tmp_path / "fan.png"
    assert rcli.invoke("forecast", "predict", runs["forecast"], *args).exit_code == 0
    assert (tmp_path / "f.csv").is_file() and (tmp_path / "fan.png").is_file()


def test_evaluate_checks_its_report_file_before_evaluating(tmp_path, runs):
    import shutil

    run = shutil.copytree(runs["textgen"], tmp_path / "run")
    (run / "evaluation.json").unlink(missing_ok=True)
    (run / "evaluation.json").mkdir()
    rcli.usage_error(rcli.invoke("textgen", "evaluate", run), "evaluation.json: it is a folder")


def test_tag_writes_every_textgrid_or_none(tmp_path, runs):
    wav, other = _wav(tmp_path), tmp_path / "v.wav"
    other.write_bytes(wav.read_bytes())
    grids = tmp_path / "grids"
    (grids / "v.TextGrid").mkdir(parents=True)  # the second file's grid cannot be written
    result = rcli.invoke("speechtag", "tag", runs["speechtag"], wav, other, "--textgrid", grids)
    rcli.usage_error(result, "v.TextGrid: it is a folder")
    assert sorted(p.name for p in grids.iterdir()) == ["v.TextGrid"]
