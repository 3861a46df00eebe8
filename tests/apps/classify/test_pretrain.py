"""ULMFiT: language models that cannot peek, per-group learning rates, gradual unfreezing."""

import numpy as np
import pytest

from apps.classify import pretrain
from apps.classify.config import PRESETS, ClassifyConfig, ModelConfig
from apps.classify.model import build_model
from rnnkit.errors import InputError


def test_each_direction_predicts_from_its_own_side_only():
    config = ModelConfig(units=6, embedding=5, dropout=0.0, pretrain_epochs=1)
    model = build_model(config, vocab_size=20, classes=2, seed=0)
    ids = np.array([[4, 5, 6, 7, 8, 9]], np.int32)
    changed = ids.copy()
    changed[0, 3] = 12
    (f1, b1), (f2, b2) = model.lm_logits(ids), model.lm_logits(changed)
    # The forward states before word 3 and the backward states after it do not see it.
    np.testing.assert_allclose(f1[0, :3], f2[0, :3], atol=1e-6)
    np.testing.assert_allclose(b1[0, 4:], b2[0, 4:], atol=1e-6)
    assert not np.allclose(f1[0, 3:], f2[0, 3:]) and not np.allclose(b1[0, :4], b2[0, :4])
    loss = pretrain.per_example_loss(model, ids, training=False)
    assert loss.shape == (1,) and abs(float(loss[0]) - np.log(20)) < 0.5


def _one_step(unfreeze_epochs, at_step):
    """How far one Adam step of gradient 1 moves each group's weights, against the head."""
    import tensorflow as tf

    config = ModelConfig(units=4, embedding=4, pretrain_epochs=1, unfreeze_epochs=unfreeze_epochs)
    model = build_model(config, vocab_size=10, classes=2, seed=0)
    train = PRESETS["tiny"].train.replace(epochs=4, learning_rate=0.01, schedule="constant")
    optimizer = pretrain.make_optimizer(config, 1)(train, total_steps=40)  # 10 steps an epoch
    optimizer.build(model.trainable_variables)
    optimizer.iterations.assign(at_step)
    before = [v.numpy().copy() for v in model.trainable_variables]
    optimizer.apply([tf.ones_like(v) for v in model.trainable_variables])
    moved = {}
    for v, old in zip(model.trainable_variables, before):
        moved.setdefault(pretrain.layer_group(v.path, 1), float(np.max(np.abs(v.numpy() - old))))
    assert moved[0] > 0
    return {group: step / moved[0] for group, step in moved.items()}


def test_groups_learn_slower_down_the_stack_and_unfreeze_top_down():
    # Pretraining (steps 0-9): every group at the full rate.
    assert _one_step(1, at_step=5) == pytest.approx({0: 1, 1: 1, 2: 1}, rel=1e-3)
    # All unfrozen: 2.6 times slower a group down.
    assert _one_step(0, at_step=15) == pytest.approx({0: 1, 1: 1 / 2.6, 2: 1 / 2.6**2}, rel=1e-3)
    # One group an epoch: the head alone, then the recurrent layer, then the embedding.
    assert _one_step(1, at_step=12) == pytest.approx({0: 1, 1: 0, 2: 0}, abs=1e-6)
    assert _one_step(1, at_step=22) == pytest.approx({0: 1, 1: 1 / 2.6, 2: 0}, abs=1e-5)
    assert _one_step(1, at_step=35)[2] == pytest.approx(1 / 2.6**2, rel=1e-3)


def test_the_schedule_restarts_for_the_classifier():
    schedule = pretrain.StagedSchedule(1.0, pretrain_steps=100, total_steps=200)
    at = lambda step: float(schedule(step))
    assert at(0) == pytest.approx(1.0) and at(99) < 0.1
    assert at(100) == pytest.approx(0.1) and at(109) == pytest.approx(1.0)  # a 10-step rise
    assert at(199) < 0.1


def test_bad_pretraining_settings_and_files(tmp_path):
    with pytest.raises(ValueError, match="needs one bidirectional layer"):
        ClassifyConfig(model=ModelConfig(layers=2, pretrain_epochs=1))
    with pytest.raises(ValueError, match="leaves no epoch"):
        PRESETS["tiny"].replace(model=ModelConfig(pretrain_epochs=2))
    for content, words in [
        (b"", "holds no text"),
        (b"\xff\xfe text", ":1: not UTF-8 text"),
        (b"\0\0\0", "binary"),
    ]:
        (tmp_path / "lm.txt").write_bytes(content)
        with pytest.raises(InputError, match=words):
            pretrain.read_text(tmp_path / "lm.txt")
    with pytest.raises(InputError, match="no such file"):
        pretrain.read_text(tmp_path / "none.txt")


def test_a_run_pretrains_on_a_file_then_fine_tunes(tmp_path):
    import json

    from rnnkit.testing import cli as rcli

    text = tmp_path / "reviews.txt"
    text.write_text("a wonderful film about a zebra .\nthe zebra film was dreadful .\n" * 40)
    run = tmp_path / "run"
    result = rcli.invoke(
        "classify", "train", "--preset", "tiny", "--run-dir", run, "--quiet",
        "--pretrain-epochs", "1", "--epochs", "2", "--pretrain-text", text,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    vocab = json.loads((run / "vocab.json").read_text())
    assert "zebra" in vocab  # the pretraining text's words are in the vocabulary
    history = json.loads((run / "metrics.json").read_text())["history"]
    # The first epoch's loss is the language models' (about log of the vocabulary).
    assert history[0]["loss"] > 3 > history[1]["loss"]
    rcli.usage_error(
        rcli.invoke("classify", "train", "--preset", "tiny", "--run-dir", tmp_path / "r2",
                    "--pretrain-text", text),
        "--pretrain-text needs --pretrain-epochs",
    )  # fmt: skip


def test_fine_tuning_starts_with_fresh_moments():
    import tensorflow as tf

    config = ModelConfig(units=4, embedding=4, pretrain_epochs=1, unfreeze_epochs=0)
    model = build_model(config, vocab_size=10, classes=2, seed=0)
    train = PRESETS["tiny"].train.replace(epochs=2, learning_rate=0.01)
    optimizer = pretrain.make_optimizer(config, 1)(train, total_steps=20)  # 10 steps an epoch
    optimizer.build(model.trainable_variables)
    variables = model.trainable_variables
    optimizer.iterations.assign(8)
    optimizer.apply([5 * tf.ones_like(v) for v in variables])  # a language-model step
    assert float(tf.reduce_max(optimizer._velocities[0])) == pytest.approx(0.025)
    optimizer.iterations.assign(10)  # the classifier's first step
    optimizer.apply([tf.ones_like(v) for v in variables])
    assert float(tf.reduce_max(optimizer._momentums[0])) == pytest.approx(0.1)
    assert float(tf.reduce_max(optimizer._velocities[0])) == pytest.approx(0.001)
