"""Training progress in a log file is plain lines; on a terminal, Keras's bar."""

import io
import os
import subprocess
import sys

import keras
import pytest

from rnnkit.progress import PlainProgress, progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_the_bar_and_a_file_plain_lines(capsys):
    assert isinstance(progress(6, True, stream=_Terminal()), keras.utils.Progbar)
    bar = progress(20, True, stream=io.StringIO())
    assert isinstance(bar, PlainProgress)
    bar.update(0)
    for step in range(1, 21):
        bar.update(step, [("loss", 4.0 - step / 10), ("steps/s", 12.5)])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"  step {s}/20  loss {4.0 - s / 10:.4g}  steps/s 12.5"
        for s in (2, 4, 6, 8, 10, 12, 14, 16, 18, 20)
    ]


def test_a_resumed_epoch_starts_where_it_left_off(capsys):
    bar = PlainProgress(6, True)
    bar.update(4)  # the steps done before the restart
    bar.update(5, [("loss", 1.0)])
    bar.update(6, [("loss", 0.5)])
    assert capsys.readouterr().out == "  step 5/6  loss 1\n  step 6/6  loss 0.5\n"
    quiet = PlainProgress(6, False)
    quiet.update(0)
    quiet.update(6, [("loss", 0.5)])
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_training_piped_to_a_file_has_no_control_codes(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", "textgen", "train", "--preset", "tiny"]
        + ["--epochs", "1", "--run-dir", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout and "\x1b[" not in done.stdout and "\b" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[1] == "Epoch 1/1"
    assert lines[2].startswith("  step 1/6  loss ") and lines[7].startswith("  step 6/6  loss ")
    assert lines[8].startswith("  train loss ")
