"""One training loop for every app, under any ``tf.distribute`` strategy.

Keras 3's ``model.fit`` fails under ``MultiWorkerMirroredStrategy``, so rnnkit
owns a custom loop, and every strategy runs the same code: ``strategy.run`` of
a ``tf.function`` step with a ``GradientTape``, per-example losses averaged
over the global batch, gradients summed across replicas and clipped by their
global norm, then a Keras optimizer.

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
  samples) and ``RUN/metrics.json``.
"""

import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from rnnkit import fields, recovery
from rnnkit.files import write_json

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train: the same for every app.

    ``batch_size`` is the global batch (split across replicas). With
    ``steps_per_epoch=None`` an epoch is one pass over ``Task.train_data``.
    ``weight_decay`` > 0 trains with AdamW (decoupled weight decay, not on
    biases), else Adam.
    """

    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 2e-3
    schedule: str = "cosine"
    warmup_steps: int = 0
    clip_norm: float | None = 1.0
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    checkpoint_every: int = 200
    keep_checkpoints: int = 3
    patience: int | None = None
    log_every: int = 10
    weight_decay: float = 0.0

    def __post_init__(self):
        fields.positive_ints(
            self, "epochs", "batch_size", "checkpoint_every", "keep_checkpoints", "log_every"
        )
        if not self.learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be positive. Received: learning_rate={self.learning_rate}"
            )
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(
                f"`schedule` must be 'constant' or 'cosine'. Received: schedule={self.schedule!r}"
            )
        if not self.weight_decay >= 0:
            raise ValueError(
                f"`weight_decay` must be >= 0. Received: weight_decay={self.weight_decay}"
            )
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(
                f"`clip_norm` must be positive or None. Received: clip_norm={self.clip_norm}"
            )


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
    """

    build_model: Callable[[], keras.Model]
    loss: Callable[[keras.Model, Any, bool], tf.Tensor]
    train_data: Callable[[int], tf.data.Dataset]
    val_data: Callable[[], tf.data.Dataset] | None = None
    derived_metrics: Callable[[float], dict[str, float]] = lambda loss: {}
    samples: Callable[[keras.Model, int], dict[str, Any]] | None = None
    validation_metrics: Callable[[keras.Model], dict[str, float]] | None = None
    monitor: str = "loss"


@dataclasses.dataclass
class FitResult:
    model: keras.Model
    step: int
    status: str
    history: list[dict]
    best: dict | None


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite."""


@dataclasses.dataclass(frozen=True)
class ClusterTask:
    """This process's task in the cluster that ``TF_CONFIG`` describes."""

    task_type: str
    index: int
    tasks: int  # chief and workers: the processes that train
    chief: bool


def read_tf_config(text: str | None = None) -> ClusterTask | None:
    """The task of ``TF_CONFIG`` (or ``text``), checked; None when it names no cluster.

    rnnkit trains with MultiWorkerMirroredStrategy: a ``cluster`` of
    ``worker`` tasks and at most one ``chief`` (as a Kubeflow TFJob or
    ``rnnkit launch`` writes it). Raises ``ValueError`` naming what is wrong.
    """
    text = os.environ.get("TF_CONFIG", "") if text is None else text
    if not text.strip():
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not JSON: {e}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not cluster:
        return None
    other = sorted(set(cluster) - {"chief", "worker"})
    if other:
        raise ValueError(
            f"TF_CONFIG names {', '.join(other)} tasks: rnnkit trains with chief and worker "
            "tasks only (MultiWorkerMirroredStrategy)"
        )
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            raise ValueError(f"TF_CONFIG's {job} tasks must be a list of 'host:port' addresses")
    if len(cluster.get("chief", [])) > 1:
        raise ValueError("TF_CONFIG names several chief tasks; a cluster has one")
    task = config.get("task") or {}
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in cluster:
        raise ValueError(f"TF_CONFIG's task type {task_type!r} is not in its cluster")
    if not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise ValueError(
            f"TF_CONFIG's task index {index!r} is not one of its {len(cluster[task_type])} "
            f"{task_type} tasks"
        )
    tasks = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    chief = task_type == "chief" or (index == 0 and "chief" not in cluster)
    return ClusterTask(task_type, index, tasks, chief)


