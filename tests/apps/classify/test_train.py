"""classify's training job: the class weights, the batches, and what TensorBoard gets."""

import json

import numpy as np
import tensorflow as tf

from apps.classify import train
from apps.classify.config import PRESETS


def test_class_weights_make_every_class_count_alike():
    labels = np.array([0] * 6 + [1] * 2 + [2] * 2)
    weights = train.class_weights(labels, 4)
    np.testing.assert_allclose(weights[:3], [10 / 18, 10 / 6, 10 / 6])
    assert weights[3] == 1.0
    totals = [weights[c] * np.sum(labels == c) for c in range(3)]
    np.testing.assert_allclose(totals, totals[0])


def test_batches_hold_every_text_once_cut_to_their_longest(tmp_path):
    config = PRESETS["tiny"]
    task = train.make_task(config, tmp_path)
    assert json.loads((tmp_path / "classes.json").read_text()) == {
        "classes": ["negative", "positive"]
    }
    seen = []
    for batch in task.train_data(0):
        ids = batch["ids"].numpy()
        assert ids.shape[0] == config.train.batch_size
        assert (ids[:, -1] != 0).any()  # cut to the longest text of the batch
        seen.append(batch["label"].numpy())
    assert sum(len(s) for s in seen) == config.data.train_limit
    again = [b["label"].numpy() for b in task.train_data(0)]
    np.testing.assert_array_equal(np.concatenate(seen), np.concatenate(again))
    other = np.concatenate([b["label"].numpy() for b in task.train_data(1)])
    assert not np.array_equal(np.concatenate(seen), other)


def test_training_logs_scores_the_confusion_picture_and_explained_sentences(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    for epoch in history:
        assert 0 <= epoch["val_accuracy"] <= 1 and 0 <= epoch["val_macro_f1"] <= 1
        assert 0 <= epoch["val_ece"] <= 1 and 0.05 <= epoch["val_temperature"] <= 20
        assert epoch["val_nll"] > 0
    events = EventAccumulator(str(run_dir / "tb" / "train"))
    events.Reload()
    [text] = events.Tensors("samples/explained")[-1:]
    shown = text.tensor_proto.string_val[0].decode()
    assert shown.startswith("```\n") and shown.count("truth: ") == train.SHOWN
    [picture] = events.Tensors("confusion/validation")[-1:]
    assert tf.make_ndarray(picture.tensor_proto)[2][:4] == b"\x89PNG"
    validation = EventAccumulator(str(run_dir / "tb" / "validation"))
    validation.Reload()
    assert {"accuracy", "macro_f1", "ece"} <= set(validation.Tags()["tensors"])


def test_an_ensemble_trains_each_member_on_its_own_loss_and_fits_each_temperature(tmp_path):
    import dataclasses

    config = PRESETS["tiny"]
    config = config.replace(
        model=dataclasses.replace(config.model, ensemble=2, class_weights=False)
    )
    task = train.make_task(config, tmp_path)
    model = task.build_model()
    # In training each member reads its own texts; in validation all read the same.
    batch = next(iter(task.train_data(0)))
    ids, labels = batch["ids"], batch["label"]
    assert ids.shape[:2] == (config.train.batch_size, 2) and labels.shape == ids.shape[:2]
    assert not np.array_equal(ids[:, 0], ids[:, 1])
    with tf.GradientTape() as tape:
        loss = task.loss(model, batch, training=True)
    # The members' mean loss, not the loss of their averaged probabilities.
    each = [
        tf.keras.losses.sparse_categorical_crossentropy(
            labels[:, k], member(ids[:, k])["logits"], from_logits=True
        )
        for k, member in enumerate(model.members)
    ]
    np.testing.assert_allclose(loss, (each[0] + each[1]) / 2, atol=1e-5)
    shared = next(iter(task.val_data()))
    shared_loss = task.loss(model, shared, training=False)
    averaged = tf.keras.losses.sparse_categorical_crossentropy(
        shared["label"], model(shared["ids"])["logits"]
    )
    assert shared_loss.shape == averaged.shape and not np.allclose(shared_loss, averaged, atol=1e-4)
    gradients = tape.gradient(loss, model.trainable_weights)
    assert all(g is not None for g in gradients)
    for member in model.members:  # each member's output layer learns
        [kernel] = [g for g, w in zip(gradients, model.trainable_weights) if w is member.out.kernel]
        assert float(tf.reduce_max(tf.abs(kernel))) > 0
    found = task.validation_metrics(model)
    assert all(float(m.temperature.numpy()) != 1.0 for m in model.members)
    assert float(model.temperature.numpy()) != 1.0
    assert 0 <= found["member_accuracy"] <= 1 and 0 <= found["accuracy"] <= 1


def test_each_member_reads_every_text_once_in_its_own_order_in_batches_of_one_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 31, 1990)
    ids = np.where(np.arange(30) < lengths[:, None], 5, 0).astype(np.int32)
    orders = [train._order(ids, 16, r) for r in train._rngs(3, 1, 3)]
    rows = train._aligned(orders, lengths, 16)
    assert rows.shape == (1984, 3)  # whole batches
    np.testing.assert_array_equal(rows[:, 0], orders[0][:1984])  # member 0: a lone network's
    np.testing.assert_array_equal(train._aligned(orders[:1], lengths, 16), orders[0][:1984])
    for k in range(3):
        assert len(set(rows[:, k])) == 1984
    batches = rows.reshape(124, 16, 3)
    shared = [len(set(b[:, 0]) & set(b[:, 1])) / 16 for b in batches]
    assert np.mean(shared) < 0.4  # another member, other texts
    longest = lengths[batches].max(1)  # [batch, member]
    spread = longest.max(1) - longest.min(1)
    assert spread.mean() < 0.5  # unmatched: 0.86
