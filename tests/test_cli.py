"""The rnnkit console script."""

import subprocess
import sys

from click.testing import CliRunner

import rnnkit
from rnnkit.cli import cli


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert rnnkit.__version__ in result.output
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Usage: rnnkit" in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-app"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert rnnkit.__version__ in out.stdout


def test_launch_reports_a_failing_worker():
    out = subprocess.run(
        [sys.executable, "-m", "rnnkit.cli", "launch", "--workers", "2", "--"]
        + [
            sys.executable,
            "-c",
            "import os, sys; sys.exit(3 if '\"index\": 1' in os.environ['TF_CONFIG'] else 0)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 3
    assert "worker exit codes [0, 3]" in out.stderr


def test_sigterm_on_one_machine_names_the_command_that_continues(tmp_path, monkeypatch):
    """Without a multi-worker TF_CONFIG `--resume auto` is not the default: say what works.

    The signal after step 3 is seen in step 4 (it rides on the step's all-reduce).
    """
    import os
    import signal

    from rnnkit import training
    from rnnkit.testing import cli as rcli

    fit = training.fit

    def preempted_at_step_3(*args, **kwargs):
        def on_step(step, loss):
            if step == 3:
                os.kill(os.getpid(), signal.SIGTERM)

        return fit(*args, **kwargs, on_step=on_step)

    monkeypatch.setattr(training, "fit", preempted_at_step_3)
    run = tmp_path / "run"
    result = rcli.invoke("textgen", "train", "--preset", "tiny", "--run-dir", run, "--quiet")
    assert result.exit_code == 138, result.output
    again = f"rnnkit textgen train --resume --run-dir {run}"
    assert (
        f"checkpoint saved at step 4. Exit code 138 asks for a restart; continue with: {again}."
        in (result.output)
    )
    monkeypatch.setattr(training, "fit", fit)
    result = rcli.invoke("textgen", "train", "--resume", "--run-dir", run, "--quiet")
    assert result.exit_code == 0 and "Done (completed, step 12)" in result.output


def test_profile_steps_write_a_trace_for_tensorboard(tmp_path):
    from rnnkit.testing import cli as rcli

    run = tmp_path / "run"
    args = ["train", "--preset", "tiny", "--epochs", "1", "--quiet", "--run-dir", run]
    result = rcli.invoke("textgen", *args, "--profile-steps", "2,3")
    assert result.exit_code == 0, result.output
    [trace] = (run / "tb" / "train" / "plugins" / "profile").glob("*/*.xplane.pb")
    assert trace.stat().st_size > 1000
    for bad in ("3,2", "0,2", "two"):
        rcli.usage_error(rcli.invoke("textgen", *args, "--profile-steps", bad), "--profile-steps")
