"""The state of one ``rnnkit.training.fit`` and the named steps it runs over it.

``start`` builds the model, optimizer, checkpoints and counters; ``restore``
continues from the last checkpoint; ``run_epoch`` trains an epoch (or what
is left of it); ``end_epoch`` validates, logs, keeps the best checkpoint and
writes ``metrics.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnkit import recovery, steps
from rnnkit.configs import TrainConfig
from rnnkit.errors import InputError
from rnnkit.files import write_json
from rnnkit.optimizers import make_optimizer
from rnnkit.progress import progress
from rnnkit.strategies import is_chief

# What the loop logs every ``log_every`` steps (the rest is logged at an epoch's end).
STEP_TAGS = ("loss", "learning_rate", "steps_per_sec", "grad_norm")


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite."""


@dataclasses.dataclass
class Loop:
    """The state of one ``fit``: what the steps below read and change."""

    task: Any  # rnnkit.training.Task
    config: TrainConfig
    run_dir: Path
    strategy: tf.distribute.Strategy
    chief: bool
    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    steps_per_epoch: int
    checkpoint: tf.train.Checkpoint
    counters: dict[str, tf.Variable]  # step, best, bad_epochs, epoch_loss, epochs_done
    manager: tf.train.CheckpointManager
    best_manager: tf.train.CheckpointManager
    ckpt_dir: Path
    writers: dict = dataclasses.field(default_factory=dict)
    profile_steps: tuple[int, int] | None = None  # trace these steps (train --profile-steps)
    profiling: bool = False
    verbose: bool = True
    on_step: Callable[[int, float], None] | None = None
    step: int = 0
    epoch: int = 0
    last_saved: int = -1
    history: list[dict] = dataclasses.field(default_factory=list)
    best: dict | None = None
    status: str = "running"

    @property
    def shown(self) -> bool:
        return self.verbose and self.chief

    def save(self) -> None:
        self.manager.save(checkpoint_number=int(self.counters["step"]))
        self.last_saved = self.step

    def save_unless_saved(self) -> None:
        if self.step != self.last_saved:
            self.save()

    def open_writers(self) -> None:
        """TensorBoard's ``RUN/tb/train`` and ``RUN/tb/validation`` (the chief's only)."""
        for name in ("train", "validation"):
            path = str(self.run_dir / "tb" / name)
            self.writers[name] = (
                tf.summary.create_file_writer(path)
                if self.chief
                else tf.summary.create_noop_writer()
            )

    def profile(self, stop: bool = False) -> None:
        """Starts TensorFlow's profiler before the first traced step; stops it after the last."""
        if self.profile_steps is None:
            return
        first, last = self.profile_steps
        if not self.profiling and not stop and self.step + 1 == first:
            tf.profiler.experimental.start(str(self.run_dir / "tb" / "train"))
            self.profiling = True
        elif self.profiling and (stop or self.step >= last):
            tf.profiler.experimental.stop()
            self.profiling = False

    def learning_rate(self) -> float:
        # The schedule's value at the optimizer's iteration count, i.e. this step.
        return float(self.optimizer.learning_rate)

    def write_metrics(self) -> None:
        """``RUN/metrics.json``: the one place that writes it, whatever the outcome."""
        if not self.chief:
            return
        # A lost worker's step may not be saved: the restart continues from the checkpoint.
        step = self.last_saved if self.status == "worker_lost" else self.step
        write_json(
            self.run_dir / "metrics.json",
            {"status": self.status, "step": step, "history": self.history, "best": self.best},
        )


def start(task, config, run_dir, strategy, verbose, on_step) -> Loop:
    """The model, its optimizer, the checkpoint managers and TensorBoard writers."""
    chief = is_chief(strategy)
    run_dir.mkdir(parents=True, exist_ok=True)
    steps_per_epoch = config.steps_per_epoch or steps.count_batches(task.train_data(0))
    with strategy.scope():
        model = task.build_model()
        optimizer = (task.optimizer or make_optimizer)(config, steps_per_epoch * config.epochs)
        if config.ema:
            # Keras's own average (updated in ``apply``, checkpointed with the
            # optimizer), set here so an app's own optimizer gets it too.
            optimizer.use_ema, optimizer.ema_momentum = True, config.ema
        optimizer.build(model.trainable_variables)
    # Bookkeeping for the host, outside the scope: plain variables, not mirrored.
    counters = {
        "step": tf.Variable(0, dtype=tf.int64, trainable=False, name="step"),
        "best": tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best"),
        "bad_epochs": tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_epochs"),
        # The running sum of this epoch's losses, so a resumed epoch reports its full mean.
        "epoch_loss": tf.Variable(0.0, dtype=tf.float64, trainable=False, name="epoch_loss"),
        # Epochs whose end (validation, best checkpoint) is done; -1 until
        # restored (checkpoints from before it existed: the step says which epoch).
        "epochs_done": tf.Variable(-1, dtype=tf.int64, trainable=False, name="epochs_done"),
    }
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, **counters)
    steps.check_checkpointed(model)
    # Every worker takes part in saving; only the chief's copy is kept. Every
    # worker resumes from the chief's (the run directory is shared).
    ckpt_dir = run_dir / "ckpt" if chief else Path(tempfile.mkdtemp(prefix="rnnkit-ckpt-"))
    manager = tf.train.CheckpointManager(
        checkpoint,
        str(ckpt_dir),
        max_to_keep=config.keep_checkpoints,
        step_counter=counters["step"],
    )
    best_manager = tf.train.CheckpointManager(checkpoint, str(ckpt_dir / "best"), max_to_keep=1)
    return Loop(
        task=task,
        config=config,
        run_dir=run_dir,
        strategy=strategy,
        chief=chief,
        model=model,
        optimizer=optimizer,
        steps_per_epoch=steps_per_epoch,
        checkpoint=checkpoint,
        counters=counters,
        manager=manager,
        best_manager=best_manager,
        ckpt_dir=ckpt_dir,
        verbose=verbose,
        on_step=on_step,
    )


