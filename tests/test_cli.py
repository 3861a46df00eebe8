"""The rnnkit console script."""

import json
import subprocess
import sys

import numpy as np
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


def test_launch_trains_one_job_on_two_workers(tmp_path):
    """Two local worker processes under MultiWorkerMirroredStrategy: the same
    global batches, so the same losses as one process under the default strategy."""
    rnnkit_cmd = [sys.executable, "-m", "rnnkit.cli"]
    train = ["textgen", "train", "--preset", "tiny", "--quiet"]
    multi = subprocess.run(
        [*rnnkit_cmd, "launch", "--workers", "2", "--", *rnnkit_cmd, *train]
        + ["--strategy", "multiworker", "--run-dir", str(tmp_path / "multi")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert multi.returncode == 0, multi.stdout[-3000:] + multi.stderr[-3000:]
    assert "[worker 0] Done (completed, step 12)" in multi.stdout
    assert "[worker 1] " in multi.stdout
    single = CliRunner().invoke(
        cli, [*train, "--strategy", "default", "--run-dir", str(tmp_path / "single")]
    )
    assert single.exit_code == 0, single.output
    histories = [
        json.loads((tmp_path / name / "metrics.json").read_text())["history"]
        for name in ("multi", "single")
    ]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(
            [h[key] for h in histories[0]], [h[key] for h in histories[1]], rtol=1e-4
        )


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
