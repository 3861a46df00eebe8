"""What a training job needs to survive a cluster: preemption, lost workers, restarts.

- ``StopRequest``: SIGTERM (what Kubernetes sends before it kills a pod)
  sets a flag instead of killing the process. The training loop feeds the
  flag into every step, where it rides on the all-reduce that every step
  does anyway, so all workers learn of a signal to any of them after the
  same step, save the same checkpoint and exit with ``RESTART_EXIT_CODE``.
- ``is_lost_worker`` tells the errors a collective raises when a peer dies
  (its connection is refused, or the coordination service misses its
  heartbeats) from the job's own errors.
- ``trim_events``: a restarted run logs again the TensorBoard steps after
  its checkpoint; the dead attempt's events there are dropped first, so no
  step appears twice.
- ``checkpoints`` and ``damage``: a checkpoint cut short (a disk filled, a
  copy interrupted) is found by reading it whole (TF checks each tensor's
  CRC) before anything restores from it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from rnnkit.errors import RESTART_EXIT_CODE, first_line
from rnnkit.files import atomic_path

_LOST_WORKER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.DeadlineExceededError,
    tf.errors.AbortedError,
    tf.errors.CancelledError,
)


class Preempted(Exception):
    """Training stopped on SIGTERM after saving a checkpoint at ``step``."""

    def __init__(self, step: int):
        super().__init__(f"stopped on SIGTERM; checkpoint saved at step {step}")
        self.step = step


class WorkerLost(Exception):
    """A collective failed because a peer worker died or stopped answering."""

    def __init__(self, step: int, checkpoint_step: int | None, cause: str):
        kept = f"step {checkpoint_step}" if checkpoint_step is not None else "none saved yet"
        super().__init__(f"lost a worker during step {step} ({cause}); last checkpoint: {kept}")
        self.step = step
        self.checkpoint_step = checkpoint_step


def is_lost_worker(error: BaseException) -> bool:
    return isinstance(error, _LOST_WORKER_ERRORS)


class StopRequest:
    """While active, SIGTERM sets ``requested`` instead of ending the process.

    A context manager; the previous handler comes back on exit. Outside the
    main thread (where Python cannot install handlers) it does nothing.
    """

    def __init__(self):
        self.requested = False
        self._previous = None
        self._installed = False

    def _handle(self, signum, frame):
        if not self.requested:
            print(
                "SIGTERM: saving a checkpoint after the next step, then exiting "
                f"with code {RESTART_EXIT_CODE} (restart me)",
                file=sys.stderr,
                flush=True,
            )
        self.requested = True

    def flag(self) -> tf.Tensor:
        return tf.constant(1.0 if self.requested else 0.0, tf.float32)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False
        return False


def trim_events(folder: str | Path, keep: Callable[[Path, tf.compat.v1.Event], bool]) -> int:
    """Drops the events that ``keep(path, event)`` refuses from the event files under ``folder``.

    Each changed file is rewritten to a temporary name and renamed over the
    old one. A record cut short by a killed writer ends the file (and is
    dropped). Returns the number of events dropped.
    """
    dropped = 0
    for path in sorted(Path(folder).glob("**/*tfevents*")):
        kept, seen = [], 0
        try:
            for record in tf.data.TFRecordDataset(str(path)):
                seen += 1
                if keep(path, tf.compat.v1.Event.FromString(record.numpy())):
                    kept.append(record.numpy())
        except tf.errors.DataLossError:
            seen += 1  # the torn record at the end
        if len(kept) == seen:
            continue
        dropped += seen - len(kept)
        with atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
            for record in kept:
                writer.write(record)
    return dropped


def checkpoints(folder: str | Path) -> list[str]:
    """The checkpoints a ``CheckpointManager`` keeps in ``folder``, newest first.

    From its ``checkpoint`` file, or, when that file is missing or damaged,
    from the ``*.index`` files themselves.
    """
    folder = Path(folder)
    try:
        state = tf.train.get_checkpoint_state(str(folder))
    except Exception:  # a damaged state file: the index files still say what is there
        state = None
    if state is not None and state.all_model_checkpoint_paths:
        paths = [str(folder / Path(p).name) for p in state.all_model_checkpoint_paths]
    else:
        paths = [str(p.with_suffix("")) for p in folder.glob("*.index")]
    return sorted(paths, key=_number, reverse=True)


def _number(prefix: str) -> int:
    tail = prefix.rpartition("-")[2]
    return int(tail) if tail.isdigit() else -1


def damage(prefix: str) -> str | None:
    """What makes the checkpoint at ``prefix`` unreadable, naming the file; None when whole."""
    index = Path(prefix + ".index")
    if not index.is_file():
        return f"{index} is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        return f"{index} cannot be read: {first_line(e)}"
    data = ", ".join(str(p) for p in sorted(index.parent.glob(Path(prefix).name + ".data-*")))
    try:
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError) as e:
        return f"{data or prefix + '.data-*'} cannot be read: {first_line(e)}"
    return None
