"""Multi-worker training that survives failures: real worker processes, real signals.

Every job here is textgen's or forecast's tiny preset on two local workers
(MultiWorkerMirroredStrategy over loopback). ``tests/fault_worker.py`` makes
one worker signal itself after a chosen step; ``rnnkit launch
--max-restarts`` restarts the job, which continues from its checkpoint.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rnnkit import recovery
from rnnkit.cli import free_ports

RNNKIT = [sys.executable, "-m", "rnnkit.cli"]
FAULT = [sys.executable, str(Path(__file__).parent / "fault_worker.py")]
TRAIN = ["textgen", "train", "--preset", "tiny", "--quiet"]

pytestmark = pytest.mark.slow


def _run(args, timeout=600):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def _launch(run_dir, restarts=0, fault=None):
    command = [*TRAIN, "--run-dir", str(run_dir)]
    if fault is None:
        command = [*RNNKIT, *command]
    else:
        command = [*FAULT, *fault, "--", *command]
    # A generous grace period: on a loaded machine the surviving worker can take
    # longer than the default 30 s to see its peer's collective fail and say so
    # before the launcher's SIGKILL would cut it off.
    launch = ["launch", "--workers", "2", "--max-restarts", str(restarts), "--grace-period", "120"]
    return _run([*RNNKIT, *launch, "--", *command])


def _checkpoint_values(run_dir):
    """Every saved variable of the run's last checkpoint (model and optimizer)."""
    reader = tf.train.load_checkpoint(str(run_dir / "ckpt"))
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if "VARIABLE_VALUE" in name and not name.startswith("save_counter")
    }


