"""rnnkit.training: the shared loop, checkpoints, resume, guards and TensorBoard."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnkit import layers as L
from rnnkit import recovery, strategies, training

VOCAB, STEPS, BATCH = 7, 6, 8


def _make_task(nan_at_batch=None, samples=True, derived=None, monitor="loss"):
    """Next-token prediction on a repeating pattern with noise: learnable, tiny."""

    def build_model():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((STEPS,), dtype="int32"),
                keras.layers.Embedding(VOCAB, 8),
                L.GRU(12, return_sequences=True),
                keras.layers.Dense(VOCAB),
            ]
        )
        return model

    def tokens(seed, n):
        rng = np.random.default_rng(seed)
        start = rng.integers(0, VOCAB, size=(n, 1))
        seq = (start + np.arange(STEPS + 1)) % VOCAB
        return seq.astype("int32")

    def batches(seq, shuffle_seed=None):
        ds = tf.data.Dataset.from_tensor_slices((seq[:, :-1], seq[:, 1:]))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(seq), seed=shuffle_seed)
        return ds.batch(BATCH, drop_remainder=True)

    def train_data(epoch):
        ds = batches(tokens(1, 4 * BATCH), shuffle_seed=epoch)
        if nan_at_batch is None:
            return ds
        # A NaN weight on one batch poisons its loss.
        weights = tf.data.Dataset.from_tensor_slices(
            [np.nan if i == nan_at_batch else 1.0 for i in range(4)]
        )
        return tf.data.Dataset.zip(ds, weights).map(lambda xy, w: (xy[0], xy[1], w))

    def loss(model, batch, training):
        x, y, *w = batch
        logits = model(x, training=training)
        per_token = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        per_example = tf.reduce_mean(per_token, axis=-1)
        return per_example * tf.cast(w[0], per_example.dtype) if w else per_example

    return training.Task(
        build_model=build_model,
        loss=loss,
        train_data=train_data,
        val_data=lambda: batches(tokens(2, 2 * BATCH)),
        derived_metrics=derived or (lambda loss: {"bits": loss / np.log(2)}),
        samples=(lambda model, epoch: {"sample": f"epoch {epoch} text"}) if samples else None,
        monitor=monitor,
    )


CONFIG = training.TrainConfig(
    epochs=2, batch_size=BATCH, learning_rate=0.02, checkpoint_every=2, log_every=1
)


def _events(run_dir, split):
    acc = EventAccumulator(str(run_dir / "tb" / split), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def test_loss_falls_and_the_run_dir_holds_everything(tmp_path):
    task = _make_task()
    config = training.TrainConfig(
        epochs=4, batch_size=BATCH, learning_rate=0.05, checkpoint_every=3, log_every=2
    )
    before = [w.numpy().copy() for w in task.build_model().weights]
    result = training.fit(task, config, tmp_path, strategy="default", verbose=False)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.7 * losses[0]
    assert result.step == 16 and result.status == "completed"
    assert all(not np.allclose(a, b) for a, b in zip(before, result.model.weights))

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "completed" and len(metrics["history"]) == 4
    assert metrics["history"][-1]["val_bits"] == pytest.approx(
        metrics["history"][-1]["val_loss"] / np.log(2)
    )
    assert tf.train.latest_checkpoint(str(tmp_path / "ckpt")).endswith("ckpt-16")
    assert tf.train.latest_checkpoint(str(tmp_path / "ckpt" / "best")) is not None

    train = _events(tmp_path, "train")
    tags = set(train.Tags()["tensors"])
    assert {"loss", "learning_rate", "steps_per_sec", "grad_norm", "bits", "sample"} <= tags
    assert [e.step for e in train.Tensors("loss")] == list(range(2, 17, 2))
    lrs = [float(tf.make_ndarray(e.tensor_proto)) for e in train.Tensors("learning_rate")]
    assert lrs[0] > lrs[-1] > 0  # cosine decay
    text = tf.make_ndarray(train.Tensors("sample")[-1].tensor_proto)
    assert text.item() == b"epoch 4 text"
    val = _events(tmp_path, "validation")
    val_losses = [float(tf.make_ndarray(e.tensor_proto)) for e in val.Tensors("loss")]
    assert val_losses == pytest.approx([h["val_loss"] for h in metrics["history"]], rel=1e-6)


def _resume(run):
    """``fit`` continued in ``run``; returns its result and the steps it trained."""
    steps = []
    on_step = lambda step, loss: steps.append(step)
    resumed = training.fit(
        _make_task(), CONFIG, run, "default", resume=True, verbose=False, on_step=on_step
    )
    return resumed, steps


def _weights(model):
    return [w.numpy() for w in model.weights]


@pytest.mark.parametrize("how", ["ctrl_c", "crash"])
def test_resume_continues_from_the_saved_step(tmp_path, how):
    whole = training.fit(_make_task(), CONFIG, tmp_path / "whole", "default", verbose=False)

    def stop_at_5(step, loss):
        if step == 5:
            raise KeyboardInterrupt if how == "ctrl_c" else RuntimeError("worker lost")

    run = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt if how == "ctrl_c" else RuntimeError):
        training.fit(_make_task(), CONFIG, run, "default", verbose=False, on_step=stop_at_5)
    # Ctrl-C saves the step it stopped at; a crash leaves the last periodic save.
    saved = 5 if how == "ctrl_c" else 4
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith(f"ckpt-{saved}")

    resumed, steps = _resume(run)
    assert steps == list(range(saved + 1, 9))
    assert resumed.step == whole.step == 8
    for a, b in zip(_weights(resumed.model), _weights(whole.model)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [h["loss"] for h in resumed.history][1:] == pytest.approx(
        [h["loss"] for h in whole.history][1:], rel=1e-5
    )


def test_resume_without_a_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        training.fit(_make_task(), CONFIG, tmp_path, "default", resume=True, verbose=False)


def test_sigterm_saves_after_the_next_step_and_the_restart_matches(tmp_path):
    whole = training.fit(_make_task(), CONFIG, tmp_path / "whole", "default", verbose=False)

    def preempt_at_5(step, loss):
        if step == 5:
            os.kill(os.getpid(), signal.SIGTERM)

    run = tmp_path / "cut"
    with pytest.raises(recovery.Preempted) as stopped:
        training.fit(_make_task(), CONFIG, run, "default", verbose=False, on_step=preempt_at_5)
    # The signal came after step 5; every worker saves after step 6 (no step lost).
    assert stopped.value.step == 6
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith("ckpt-6")
    assert json.loads((run / "metrics.json").read_text())["status"] == "preempted"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone again

    resumed = training.fit(_make_task(), CONFIG, run, "default", resume=True, verbose=False)
    for a, b in zip(_weights(resumed.model), _weights(whole.model)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_crash_after_an_epochs_last_step_redoes_its_end_once(tmp_path):
    """The periodic checkpoint at step 4 is the epoch's last step, saved before its
    validation and summaries: the restart does that end, and logs it once."""
    whole = training.fit(_make_task(), CONFIG, tmp_path / "whole", "default", verbose=False)
    task = _make_task()
    samples = task.samples

    def crash_once(model, epoch):
        task.samples = samples
        raise RuntimeError("worker lost")

    task.samples = crash_once
    run = tmp_path / "cut"
    with pytest.raises(RuntimeError):
        training.fit(task, CONFIG, run, "default", verbose=False)
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith("ckpt-4")
    resumed, steps = _resume(run)
    assert steps == [5, 6, 7, 8]
    assert [h["val_loss"] for h in resumed.history] == pytest.approx(
        [h["val_loss"] for h in whole.history], rel=1e-5
    )
    val = _events(run, "validation")
    assert [e.step for e in val.Tensors("loss")] == [4, 8]
    # Every raw event once: EventAccumulator would hide a repeated step.
    for split, tag in (("validation", "loss"), ("train", "bits"), ("train", "loss")):
        logged = [
            e.step
            for path in sorted((run / "tb" / split).glob("*tfevents*"))
            for e in tf.compat.v1.train.summary_iterator(str(path))
            if any(v.tag == tag for v in e.summary.value)
        ]
        assert sorted(logged) == sorted(set(logged)), (split, tag, logged)


def test_trim_events_drops_later_steps_and_a_torn_record(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for step in range(1, 11):
            tf.summary.scalar("loss", float(step), step=step)
    writer.close()
    (path,) = tmp_path.glob("*tfevents*")
    with open(path, "ab") as f:  # a record cut short by a killed writer
        f.write((100).to_bytes(8, "little") + b"\x00" * 4 + b"partial")
    with pytest.raises(tf.errors.DataLossError):
        list(tf.data.TFRecordDataset(str(path)))
    dropped = recovery.trim_events(tmp_path, lambda path, event: event.step <= 6)
    assert dropped == 5  # steps 7-10 and the torn record
    assert len(list(tf.data.TFRecordDataset(str(path)))) == 7  # file_version, steps 1-6
    acc = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    acc.Reload()
    assert [e.step for e in acc.Tensors("loss")] == [1, 2, 3, 4, 5, 6]
    assert recovery.trim_events(tmp_path, lambda path, event: event.step <= 6) == 0


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    with pytest.raises(training.TrainingDiverged, match=r"loss is nan at step 4 \(epoch 1\)"):
        training.fit(_make_task(nan_at_batch=3), CONFIG, tmp_path, "default", verbose=False)
    assert tf.train.latest_checkpoint(str(tmp_path / "ckpt")).endswith("ckpt-2")
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "diverged"


def test_early_stop_follows_the_monitored_metric(tmp_path):
    calls = iter(range(100))
    task = _make_task(derived=lambda loss: {"worse": float(next(calls))}, monitor="worse")
    config = training.TrainConfig(epochs=10, batch_size=BATCH, patience=2)
    result = training.fit(task, config, tmp_path, "default", verbose=False)
    # Epoch 1 sets the best; epochs 2 and 3 do not improve it.
    assert result.status == "early_stopped" and len(result.history) == 3
    assert result.best["epoch"] == 1


def test_clip_norm_shrinks_the_update(tmp_path):
    def first_update(clip_norm, run):
        config = training.TrainConfig(
            epochs=1,
            batch_size=BATCH,
            steps_per_epoch=1,
            learning_rate=0.1,
            clip_norm=clip_norm,
            schedule="constant",
        )
        task = _make_task()
        before = _weights(task.build_model())
        after = _weights(training.fit(task, config, tmp_path / run, "default", verbose=False).model)
        return max(np.abs(a - b).max() for a, b in zip(before, after))

    # Adam moves each weight by about lr whatever the gradient's scale, until
    # the gradient falls below its epsilon (1e-7): clipped to a 1e-9 global
    # norm, the step shrinks by orders of magnitude.
    assert first_update(None, "free") == pytest.approx(0.1, rel=0.05)
    assert first_update(1e-9, "clipped") < 1e-3


def test_weight_decay_trains_with_adamw_and_spares_the_biases(tmp_path):
    """With the gradient clipped to nothing, only AdamW's decoupled decay moves the
    weights: every kernel shrinks by (1 - lr * decay) a step; biases do not move."""
    lr, decay, steps = 0.1, 0.5, 3
    config = training.TrainConfig(
        epochs=1,
        batch_size=BATCH,
        steps_per_epoch=steps,
        learning_rate=lr,
        clip_norm=1e-12,
        schedule="constant",
        weight_decay=decay,
    )
    task = _make_task()
    before = [v.numpy() for v in task.build_model().trainable_variables]
    model = training.fit(task, config, tmp_path / "run", "default", verbose=False).model
    for variable, value in zip(model.trainable_variables, before, strict=True):
        expected = value if "bias" in variable.path else value * (1 - lr * decay) ** steps
        np.testing.assert_allclose(variable, expected, rtol=1e-3, atol=1e-6, err_msg=variable.path)
    with pytest.raises(ValueError, match="weight_decay"):
        training.TrainConfig(weight_decay=-1.0)


def test_ema_validates_checkpoints_and_returns_the_averaged_weights(tmp_path):
    momentum = 0.5
    config = CONFIG.replace(ema=momentum, checkpoint_every=100)
    task, built, raw = _make_task(), [], []
    build_model = task.build_model
    task.build_model = lambda: built.append(build_model()) or built[-1]
    on_step = lambda step, loss: raw.append(_weights(built[0]))
    result = training.fit(task, config, tmp_path, "default", verbose=False, on_step=on_step)
    # Keras's average: the weights after the first step, then mixed in step by step.
    averages = [raw[0]]
    for weights in raw[1:]:
        averages.append([momentum * a + (1 - momentum) * w for a, w in zip(averages[-1], weights)])

    def close(a, b):
        return all(np.allclose(x, y, rtol=1e-5, atol=1e-6) for x, y in zip(a, b, strict=True))

    def saved(folder):
        model = build_model()
        path = tf.train.latest_checkpoint(str(tmp_path / folder))
        tf.train.Checkpoint(model=model).restore(path).expect_partial()
        return int(path.rpartition("-")[2]), _weights(model)

    assert close(_weights(result.model), averages[-1]) and not close(averages[-1], raw[-1])
    step, weights = saved("ckpt")  # the training weights, for a resume
    assert step == 8 and close(weights, raw[-1])
    step, weights = saved("ckpt/best")  # the averaged ones, for evaluate and export
    assert step == result.best["step"] and close(weights, averages[step - 1])
    val = [task.loss(result.model, b, False) for b in task.val_data()]
    assert result.history[-1]["val_loss"] == pytest.approx(float(tf.reduce_mean(val)), rel=1e-5)

    # The average is checkpointed: a resumed run ends where an unbroken one does.
    def stop_at_5(step, loss):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        training.fit(_make_task(), config, tmp_path / "cut", "default", False, on_step=stop_at_5)
    resumed = training.fit(_make_task(), config, tmp_path / "cut", "default", True, False)
    assert close(_weights(resumed.model), averages[-1])
    with pytest.raises(ValueError, match="ema"):
        training.TrainConfig(ema=1.0)


def test_bad_config_values_are_refused():
    with pytest.raises(ValueError, match="`epochs` must be a positive integer. Received: epochs=0"):
        training.TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="schedule"):
        training.TrainConfig(schedule="linear")
    with pytest.raises(ValueError, match="strategy"):
        strategies.make_strategy("tpu")


MIRRORED = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    sys.path.insert(0, sys.argv[1])
    from test_training import _make_task
    from rnnkit import recovery, strategies, training
    config = training.TrainConfig(
        epochs=3, batch_size=8, steps_per_epoch=1, learning_rate=0.05, checkpoint_every=100
    )
    out = {}
    for name in ("default", "mirrored", "default-ema", "mirrored-ema"):
        strategy = strategies.make_strategy(name.partition("-")[0])
        ema = 0.5 if name.endswith("ema") else 0.0
        result = training.fit(_make_task(), config.replace(ema=ema), sys.argv[2] + "/" + name,
                              strategy, verbose=False)
        out[name] = {
            "replicas": strategy.num_replicas_in_sync,
            "losses": [h["loss"] for h in result.history],
            "val": [h["val_loss"] for h in result.history],
            "weights": [w.numpy().ravel().tolist() for w in result.model.weights],
        }
    print(json.dumps(out))
    """
)


