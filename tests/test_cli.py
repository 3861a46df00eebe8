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