def multi_worker_tf_config() -> bool:
    """Whether ``TF_CONFIG`` names several training tasks (chief and workers)."""
    task = read_tf_config()
    return task is not None and task.tasks > 1


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for ``--strategy NAME``.

    ``auto``: multiworker when ``TF_CONFIG`` names several workers, mirrored
    when several GPUs are visible, else the default strategy. ``mirrored``
    mirrors over all GPUs, or over all logical CPU devices when there is no
    GPU.
    """
    if name not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")
    if name == "auto":
        if multi_worker_tf_config():
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.MultiWorkerMirroredStrategy()


# What the loop logs every ``log_every`` steps (the rest is logged at an epoch's end).
_STEP_TAGS = ("loss", "learning_rate", "steps_per_sec", "grad_norm")


def _is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    return bool(resolver is not None and resolver.cluster_spec().jobs)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def _schedule(config: TrainConfig, total_steps: int):
    if config.schedule == "constant":
        if config.warmup_steps:
            return keras.optimizers.schedules.CosineDecay(
                0.0,
                decay_steps=1,
                alpha=1.0,
                warmup_target=config.learning_rate,
                warmup_steps=config.warmup_steps,
            )
        return config.learning_rate
    warmup = min(config.warmup_steps, max(total_steps - 1, 0))
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(total_steps - warmup, 1),
            alpha=0.05,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(total_steps, 1), alpha=0.05
    )


def _count_batches(dataset: tf.data.Dataset) -> int:
    n = int(dataset.cardinality())
    if n == tf.data.INFINITE_CARDINALITY:
        raise ValueError("The training data is infinite: set `steps_per_epoch`.")
    if n < 0:
        n = sum(1 for _ in dataset)
    if n == 0:
        raise ValueError("The training data yields no batch.")
    return n


def _shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _check_checkpointed(model: keras.Model) -> None:
    """Every trainable weight must be reachable from the model in the checkpoint.

    Otherwise ``tf.train.Checkpoint(model=model).restore(...)`` (evaluate,
    export) silently leaves it at its initial value; the optimizer reaching
    it does not help there.
    """
    reachable = {id(o) for o in tf.train.TrackableView(model).descendants()}
    missing = [
        v.path
        for v in model.trainable_variables
        if id(v) not in reachable and id(getattr(v, "value", v)) not in reachable
    ]
    if missing:
        raise ValueError(
            f"the checkpoint cannot see the weights {missing}: keep layers in attributes "
            "of their own, not in a list attribute of a Keras model"
        )


def fit(
    task: Task,
    config: TrainConfig,
    run_dir: str | os.PathLike,
    strategy: tf.distribute.Strategy | str = "auto",
    resume: bool = False,
    verbose: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Trains ``task`` under ``strategy``, writing everything under ``run_dir``.

    Returns the trained model (its weights are those of the last step; the
    best ones are in ``RUN/ckpt/best``), the final step, the status
    (``completed``, ``early_stopped``) and the per-epoch history.
    Raises ``TrainingDiverged`` on a NaN/inf loss and re-raises
    ``KeyboardInterrupt`` after saving a checkpoint. ``on_step(step, loss)``
    is called after every step.
    """
    if isinstance(strategy, str):
        strategy = make_strategy(strategy)
    run_dir = Path(run_dir)
    chief = is_chief(strategy)
    run_dir.mkdir(parents=True, exist_ok=True)
    steps_per_epoch = config.steps_per_epoch or _count_batches(task.train_data(0))
    total_steps = steps_per_epoch * config.epochs
    replicas = strategy.num_replicas_in_sync

    with strategy.scope():
        model = task.build_model()
        if config.weight_decay:
            optimizer = keras.optimizers.AdamW(
                _schedule(config, total_steps), weight_decay=config.weight_decay
            )
            optimizer.exclude_from_weight_decay(var_names=["bias"])
        else:
            optimizer = keras.optimizers.Adam(_schedule(config, total_steps))
        optimizer.build(model.trainable_variables)
    # Bookkeeping for the host, outside the scope: plain variables, not mirrored.
    step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    best_var = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best")
    bad_epochs_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_epochs")
    # The running sum of this epoch's losses, so a resumed epoch reports its full mean.
    epoch_loss_var = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="epoch_loss")
    # Epochs whose end (validation, best checkpoint) is done; -1 until restored
    # (checkpoints from before it existed: the step says which epoch).
    epochs_done_var = tf.Variable(-1, dtype=tf.int64, trainable=False, name="epochs_done")
    checkpoint = tf.train.Checkpoint(
        model=model,
        optimizer=optimizer,
        step=step_var,
        best=best_var,
        bad_epochs=bad_epochs_var,
        epoch_loss=epoch_loss_var,
        epochs_done=epochs_done_var,
    )
    _check_checkpointed(model)
    # Every worker takes part in saving; only the chief's copy is kept. Every
    # worker resumes from the chief's (the run directory is shared).
    ckpt_dir = run_dir / "ckpt" if chief else Path(tempfile.mkdtemp(prefix="rnnkit-ckpt-"))
    manager = tf.train.CheckpointManager(
        checkpoint, str(ckpt_dir), max_to_keep=config.keep_checkpoints, step_counter=step_var
    )
    best_manager = tf.train.CheckpointManager(checkpoint, str(ckpt_dir / "best"), max_to_keep=1)

    metrics_path = run_dir / "metrics.json"
    history: list[dict] = []
    best: dict | None = None
    if resume:
        latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
        if latest is None:
            raise FileNotFoundError(f"No checkpoint to resume from in {run_dir / 'ckpt'}.")
        checkpoint.restore(latest).assert_existing_objects_matched()
    else:
        epochs_done_var.assign(0)
    step = int(step_var)
    # The epochs whose end is done; from the step for checkpoints older than
    # epochs_done. A checkpoint saved at an epoch's last step, before its end
    # (validation, summaries), redoes that end.
    epoch = int(epochs_done_var) if int(epochs_done_var) >= 0 else step // steps_per_epoch
    redo_end = step > 0 and step == (epoch + 1) * steps_per_epoch
    if resume and metrics_path.exists():
        saved = json.loads(metrics_path.read_text())
        history = [h for h in saved.get("history", []) if h["epoch"] <= epoch]
        best = saved.get("best")
        if best is not None and best["epoch"] > epoch:
            key = f"val_{task.monitor}"
            best = min(history, key=lambda h: h.get(key, h["loss"]), default=None)
    if chief:
        # The steps after the checkpoint are logged again; so is a redone epoch end.
        def keep(path, event):
            if event.step != step:
                return event.step < step
            in_loop = all(v.tag in _STEP_TAGS for v in event.summary.value)
            return not redo_end or (path.parent.name == "train" and in_loop)

        recovery.trim_events(run_dir / "tb", keep)
    multi_worker = _is_multi_worker(strategy)

    def step_fn(batch, stop_flag):
        ctx = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            per_example = tf.cast(task.loss(model, batch, True), tf.float32)
            # One all-reduce gives the global batch and whether any worker got SIGTERM.
            size = tf.cast(tf.shape(per_example)[0], tf.float32)
            global_batch, stops = tf.unstack(ctx.all_reduce("sum", tf.stack([size, stop_flag])))
            loss = tf.reduce_sum(per_example) / global_batch
            if model.losses:
                loss += tf.add_n(model.losses) / replicas
        variables = model.trainable_variables
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        if replicas > 1:
            grads = ctx.all_reduce("sum", grads)
        norm = tf.linalg.global_norm(grads)
        if config.clip_norm:
            grads, _ = tf.clip_by_global_norm(grads, config.clip_norm, use_norm=norm)
        if replicas > 1:
            # The optimizer sums the replicas' gradients again.
            grads = [g / replicas for g in grads]
        optimizer.apply(grads, variables)
        return loss, norm, stops

    # Batches of varying shape (padded speech) share one trace instead of one each.
    @tf.function(reduce_retracing=True)
    def train_step(batch, stop_flag):
        loss, norm, stops = strategy.run(step_fn, args=(batch, stop_flag))
        return (
            strategy.reduce("sum", loss, axis=None),
            strategy.reduce("mean", norm, axis=None),
            strategy.reduce("mean", stops, axis=None),  # all-reduced already
        )

    def val_fn(batch):
        per_example = tf.cast(task.loss(model, batch, False), tf.float32)
        return tf.reduce_sum(per_example), tf.cast(tf.shape(per_example)[0], tf.float32)

    @tf.function(reduce_retracing=True)
    def val_step(batch):
        total, count = strategy.run(val_fn, args=(batch,))
        return strategy.reduce("sum", total, axis=None), strategy.reduce("sum", count, axis=None)

    def validate() -> dict[str, float]:
        if task.val_data is None:
            return {}
        data = task.val_data()
        if config.validation_steps:
            data = data.take(config.validation_steps)
        total = count = 0.0
        for batch in strategy.experimental_distribute_dataset(_shard_by_data(data)):
            t, c = val_step(batch)
            total += float(t)
            count += float(c)
        if count == 0:
            raise ValueError("The validation data yields no example.")
        extra = task.validation_metrics(model) if task.validation_metrics else {}
        return {
            "loss": total / count,
            **task.derived_metrics(total / count),
            **{k: float(v) for k, v in extra.items()},
        }

    if chief:
        writers = {
            "train": tf.summary.create_file_writer(str(run_dir / "tb" / "train")),
            "validation": tf.summary.create_file_writer(str(run_dir / "tb" / "validation")),
        }
    else:
        writers = {"train": tf.summary.create_noop_writer()}
        writers["validation"] = writers["train"]

    def save():
        manager.save(checkpoint_number=int(step_var))

    def learning_rate():
        # The schedule's value at the optimizer's iteration count, i.e. this step.
        return float(optimizer.learning_rate)

    status = "completed"
    last_saved = step if resume else -1
    stop_request = recovery.StopRequest()
    try:
        stop_request.__enter__()
        while epoch < config.epochs:
            skip = step - epoch * steps_per_epoch
            data = task.train_data(epoch).take(steps_per_epoch).skip(skip)
            dist = strategy.experimental_distribute_dataset(_shard_by_data(data))
            bar = keras.utils.Progbar(
                steps_per_epoch,
                stateful_metrics=["loss", "steps/s"],
                verbose=int(verbose and chief),
            )
            if verbose and chief:
                print(f"Epoch {epoch + 1}/{config.epochs}")
            bar.update(skip)
            epoch_start, window_start, window_losses = time.perf_counter(), time.perf_counter(), []
            if skip == 0:
                epoch_loss_var.assign(0.0)
            for batch in dist:
                loss, norm, stops = (float(v) for v in train_step(batch, stop_request.flag()))
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    what = "loss" if not math.isfinite(loss) else "gradient norm"
                    kept = manager.latest_checkpoint or "none saved yet"
                    raise TrainingDiverged(
                        f"training diverged: the {what} is {loss if what == 'loss' else norm} "
                        f"at step {step + 1} (epoch {epoch + 1}); last good checkpoint: {kept}. "
                        "Lower the learning rate or the clip norm."
                    )
                step += 1
                step_var.assign(step)
                window_losses.append(loss)
                epoch_loss_var.assign_add(loss)
                if step % config.log_every == 0:
                    now = time.perf_counter()
                    rate = len(window_losses) / max(now - window_start, 1e-9)
                    with writers["train"].as_default(step=step):
                        tf.summary.scalar("loss", sum(window_losses) / len(window_losses))
                        tf.summary.scalar("learning_rate", learning_rate())
                        tf.summary.scalar("steps_per_sec", rate)
                        tf.summary.scalar("grad_norm", norm)
                    window_start, window_losses = now, []
                done = step - epoch * steps_per_epoch
                rate = (done - skip) / max(time.perf_counter() - epoch_start, 1e-9)
                bar.update(done, [("loss", loss), ("steps/s", rate)])
                if step % config.checkpoint_every == 0:
                    save()
                    last_saved = step
                if stops > 0:
                    if step != last_saved:
                        save()
                    raise recovery.Preempted(step)
                if on_step is not None:
                    on_step(step, loss)
            epoch += 1
            val = validate()
            record = {
                "epoch": epoch,
                "step": step,
                "loss": float(epoch_loss_var) / (step - (epoch - 1) * steps_per_epoch),
                "learning_rate": learning_rate(),
                "seconds": time.perf_counter() - epoch_start,
                **{f"val_{k}": v for k, v in val.items()},
            }
            history.append(record)
            with writers["validation"].as_default(step=step):
                for name, value in val.items():
                    tf.summary.scalar(name, value)
            with writers["train"].as_default(step=step):
                for name, value in task.derived_metrics(record["loss"]).items():
                    tf.summary.scalar(name, value)
                if chief and task.samples is not None:
                    for tag, value in task.samples(model, epoch).items():
                        if isinstance(value, str):
                            tf.summary.text(tag, value)
                        else:
                            tf.summary.image(tag, np.asarray(value)[None], max_outputs=1)
            monitored = val.get(task.monitor, record["loss"])
            if monitored < float(best_var):
                best_var.assign(monitored)
                bad_epochs_var.assign(0)
                best = record
                best_manager.save(checkpoint_number=step)
            else:
                bad_epochs_var.assign_add(1)
            epochs_done_var.assign(epoch)
            # metrics.json before the checkpoint: a restart from an older
            # checkpoint drops the epochs it has not reached.
            if chief:
                write_json(metrics_path, {"status": "running", "history": history, "best": best})
            save()
            last_saved = step
            if verbose and chief:
                shown = ", ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("val_"))
                print(f"  train loss {record['loss']:.4f}" + (f", {shown}" if shown else ""))
            if config.patience and int(bad_epochs_var) >= config.patience:
                status = "early_stopped"
                break
        if step != last_saved:
            save()
    except KeyboardInterrupt:
        if step != last_saved:
            save()
        if chief:
            write_json(
                metrics_path,
                {"status": "interrupted", "step": step, "history": history, "best": best},
            )
        raise
    except recovery.Preempted:
        if chief:
            write_json(
                metrics_path,
                {"status": "preempted", "step": step, "history": history, "best": best},
            )
        raise
    except tf.errors.OpError as e:
        if not (multi_worker and recovery.is_lost_worker(e)):
            raise
        if chief:
            write_json(
                metrics_path,
                {"status": "worker_lost", "step": last_saved, "history": history, "best": best},
            )
        saved = last_saved if last_saved >= 0 else None
        raise recovery.WorkerLost(step + 1, saved, recovery.first_line(e)) from None
    except TrainingDiverged:
        if chief:
            write_json(metrics_path, {"status": "diverged", "history": history, "best": best})
        raise
    finally:
        stop_request.__exit__(None, None, None)
        for writer in writers.values():
            writer.flush()
        if not chief:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
    if chief:
        write_json(metrics_path, {"status": status, "step": step, "history": history, "best": best})
    return FitResult(model=model, step=step, status=status, history=history, best=best)