def test_mirrored_on_two_cpus_matches_the_default_strategy(tmp_path):
    """Same global batch, so the same losses whether one replica or two compute them."""
    here = str(__import__("pathlib").Path(__file__).parent)
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED, here, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["mirrored"]["replicas"] == 2 and out["default"]["replicas"] == 1
    for one, two in (("default", "mirrored"), ("default-ema", "mirrored-ema")):
        np.testing.assert_allclose(out[two]["losses"], out[one]["losses"], rtol=1e-5)
        np.testing.assert_allclose(out[two]["val"], out[one]["val"], rtol=1e-5)
        for a, b in zip(out[two]["weights"], out[one]["weights"], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert out["default"]["losses"][-1] < out["default"]["losses"][0]
    # The averaged weights validate differently from the last step's.
    assert out["default-ema"]["val"][-1] != pytest.approx(out["default"]["val"][-1], rel=1e-4)


def test_weights_the_checkpoint_cannot_see_are_refused(tmp_path):
    class Hidden(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [keras.layers.Embedding(VOCAB, 4), keras.layers.Dense(VOCAB)]

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    def build():
        model = Hidden()
        model(np.zeros((1, STEPS), "int32"))
        return model

    task = _make_task()
    task.build_model = build
    config = training.TrainConfig(epochs=1, batch_size=BATCH)
    with pytest.raises(ValueError, match="the checkpoint cannot see the weights"):
        training.fit(task, config, tmp_path, strategy="default", verbose=False)
