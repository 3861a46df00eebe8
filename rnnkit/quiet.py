"""TensorFlow's start-up noise, kept off a command's stderr; real errors still shown.

TF 2.21 writes six to eight lines from C++ on every start, some before
absl's logging exists, whatever ``TF_CPP_MIN_LOG_LEVEL`` says:
``All log messages before absl::InitializeLog()`` (twice), ``oneDNN custom
operations are on`` (twice), ``Could not find cuda drivers`` (twice),
``failed call to cuInit`` (an error-level line on a CPU machine, at the first
device query) and ``oneDNN supports DT_BOOL only on platforms with AVX-512``
(once, at the first bool transpose a graph runs). ``import_tensorflow``
redirects the stderr file descriptor to a temporary file while it imports
TensorFlow, queries the devices and runs one tiny bool transpose, so each of
those lines is spent there; then it puts stderr back and replays every line
that is not known noise. Anything else TensorFlow says, then or later,
reaches stderr as before.

``RNNKIT_VERBOSE=1`` (or ``rnnkit --verbose``) leaves everything alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

VERBOSE_ENV = "RNNKIT_VERBOSE"
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|failed call to cuInit"
    r"|oneDNN supports DT_BOOL only on platforms with AVX-512"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|^To enable the following instructions: .* rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


class _HarmlessWarnings(logging.Filter):
    """absl's warning for every custom-gradient function of a SavedModel it loads.

    rnnkit's layers define their own gradients for training; a loaded
    SavedModel only runs forward (serving, the export's self-check), so the
    warning that asking for a gradient would fail says nothing to its user.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "with ops with unsaved custom gradients" not in record.getMessage()


@contextlib.contextmanager
def captured() -> Iterator[None]:
    """stderr's file descriptor sent to a temporary file; afterwards every line of it that
    is not known noise is written to stderr (also when the block raised)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            said = capture.read().decode("utf-8", "replace").splitlines()
            kept = [line for line in said if line.strip() and not NOISE.search(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def import_tensorflow() -> None:
    """Imports TensorFlow with its start-up lines kept off stderr (once per process).

    It also spends the lines TensorFlow prints at its first device query and
    first bool transpose, except in a multi-worker job: there no op may run
    before ``MultiWorkerMirroredStrategy`` configures the collectives, so
    ``train`` calls ``settle`` once the strategy exists.
    """
    if "tensorflow" in sys.modules or verbose():
        return
    with captured():
        import tensorflow  # noqa: F401 (imported for its start-up lines)
    logging.getLogger("absl").addFilter(_HarmlessWarnings())
    from rnnkit.strategies import multi_worker_tf_config

    if not multi_worker_tf_config():
        settle()


_settled = False


def settle() -> None:
    """Runs what makes TensorFlow print its once-a-process lines, with them kept off stderr."""
    global _settled
    if _settled or verbose():
        return
    _settled = True
    import tensorflow as tf

    with captured():
        tf.config.list_physical_devices()  # cuInit's line
        flags = tf.constant([[True, False]])
        tf.function(lambda x: tf.transpose(x))(flags)  # the DT_BOOL line
