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
