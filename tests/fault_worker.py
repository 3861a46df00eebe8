"""Test helper: runs the rnnkit command, and one worker signals itself at a chosen step.

    python tests/fault_worker.py --worker 1 --step 7 --signal KILL --once FILE -- textgen train ...

The worker whose TF_CONFIG index is ``--worker`` sends itself ``--signal``
(KILL: a crash with no chance to save; TERM: preemption; STOP: a frozen
machine that keeps its connections open) right after training step
``--step``, through ``rnnkit.training.fit``'s ``on_step``. ``--once FILE``:
only if FILE does not exist yet (it is created), so the restarted job runs
through. Everything else is the real command in a real process.
"""

import argparse
import json
import os
import signal
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", type=int, required=True)
    parser.add_argument("--step", type=int, required=True)
    parser.add_argument("--signal", choices=["KILL", "TERM", "STOP"], required=True)
    parser.add_argument("--once", type=Path, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    # The script's folder (tests/, with its tests/rnnkit) must not shadow the package.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from rnnkit import cli, training

    task = json.loads(os.environ["TF_CONFIG"])["task"]
    fit = training.fit

    def on_step(step, loss):
        if task["index"] == args.worker and step == args.step and not args.once.exists():
            args.once.touch()
            os.kill(os.getpid(), getattr(signal, f"SIG{args.signal}"))

    def fit_with_fault(*a, **k):
        return fit(*a, on_step=on_step, **k)

    training.fit = fit_with_fault
    sys.argv = ["rnnkit", *command]
    cli.main()


if __name__ == "__main__":
    main()