@contextlib.contextmanager
def averaged_weights(loop: Loop):
    """The model holds the moving average of its weights inside (``train.ema``; else as is).

    The weights and their averages swap places, and back on the way out, so
    the latest checkpoints keep the training weights and the average for a
    resume; a checkpoint saved inside (the best one) holds the averaged
    weights in the model, which is what ``evaluate`` and ``export`` read.
    """
    if not loop.config.ema:
        yield
        return
    _swap_average(loop.optimizer)
    try:
        yield
    finally:
        _swap_average(loop.optimizer)


def use_average(loop: Loop) -> None:
    """The trained model keeps the averaged weights, as Keras's ``fit`` leaves it."""
    if loop.config.ema:
        _swap_average(loop.optimizer)


def _swap_average(optimizer) -> None:
    # In cross-replica context: each assign reaches every replica's copy.
    for var, average in zip(
        optimizer._trainable_variables, optimizer._model_variables_moving_average, strict=True
    ):
        held = tf.identity(var.value)
        var.assign(average.value)
        average.assign(held)


def restore(loop: Loop, resume: bool) -> None:
    """Continues from the last checkpoint: its step and epoch, the history, TensorBoard trimmed."""
    run_dir, counters = loop.run_dir, loop.counters
    if not resume:
        counters["epochs_done"].assign(0)
        return
    latest = _whole_checkpoint(run_dir / "ckpt")
    loop.checkpoint.restore(latest).assert_existing_objects_matched()
    loop.step = loop.last_saved = step = int(counters["step"])
    # The epochs whose end is done; from the step for checkpoints older than
    # epochs_done. A checkpoint saved at an epoch's last step, before its end
    # (validation, summaries), redoes that end.
    done = int(counters["epochs_done"])
    loop.epoch = epoch = done if done >= 0 else step // loop.steps_per_epoch
    redo_end = step > 0 and step == (epoch + 1) * loop.steps_per_epoch
    loop.history, loop.best = _saved_history(run_dir / "metrics.json", epoch, loop.task.monitor)
    if loop.chief:
        # The steps after the checkpoint are logged again; so is a redone epoch end.
        def keep(path, event):
            if event.step != step:
                return event.step < step
            in_loop = all(v.tag in STEP_TAGS for v in event.summary.value)
            return not redo_end or (path.parent.name == "train" and in_loop)

        recovery.trim_events(run_dir / "tb", keep)


def _whole_checkpoint(folder: Path) -> str:
    """The newest checkpoint in ``folder`` that reads whole; a damaged newer one is named."""
    found = recovery.checkpoints(folder)
    if not found:
        raise FileNotFoundError(f"No checkpoint to resume from in {folder}.")
    problems = []
    for prefix in found:
        why = recovery.damage(prefix)
        if why is None:
            for problem in problems:
                print(f"Warning: {problem}; resuming from {prefix}", file=sys.stderr)
            return prefix
        problems.append(why)
    raise InputError(f"no checkpoint in {folder} can be read: {problems[0]}")


def _check_finite(loop: Loop, loss: float, norm: float) -> None:
    if math.isfinite(loss) and math.isfinite(norm):
        return
    what = "loss" if not math.isfinite(loss) else "gradient norm"
    kept = loop.manager.latest_checkpoint or "none saved yet"
    raise TrainingDiverged(
        f"training diverged: the {what} is {loss if what == 'loss' else norm} at step "
        f"{loop.step + 1} (epoch {loop.epoch + 1}); last good checkpoint: {kept}. Lower the "
        "learning rate or the clip norm."
    )


def _saved_history(path: Path, epoch: int, monitor: str) -> tuple[list[dict], dict | None]:
    """The history and best record of ``metrics.json`` up to ``epoch``.

    A file cut short or edited by hand does not stop a resume: the
    checkpoint holds the training state, so training continues without the
    earlier epochs' records (a warning names the file).
    """
    if not path.exists():
        return [], None
    try:
        saved = json.loads(path.read_text())
        history = [h for h in saved.get("history", []) if int(h["epoch"]) <= epoch]
        best = saved.get("best")
        if best is not None and int(best["epoch"]) > epoch:
            key = f"val_{monitor}"
            best = min(history, key=lambda h: h.get(key, h["loss"]), default=None)
        return history, best
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        print(
            f"Warning: {path} is damaged ({type(e).__name__}: {e}); the epochs before the "
            "checkpoint are left out of it",
            file=sys.stderr,
        )
        return [], None


def run_epoch(loop: Loop, train_step, stop_request: recovery.StopRequest) -> float:
    """The steps of one epoch (the rest of it, after a resume); returns its start time."""
    config, per_epoch = loop.config, loop.steps_per_epoch
    skip = loop.step - loop.epoch * per_epoch
    data = loop.task.train_data(loop.epoch).take(per_epoch).skip(skip)
    dist = loop.strategy.experimental_distribute_dataset(steps.loop_data(data))
    bar = progress(per_epoch, loop.shown)
    if loop.shown:
        print(f"Epoch {loop.epoch + 1}/{config.epochs}")
    bar.update(skip)
    start = window_start = time.perf_counter()
    window_losses: list[float] = []
    if skip == 0:
        loop.counters["epoch_loss"].assign(0.0)
    for batch in dist:
        loop.profile()
        loss, norm, stops = (float(v) for v in train_step(batch, stop_request.flag()))
        _check_finite(loop, loss, norm)
        loop.step += 1
        loop.counters["step"].assign(loop.step)
        window_losses.append(loss)
        loop.counters["epoch_loss"].assign_add(loss)
        if loop.step % config.log_every == 0:
            now = time.perf_counter()
            per_sec = len(window_losses) / max(now - window_start, 1e-9)
            with loop.writers["train"].as_default(step=loop.step):
                tf.summary.scalar("loss", sum(window_losses) / len(window_losses))
                tf.summary.scalar("learning_rate", loop.learning_rate())
                tf.summary.scalar("steps_per_sec", per_sec)
                tf.summary.scalar("grad_norm", norm)
            window_start, window_losses = now, []
        done = loop.step - loop.epoch * per_epoch
        rate = (done - skip) / max(time.perf_counter() - start, 1e-9)
        bar.update(done, [("loss", loss), ("steps/s", rate)])
        if loop.step % config.checkpoint_every == 0:
            loop.save()
        if stops > 0:
            loop.save_unless_saved()
            raise recovery.Preempted(loop.step)
        loop.profile()
        if loop.on_step is not None:
            loop.on_step(loop.step, loss)
    return start


def end_epoch(loop: Loop, validate, start: float) -> None:
    """Validation, summaries and samples, the best checkpoint, metrics.json, early stop."""
    counters = loop.counters
    loop.epoch += 1
    with averaged_weights(loop):
        record = _validate_and_keep_best(loop, validate, start)
    counters["epochs_done"].assign(loop.epoch)
    # metrics.json before the checkpoint: a restart from an older checkpoint
    # drops the epochs it has not reached.
    loop.write_metrics()
    loop.save()
    if loop.shown:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("val_"))
        print(f"  train loss {record['loss']:.4f}" + (f", {shown}" if shown else ""))
    if loop.config.patience and int(counters["bad_epochs"]) >= loop.config.patience:
        loop.status = "early_stopped"


def _validate_and_keep_best(loop: Loop, validate, start: float) -> dict:
    """The epoch's record: validation, summaries and samples; the best checkpoint if it is."""
    task, counters = loop.task, loop.counters
    val = validate()
    trained = loop.step - (loop.epoch - 1) * loop.steps_per_epoch
    record = {
        "epoch": loop.epoch,
        "step": loop.step,
        "loss": float(counters["epoch_loss"]) / trained,
        "learning_rate": loop.learning_rate(),
        "seconds": time.perf_counter() - start,
        **{f"val_{k}": v for k, v in val.items()},
    }
    loop.history.append(record)
    with loop.writers["validation"].as_default(step=loop.step):
        for name, value in val.items():
            tf.summary.scalar(name, value)
    with loop.writers["train"].as_default(step=loop.step):
        for name, value in task.derived_metrics(record["loss"]).items():
            tf.summary.scalar(name, value)
        if loop.chief and task.samples is not None:
            for tag, value in task.samples(loop.model, loop.epoch).items():
                if isinstance(value, str):
                    tf.summary.text(tag, value)
                else:
                    tf.summary.image(tag, np.asarray(value)[None], max_outputs=1)
    monitored = val.get(task.monitor, record["loss"])
    if monitored < float(counters["best"]):
        counters["best"].assign(monitored)
        counters["bad_epochs"].assign(0)
        loop.best = record
        loop.best_manager.save(checkpoint_number=loop.step)
    else:
        counters["bad_epochs"].assign_add(1)
    return record