def _logged_steps(run_dir, split, tag):
    """The steps of ``tag`` in every event file of the split, in file order (duplicates kept)."""
    steps = []
    for path in sorted((run_dir / "tb" / split).glob("*tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            if any(v.tag == tag for v in event.summary.value):
                steps.append(event.step)
    return steps


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cluster") / "whole"
    code, out, err = _launch(run_dir)
    assert code == 0, out[-3000:] + err[-3000:]
    return run_dir


def _assert_same_training(run_dir, reference):
    """Final weights and optimizer state, per-epoch losses and logged steps as ``reference``."""
    ours, theirs = _checkpoint_values(run_dir), _checkpoint_values(reference)
    assert ours.keys() == theirs.keys()
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5, atol=1e-6, err_msg=name)
    histories = [json.loads((r / "metrics.json").read_text()) for r in (run_dir, reference)]
    assert histories[0]["status"] == "completed"
    for key in ("step", "loss", "val_loss"):
        np.testing.assert_allclose(
            [h[key] for h in histories[0]["history"]],
            [h[key] for h in histories[1]["history"]],
            rtol=1e-5,
        )
    for split, tag in (("train", "loss"), ("validation", "loss"), ("train", "sample")):
        steps = _logged_steps(run_dir, split, tag)
        assert len(steps) == len(set(steps)), f"{split}/{tag} logged twice: {steps}"
        assert sorted(steps) == _logged_steps(reference, split, tag)


def test_two_workers_train_like_one_process(uninterrupted, tmp_path):
    """The same global batches, so the same losses as one process under the default strategy."""
    single = tmp_path / "single"
    code, out, err = _run([*RNNKIT, *TRAIN, "--strategy", "default", "--run-dir", str(single)])
    assert code == 0, err[-3000:]
    histories = [
        json.loads((r / "metrics.json").read_text())["history"] for r in (uninterrupted, single)
    ]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(
            [h[key] for h in histories[0]], [h[key] for h in histories[1]], rtol=1e-4
        )


def test_a_worker_killed_mid_epoch_restarts_from_the_last_checkpoint(uninterrupted, tmp_path):
    # Step 7 is mid-epoch (6 steps an epoch); the last checkpoint is step 6.
    run_dir = tmp_path / "run"
    fault = ["--worker", "1", "--step", "7", "--signal", "KILL", "--once", str(tmp_path / "done")]
    code, out, err = _launch(run_dir, restarts=1, fault=fault)
    assert code == 0, out[-3000:] + err[-3000:]
    assert "launch: worker 1 was killed by SIGKILL" in err
    assert "restarting all 2 workers (restart 1 of 1)" in err
    assert "lost a worker during step 8" in out and "last checkpoint: step 6" in out
    assert "[worker 0] Done (completed, step 12)" in out
    _assert_same_training(run_dir, uninterrupted)


def test_sigterm_saves_every_worker_at_the_same_step_then_restarts(uninterrupted, tmp_path):
    # SIGTERM after step 8 (a periodic checkpoint): all workers save after step 9.
    run_dir = tmp_path / "run"
    fault = ["--worker", "1", "--step", "8", "--signal", "TERM", "--once", str(tmp_path / "done")]
    code, out, err = _launch(run_dir, restarts=1, fault=fault)
    assert code == 0, out[-3000:] + err[-3000:]
    for worker in (0, 1):
        assert f"[worker {worker}] Preempted: checkpoint saved at step 9." in out
    assert f"asked for a restart (exit code {recovery.RESTART_EXIT_CODE}" in err
    state = tf.train.get_checkpoint_state(str(run_dir / "ckpt"))
    assert any(p.endswith("ckpt-9") for p in state.all_model_checkpoint_paths)
    _assert_same_training(run_dir, uninterrupted)


def test_launch_gives_up_after_max_restarts():
    # Worker 1 dies at once every time; worker 0 is stopped each time.
    body = (
        "import json, os, signal, time\n"
        "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 1:\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    code, out, err = _run(
        [*RNNKIT, "launch", "--max-restarts", "1", "--", sys.executable, "-c", body]
    )
    assert time.monotonic() - start < 30  # the sleeping worker was stopped, not waited for
    assert code == 128 + signal.SIGKILL
    assert err.count("launch: worker 1 was killed by SIGKILL") == 2
    assert "restarting all 2 workers (restart 1 of 1)" in err
    assert "giving up after 1 restart (--max-restarts 1)" in err


def test_a_usage_error_is_not_restarted(tmp_path):
    code, out, err = _run(
        [*RNNKIT, "launch", "--max-restarts", "3", "--", *RNNKIT, *TRAIN, "--epochs", "0"]
    )
    assert code == 2
    assert "usage error (exit code 2" in err and "restarting all" not in err


def _start(cluster, task_type, index, command, cwd=None):
    tf_config = {"cluster": cluster, "task": {"type": task_type, "index": index}}
    env = dict(os.environ, TF_CONFIG=json.dumps(tf_config))
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_a_frozen_worker_fails_the_others_in_bounded_time(tmp_path):
    """SIGSTOP: the worker keeps its connections open but stops answering, like a dead
    machine. The coordination service's heartbeats fail the other worker, which exits
    with the restart code instead of waiting on the collective forever."""
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    fault = ["--worker", "1", "--step", "4", "--signal", "STOP", "--once", str(tmp_path / "x")]
    command = [*TRAIN, "--run-dir", str(tmp_path / "run")]
    workers = [
        _start(cluster, "worker", 0, [*RNNKIT, *command]),
        _start(cluster, "worker", 1, [*FAULT, *fault, "--", *command]),
    ]
    try:
        while not (tmp_path / "x").exists():
            assert workers[0].poll() is None, workers[0].stdout.read()[-3000:]
            time.sleep(0.2)
        frozen_at = time.monotonic()
        out, _ = workers[0].communicate(timeout=120)
        waited = time.monotonic() - frozen_at
    finally:
        for w in workers:
            w.kill()
            w.wait()
    assert workers[0].returncode == recovery.RESTART_EXIT_CODE, out[-3000:]
    assert "Error: lost a worker during step" in out and "Traceback" not in out
    assert waited < 60


def test_a_chief_and_a_worker_as_tfjob_writes_them(tmp_path):
    """TF_CONFIG with `chief` and `worker` task types: both train, only the chief writes."""
    ports = free_ports(2)
    cluster = {"chief": [f"localhost:{ports[0]}"], "worker": [f"localhost:{ports[1]}"]}
    run_dir = tmp_path / "run"
    command = [
        *RNNKIT,
        "forecast",
        "train",
        "--preset",
        "tiny",
        "--quiet",
        "--run-dir",
        str(run_dir),
    ]
    (tmp_path / "chief").mkdir()
    (tmp_path / "worker").mkdir()
    chief = _start(cluster, "chief", 0, command, cwd=tmp_path / "chief")
    worker = _start(cluster, "worker", 0, command, cwd=tmp_path / "worker")
    outputs = [p.communicate(timeout=600)[0] for p in (chief, worker)]
    assert chief.returncode == worker.returncode == 0, outputs[0][-3000:] + outputs[1][-3000:]
    assert "Done (completed" in outputs[0] and "Done (" not in outputs[1]
    # One writer: one event file per split, checkpoints only under ckpt/.
    for split in ("train", "validation"):
        assert len(list((run_dir / "tb" / split).glob("*tfevents*"))) == 1
    names = {p.relative_to(run_dir).parts[0] for p in run_dir.iterdir()}
    assert {"config.json", "metrics.json", "ckpt", "tb"} <= names
    assert not [p for p in run_dir.rglob("*") if "worker" in p.name or "tmp" in p.name]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "completed"
    assert not list((tmp_path / "worker").iterdir())


def test_resume_auto_continues_the_same_config_and_names_what_differs(tmp_path):
    from click.testing import CliRunner

    from rnnkit.cli import cli

    run = tmp_path / "run"
    args = [*TRAIN, "--epochs", "1", "--run-dir", str(run)]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    # The same command line again: the run is complete, so nothing more is trained.
    again = CliRunner().invoke(cli, [*args, "--resume", "auto"])
    assert again.exit_code == 0, again.output
    assert "Done (completed, step 6)" in again.output
    assert len(json.loads((run / "metrics.json").read_text())["history"]) == 1
    other = CliRunner().invoke(cli, [*args, "--learning-rate", "0.1", "--resume", "auto"])
    assert other.exit_code == 2
    assert "holds a run with another config (train.learning_rate differ)" in other.output
    fresh = CliRunner().invoke(cli, args)  # --resume never, the default on one machine
    assert fresh.exit_code == 2 and "already holds a run" in fresh.output


def test_a_multi_worker_job_needs_a_shared_run_dir(monkeypatch):
    from click.testing import CliRunner

    from rnnkit.cli import cli
    from rnnkit.runs import RUN_ID_ENV

    cluster = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}})
    )
    monkeypatch.delenv(RUN_ID_ENV, raising=False)
    result = CliRunner().invoke(cli, TRAIN)
    assert result.exit_code == 2
    assert "a multi-worker job needs --run-dir" in result.output
