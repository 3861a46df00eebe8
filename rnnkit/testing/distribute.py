"""Run an app's ``train`` command on two replicas (logical CPUs), in a process of its own."""

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from rnnkit.cli import cli
cli(sys.argv[1:])
"""


def train_mirrored(app: str, run_dir: str | Path, args: Sequence[str] = ("--preset", "tiny")):
    """``rnnkit APP train ARGS --strategy mirrored`` with two logical CPU devices.

    The logical devices must be set before TensorFlow starts, hence the
    subprocess. Raises ``AssertionError`` with the end of stderr on failure.
    """
    command = [app, "train", *args, "--strategy", "mirrored", "--quiet", "--run-dir", str(run_dir)]
    proc = subprocess.run(
        [sys.executable, "-c", _MIRRORED, *command], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
