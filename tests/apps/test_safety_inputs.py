"""Every failure is one line, exit 2, nothing half-done: bad inputs found by trying.

Each case is a real file or command line; each gave a traceback before.
"""

import json
import shutil
import struct
from pathlib import Path

import pytest

from rnnkit import recovery
from rnnkit.testing import cli as rcli


def _wav_with_rate(path, rate):
    """A 16-bit mono WAV of 800 samples whose header declares ``rate``."""
    samples = b"\x00\x01" * 800
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", len(samples)) + samples
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize("app", ["speechtag"])
def test_a_wav_with_sample_rate_zero_is_one_line(run_dir, tmp_path):
    wav = _wav_with_rate(tmp_path / "zero.wav", 0)
    rcli.usage_error(rcli.invoke("speechtag", "tag", run_dir, wav), "sample rate of 0 Hz")


@pytest.mark.parametrize(
    "args, words",
    [
        (["²"], ("DIGITS must be digits 0-9",)),
        (["12", "--gap", "5", "1"], ("--gap", "`gap` must be a range")),
    ],
)
def test_compose_refuses_what_it_cannot_draw(tmp_path, args, words):
    out = tmp_path / "s.png"
    rcli.usage_error(rcli.invoke("caption", "compose", *args, "--out", out), *words)
    assert not out.exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: json.dumps({"history": [{"loss": 1.0}], "best": None}),  # no epochs
        lambda text: "[]",  # not an object
    ],
)
def test_resume_survives_a_damaged_metrics_file(tmp_path, damage):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--run-dir", run, "--quiet", "--epochs", "1"]
    assert rcli.invoke("forecast", *args).exit_code == 0
    metrics = run / "metrics.json"
    metrics.write_text(damage(metrics.read_text()))
    result = rcli.invoke(
        "forecast", "train", "--resume", "--run-dir", run, "--quiet", "--epochs", "2"
    )
    assert result.exit_code == 0, result.output
    assert "metrics.json is damaged" in result.output
    saved = json.loads(metrics.read_text())
    assert saved["status"] == "completed" and [h["epoch"] for h in saved["history"]] == [2]


def _cut(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _run_copy(run_dir, tmp_path):
    return shutil.copytree(run_dir, tmp_path / "run")


@pytest.mark.parametrize("app", ["textgen"])
def test_resume_falls_back_past_a_cut_checkpoint(run_dir, tmp_path):
    run = _run_copy(run_dir, tmp_path)
    kept = recovery.checkpoints(run / "ckpt")
    assert len(kept) >= 2, kept
    [newest_data] = (run / "ckpt").glob(Path(kept[0]).name + ".data-*")
    _cut(newest_data)
    result = rcli.invoke("textgen", "train", "--resume", "--run-dir", run, "--quiet")
    assert result.exit_code == 0, result.output
    assert f"Warning: {newest_data} cannot be read" in result.output
    assert f"resuming from {kept[1]}" in result.output
    assert recovery.damage(recovery.checkpoints(run / "ckpt")[0]) is None  # saved again, whole
    for prefix in recovery.checkpoints(run / "ckpt"):
        for data in (run / "ckpt").glob(Path(prefix).name + ".data-*"):
            _cut(data)
    result = rcli.invoke("textgen", "train", "--resume", "--run-dir", run, "--quiet")
    rcli.usage_error(result, f"no checkpoint in {run / 'ckpt'} can be read")


@pytest.mark.parametrize("app", ["textgen"])
@pytest.mark.parametrize("cut", ["data", "index"])
def test_a_cut_checkpoint_is_named_by_the_verbs_and_export(run_dir, tmp_path, cut):
    run = _run_copy(run_dir, tmp_path)
    [best] = recovery.checkpoints(run / "ckpt" / "best")
    [damaged] = (run / "ckpt" / "best").glob(
        Path(best).name + (".data-*" if cut == "data" else ".index")
    )
    _cut(damaged)
    rcli.usage_error(rcli.invoke("textgen", "generate", run, "--length", "5"), str(damaged))
    out = tmp_path / "saved" / "textgen"
    rcli.usage_error(rcli.invoke("textgen", "export", run, "--out", out), str(damaged))
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "value, shown", [("inf", "'inf'"), ("1e300", "'1e300'"), ("-inf", "'-inf'")]
)
def test_forecast_data_with_infinite_or_huge_values_is_one_line(tmp_path, value, shown):
    rows = ["day,sales"] + [f"2024-01-{d:02d},{50 + d % 7}" for d in range(1, 29)]
    rows[9] = f"2024-01-09,{value}"
    path = tmp_path / "s.csv"
    path.write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    args = ["--data", f"csv:{path}", "--time-col", "day", "--target", "sales", "--run-dir", run]
    result = rcli.invoke("forecast", "train", "--preset", "tiny", "--quiet", *args)
    rcli.usage_error(result, "column 'sales' of", f"holds {shown} (data row 9)", "rescale")
    assert not run.exists()  # before: training "diverged" and left a run with no checkpoint
