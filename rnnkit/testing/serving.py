"""Run a SavedModel signature the way TF Serving loads it: through ``saved_model_cli``."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

SAVED_MODEL_CLI = str(Path(sys.executable).with_name("saved_model_cli"))


def save_unchecked(module, signatures: dict, prefix: str) -> Path:
    """``module`` saved with ``signatures`` as ``<new temporary folder>/1``, for benchmarks.

    Not ``rnnkit.export.export``: no warmup records, checks or ``models.config``.
    """
    import tensorflow as tf

    path = Path(tempfile.mkdtemp(prefix=prefix)) / "1"
    tf.saved_model.save(module, str(path), signatures=signatures)
    return path


def saved_model_cli_run(path: str | os.PathLike, signature: str, input_exprs: str) -> str:
    """``saved_model_cli run`` (session-based loading, as in TF Serving); returns its stdout.

    Raises ``AssertionError`` with the end of stderr when the command fails.
    """
    run = subprocess.run(
        [SAVED_MODEL_CLI, "run", "--dir", str(path), "--tag_set", "serve"]
        + ["--signature_def", signature, "--input_exprs", input_exprs],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout
