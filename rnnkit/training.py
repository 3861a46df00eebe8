"""One training loop for every app, under any ``tf.distribute`` strategy.

Keras 3's ``model.fit`` fails under ``MultiWorkerMirroredStrategy``, so rnnkit
owns a custom loop (``rnnkit.steps``), and every strategy runs the same code.
An app describes its job as a ``Task`` (model builder, per-example loss,
data, derived metrics, samples for TensorBoard); ``fit`` does the rest:

- checkpoints every ``checkpoint_every`` steps (``tf.train.CheckpointManager``
  under ``RUN/ckpt``) and a ``best`` checkpoint whenever the monitored
  validation metric improves; ``resume=True`` continues from the last saved
  step, inside its epoch (``Task.train_data(epoch)`` must give the same
  batches for the same epoch);
- Ctrl-C saves a checkpoint, then raises ``KeyboardInterrupt``;
- SIGTERM (a preempted pod) makes every worker save a checkpoint after the
  same step, then raises ``recovery.Preempted``; a collective that fails
  because a peer worker died raises ``recovery.WorkerLost``; a restarted
  job (``resume=True``) drops the TensorBoard events past its checkpoint;
- a NaN/inf loss or gradient stops training with ``TrainingDiverged`` and
  saves nothing more, so the last checkpoint is the last good state;
- early stop after ``patience`` epochs without improvement;
- a progress bar, TensorBoard (``RUN/tb/train`` and ``RUN/tb/validation``:
  losses, metrics, learning rate, steps/s, gradient norm, the task's text
  samples) and ``RUN/metrics.json``, written by one function whatever the
  outcome (``running``, ``completed``, ``early_stopped``, ``interrupted``,
  ``preempted``, ``worker_lost``, ``diverged``, ``failed``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from rnnkit import loop, recovery, steps
from rnnkit.configs import TrainConfig
from rnnkit.errors import first_line
from rnnkit.hparams import write_hparams
from rnnkit.loop import TrainingDiverged
from rnnkit.strategies import is_multi_worker, make_strategy


@dataclasses.dataclass
class Task:
    """What an app gives the training loop.

    Attributes:
        build_model: returns a built ``keras.Model``; called inside the
            strategy's scope.
        loss: ``loss(model, batch, training) -> [batch]`` per-example losses.
        train_data: ``train_data(epoch) -> tf.data.Dataset`` of global
            batches; the same batches for the same epoch (seeded shuffle), so
            a resumed run sees what the interrupted one would have.
        val_data: ``val_data() -> tf.data.Dataset`` or None.
        derived_metrics: ``derived_metrics(mean_loss) -> {name: value}``,
            e.g. bits per character, reported next to the loss.
        samples: ``samples(model, epoch) -> {tag: value}`` written to
            TensorBoard after each epoch (chief only): a string as text, an
            ``[height, width, channels]`` uint8 array as an image.
        validation_metrics: ``validation_metrics(model) -> {name: value}``
            computed after each epoch's validation (on every worker) and
            reported with it (``val_<name>``, TensorBoard's validation run);
            e.g. a backtest. ``monitor`` may name one.
        monitor: the validation metric that early stop and the best
            checkpoint follow (lower is better): ``"loss"`` or a name from
            ``derived_metrics``.
        optimizer: ``optimizer(train_config, total_steps) -> keras optimizer``
            when the task needs its own (classify's discriminative learning
            rates); None: ``rnnkit.optimizers.make_optimizer``.
    """

    build_model: Callable[[], keras.Model]
    loss: Callable[[keras.Model, Any, bool], tf.Tensor]
    train_data: Callable[[int], tf.data.Dataset]
    val_data: Callable[[], tf.data.Dataset] | None = None
    derived_metrics: Callable[[float], dict[str, float]] = lambda loss: {}
    samples: Callable[[keras.Model, int], dict[str, Any]] | None = None
    validation_metrics: Callable[[keras.Model], dict[str, float]] | None = None
    monitor: str = "loss"
    optimizer: Callable[[TrainConfig, int], keras.optimizers.Optimizer] | None = None


@dataclasses.dataclass
class FitResult:
    model: keras.Model
    step: int
    status: str
    history: list[dict]
    best: dict | None


def fit(
    task: Task,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    strategy: tf.distribute.Strategy | str = "auto",
    resume: bool = False,
    verbose: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    profile_steps: tuple[int, int] | None = None,
) -> FitResult:
    """Trains ``task`` under ``strategy``, writing everything under ``run_dir``.

    Returns the trained model (its weights are those of the last step, or
    their moving average with ``config.ema``; the best ones are in
    ``RUN/ckpt/best``), the final step, the status
    (``completed``, ``early_stopped``) and the per-epoch history.
    Raises ``TrainingDiverged`` on a NaN/inf loss and re-raises
    ``KeyboardInterrupt`` after saving a checkpoint. ``on_step(step, loss)``
    is called after every step.
    """
    if isinstance(strategy, str):
        strategy = make_strategy(strategy)
    state = loop.start(task, config, Path(run_dir), strategy, verbose, on_step)
    state.profile_steps = profile_steps if state.chief else None
    loop.restore(state, resume)
    model, optimizer = state.model, state.optimizer
    train_step = steps.make_train_step(task, model, optimizer, strategy, config.clip_norm)
    validate = steps.make_validate(task, model, strategy, config.validation_steps)
    state.open_writers()
    if state.chief and state.step == 0:  # a new run (a resumed one wrote them)
        write_hparams(Path(run_dir))
    try:
        with recovery.StopRequest() as stop_request:
            while state.epoch < config.epochs and state.status == "running":
                start = loop.run_epoch(state, train_step, stop_request)
                loop.end_epoch(state, validate, start)
            state.save_unless_saved()
        if state.status == "running":
            state.status = "completed"
        loop.use_average(state)
    except KeyboardInterrupt:
        state.save_unless_saved()
        state.status = "interrupted"
        raise
    except recovery.Preempted:
        state.status = "preempted"
        raise
    except TrainingDiverged:
        state.status = "diverged"
        raise
    except tf.errors.OpError as e:
        if not (is_multi_worker(strategy) and recovery.is_lost_worker(e)):
            state.status = "failed"
            raise
        state.status = "worker_lost"
        saved = state.last_saved if state.last_saved >= 0 else None
        raise recovery.WorkerLost(state.step + 1, saved, first_line(e)) from None
    except BaseException:
        state.status = "failed"
        raise
    finally:
        state.profile(stop=True)
        for writer in state.writers.values():
            writer.flush()
        if not state.chief:
            shutil.rmtree(state.ckpt_dir, ignore_errors=True)
        state.write_metrics()
    return FitResult(state.model, state.step, state.status, state.history, state.best)
