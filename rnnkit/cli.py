"""The ``rnnkit`` command: the apps' groups, mounted lazily, and ``launch``."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import click  # noqa: E402

import rnnkit  # noqa: E402
from rnnkit.app import RUN_ID_ENV  # noqa: E402

# App name -> "module:attribute" of its click group. Importing an app imports
# TensorFlow, so an app is loaded only when its command runs.
APPS = {
    "textgen": "apps.textgen.cli:group",
    "forecast": "apps.forecast.cli:group",
    "speechtag": "apps.speechtag.cli:group",
    "caption": "apps.caption.cli:group",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *APPS])

    def get_command(self, ctx, name):
        if name in APPS:
            module, _, attribute = APPS[name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(
    name="rnnkit", cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(rnnkit.__version__, prog_name="rnnkit")
def cli() -> None:
    """Recurrent-network apps on Keras 3 and TensorFlow."""


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _pump(stream, prefix: str) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def launch(workers, command):
    """Run COMMAND as N local workers of one multi-worker job.

    Each process gets a TF_CONFIG naming all workers on loopback ports and
    its own index, so `--strategy auto` picks MultiWorkerMirroredStrategy;
    all of them share one run directory. Example:

        rnnkit launch --workers 2 -- rnnkit textgen train --preset tiny
    """
    ports = _free_ports(workers)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    run_id = os.environ.get(RUN_ID_ENV) or f"launch-{uuid.uuid4().hex[:8]}"
    processes, pumps = [], []
    for index in range(workers):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        env[RUN_ID_ENV] = run_id
        try:
            process = subprocess.Popen(
                list(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        except OSError as e:
            for p in processes:
                p.terminate()
            raise click.UsageError(f"cannot start {command[0]!r}: {e.strerror}") from None
        processes.append(process)
        pump = threading.Thread(target=_pump, args=(process.stdout, f"[worker {index}] "))
        pump.start()
        pumps.append(pump)
    try:
        # A worker that fails leaves the others waiting on its collectives forever.
        while any(p.poll() is None for p in processes):
            if any(p.returncode not in (None, 0) for p in processes):
                for p in processes:
                    if p.poll() is None:
                        p.terminate()
            time.sleep(0.2)
        codes = [p.returncode for p in processes]
    except KeyboardInterrupt:
        # Every worker gets the interrupt; the chief saves its checkpoint.
        for p in processes:
            p.send_signal(signal.SIGINT)
        codes = [p.wait() for p in processes]
    for pump in pumps:
        pump.join()
    failed = [code for code in codes if code != 0]
    if failed:
        click.echo(f"launch: worker exit codes {codes}", err=True)
        sys.exit(failed[0])


def main() -> None:
    # `rnnkit <app> export` runs CPU-only, so no GPU-only op (cuDNN) lands in
    # the SavedModel; TensorFlow is not imported yet at this point.
    if sys.argv[2:3] == ["export"]:
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    cli()


if __name__ == "__main__":
    main()
