"""The ``rnnkit`` command: the apps' groups, mounted lazily, and ``launch``."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ.get("RNNKIT_VERBOSE", "") in ("", "0"):  # rnnkit.quiet.VERBOSE_ENV
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import click

import rnnkit
from rnnkit import loopback, quiet
from rnnkit.errors import RESTART_EXIT_CODE
from rnnkit.runs import RUN_ID_ENV

# App name -> "module:attribute" of its click group, imported when named. An
# app's commands import TensorFlow when they run (rnnkit.app.TensorFlowGroup),
# not for --help.
APPS = {
    "textgen": "apps.textgen.cli:group",
    "forecast": "apps.forecast.cli:group",
    "speechtag": "apps.speechtag.cli:group",
    "caption": "apps.caption.cli:group",
    "translate": "apps.translate.cli:group",
    "classify": "apps.classify.cli:group",
}
# Other groups, mounted the same way.
GROUPS = {**APPS, "serving": "rnnkit.serving.cli:group"}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *GROUPS])

    def get_command(self, ctx, name):
        if name in GROUPS:
            module, _, attribute = GROUPS[name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(
    name="rnnkit", cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(rnnkit.__version__, prog_name="rnnkit")
@click.option(
    "--verbose",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _be_verbose() if value else None,
    help=f"Show TensorFlow's start-up and info lines (or set {quiet.VERBOSE_ENV}=1).",
)
def cli() -> None:
    """Recurrent-network apps on Keras 3 and TensorFlow."""


def _be_verbose() -> None:
    os.environ[quiet.VERBOSE_ENV] = "1"
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "2":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports that are free now (for local workers' TF_CONFIG)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind((loopback.HOST, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _pump(stream, prefix: str) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


def _why(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    if code == RESTART_EXIT_CODE:
        return f"asked for a restart (exit code {code}: preempted, or lost a peer)"
    return f"failed with exit code {code}"


def _run_workers(
    workers, command, run_id, grace_period, preload
) -> tuple[dict[int, int], list[int]]:
    """Runs one attempt of the job.

    Returns every worker's exit code, and the workers that failed before the
    others were stopped (the cause). When a worker fails, the others get SIGTERM, and SIGKILL after
    ``grace_period`` seconds: a worker waiting on a dead peer's collective
    would otherwise wait for the coordination service to notice.
    """
    ports = free_ports(workers)
    cluster = {"worker": [f"{loopback.HOST}:{p}" for p in ports]}
    processes, pumps = [], []
    for index in range(workers):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        env[RUN_ID_ENV] = run_id
        if preload is not None:
            env = loopback.environment(env, preload)
        try:
            process = subprocess.Popen(
                list(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        except OSError as e:
            for p in processes:
                p.kill()
            raise click.UsageError(f"cannot start {command[0]!r}: {e.strerror}") from None
        processes.append(process)
        pump = threading.Thread(target=_pump, args=(process.stdout, f"[worker {index}] "))
        pump.start()
        pumps.append(pump)
    failed_at, failed = None, []
    try:
        while [p.poll() for p in processes].count(None):  # poll every one, no short cut
            failed = failed or [i for i, p in enumerate(processes) if p.returncode not in (None, 0)]
            if failed and failed_at is None:
                failed_at = time.monotonic()
                for p in processes:
                    if p.poll() is None:
                        p.terminate()
            if failed_at is not None and time.monotonic() - failed_at > grace_period:
                for p in processes:
                    if p.poll() is None:
                        p.kill()
            time.sleep(0.2)
    except KeyboardInterrupt:
        # Every worker gets the interrupt; the chief saves its checkpoint.
        for p in processes:
            p.send_signal(signal.SIGINT)
        codes = [p.wait() for p in processes]
        for pump in pumps:
            pump.join()
        click.echo(f"launch: interrupted; worker exit codes {codes}", err=True)
        sys.exit(130)
    for pump in pumps:
        pump.join()
    # All may have ended between two polls.
    failed = failed or [i for i, p in enumerate(processes) if p.returncode != 0]
    return {i: p.returncode for i, p in enumerate(processes)}, failed


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--max-restarts",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="When a worker fails, stop the others and start all of them again, this many "
    "times at most (as a cluster scheduler restarts a job's pods).",
)
@click.option(
    "--grace-period",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds between SIGTERM and SIGKILL when the others are stopped (Kubernetes' default).",
)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def launch(workers, max_restarts, grace_period, command):
    """Run COMMAND as N local workers of one multi-worker job.

    Each process gets a TF_CONFIG naming all workers on loopback ports and
    its own index, so `--strategy auto` picks MultiWorkerMirroredStrategy;
    all of them share one run directory. With --max-restarts, a failed job
    is started again with the same command, and training continues from its
    last checkpoint (`train --resume auto` is the default under TF_CONFIG).
    A usage error (exit code 2) is not retried. Example:

        rnnkit launch --workers 2 --max-restarts 3 -- rnnkit textgen train --preset tiny
    """
    run_id = os.environ.get(RUN_ID_ENV) or f"launch-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="rnnkit-launch-") as private:
        preload = loopback.build(private)
        if preload is None:
            click.echo(
                "launch: warning: no C compiler (cc) to build the loopback guard: the workers' "
                "unauthenticated gRPC servers listen on every interface (docs/security.md)",
                err=True,
            )
        _launch(workers, max_restarts, grace_period, command, run_id, preload)


def _launch(workers, max_restarts, grace_period, command, run_id, preload) -> None:
    restarts = 0
    while True:
        codes, failed = _run_workers(workers, command, run_id, grace_period, preload)
        if not failed:
            return
        # The cause, rather than a peer that stopped because of it.
        index = next((i for i in failed if codes[i] != RESTART_EXIT_CODE), failed[0])
        code = codes[index]
        summary = f"worker exit codes {list(codes.values())}"
        exit_code = 128 - code if code < 0 else code
        if code == 2:
            click.echo(
                f"launch: worker {index} failed with a usage error (exit code 2; {summary}); "
                "not restarting: the same command would fail the same way",
                err=True,
            )
            sys.exit(2)
        if restarts >= max_restarts:
            click.echo(
                f"launch: worker {index} {_why(code)} ({summary}); giving up after "
                f"{restarts} restart{'s' * (restarts != 1)} (--max-restarts {max_restarts})",
                err=True,
            )
            sys.exit(exit_code)
        restarts += 1
        click.echo(
            f"launch: worker {index} {_why(code)} ({summary}); restarting all {workers} "
            f"workers (restart {restarts} of {max_restarts})",
            err=True,
        )


def main() -> None:
    # `rnnkit <app> export` runs CPU-only, so no GPU-only op (cuDNN) lands in
    # the SavedModel; TensorFlow is not imported yet at this point.
    if sys.argv[2:3] == ["export"]:
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    cli()


if __name__ == "__main__":
    main()
