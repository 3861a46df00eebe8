"""The distributed pieces of the training loop: one training step, one validation pass.

A training step is ``strategy.run`` of a ``tf.function`` with a
``GradientTape``: per-example losses averaged over the global batch,
gradients summed across replicas and clipped by their global norm, then the
Keras optimizer. The same code runs under every strategy.
"""

from collections.abc import Callable

import keras
import tensorflow as tf


def loop_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` as the loop iterates it: sharded by data across workers, not autotuned.

    Each epoch and each validation builds a new iterator. With tf.data's
    autotuning on, destroying one often blocked for 13-14 s on its autotuning
    thread (TF 2.21, 2 cores): textgen's quick epochs took 29-30 s, and one
    epoch in each run 43 s. Without it no epoch stalled (2 runs of 3 epochs:
    26.5-30.4 s each); AUTOTUNE parallelism then means all cores, and an
    AUTOTUNE prefetch a fixed buffer.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.autotune.enabled = False
    return dataset.with_options(options)


def count_batches(dataset: tf.data.Dataset) -> int:
    n = int(dataset.cardinality())
    if n == tf.data.INFINITE_CARDINALITY:
        raise ValueError("The training data is infinite: set `steps_per_epoch`.")
    if n < 0:
        n = sum(1 for _ in dataset)
    if n == 0:
        raise ValueError("The training data yields no batch.")
    return n


def make_train_step(
    task, model: keras.Model, optimizer, strategy: tf.distribute.Strategy, clip_norm
) -> Callable:
    """``train_step(batch, stop_flag) -> (loss, grad_norm, stops)``, each a scalar.

    ``stops`` > 0 when any worker's ``stop_flag`` was set (SIGTERM): the flag
    rides on the step's all-reduce, so every worker stops after the same step.
    """
    replicas = strategy.num_replicas_in_sync

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
        # A variable this batch does not reach (a stage's unused layer: classify's
        # language-model heads) gets zeros, so every replica all-reduces alike.
        grads = [
            tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
            for g, v in zip(tape.gradient(loss, variables), variables)
        ]
        if replicas > 1:
            grads = ctx.all_reduce("sum", grads)
        norm = tf.linalg.global_norm(grads)
        if clip_norm:
            grads, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=norm)
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

    return train_step


def make_validate(
    task, model: keras.Model, strategy: tf.distribute.Strategy, validation_steps
) -> Callable[[], dict[str, float]]:
    """``validate() -> {"loss", derived metrics, validation metrics}``; ``{}`` without data."""

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
        if validation_steps:
            data = data.take(validation_steps)
        total = count = 0.0
        for batch in strategy.experimental_distribute_dataset(loop_data(data)):
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

    return validate


def check_checkpointed(model: keras.Model) -> None:
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
