"""Every failure is one line, exit 2, nothing half-done: bad inputs found by trying.

Each case is a real file or command line; each gave a traceback before.
"""

import json
import struct

import pytest

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
