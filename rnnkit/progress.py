"""Training progress for a person at a terminal, or for a log file.

Keras's progress bar redraws one line with carriage returns and colour
codes: right on a terminal, unreadable in a file (CI, ``kubectl logs``,
``> train.log``). Where stdout is not a terminal, ``progress`` prints plain
lines instead: about ten an epoch, and at least one every ``seconds``.
"""

from __future__ import annotations

import math
import sys
import time


class PlainProgress:
    """``keras.utils.Progbar``'s ``update(current, values)``, as one plain line at a time."""

    def __init__(self, target: int, shown: bool, lines: int = 10, seconds: float = 60.0):
        self.target, self.shown, self.seconds = target, shown, seconds
        self.every = max(1, math.ceil(target / lines))
        self.last_step, self.last_time = None, time.monotonic()

    def update(self, current: int, values=()) -> None:
        if self.last_step is None:  # the start (or where a resumed epoch starts)
            self.last_step = current
            return
        if not self.shown or current <= self.last_step:
            return
        now = time.monotonic()
        due = current % self.every == 0 or now - self.last_time >= self.seconds
        if not (due or current == self.target):
            return
        shown = "".join(f"  {name} {value:.4g}" for name, value in values)
        print(f"  step {current}/{self.target}{shown}", flush=True)
        self.last_step, self.last_time = current, now


def progress(target: int, shown: bool, stream=None):
    """Keras's bar on a terminal, ``PlainProgress`` elsewhere."""
    stream = stream or sys.stdout
    if getattr(stream, "isatty", lambda: False)():
        import keras

        return keras.utils.Progbar(target, stateful_metrics=["loss", "steps/s"], verbose=int(shown))
    return PlainProgress(target, shown)
