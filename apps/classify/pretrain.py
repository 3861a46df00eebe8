"""ULMFiT for an RNN classifier (Howard and Ruder, 2018): the encoder learns the language
first, then the classifier is fine-tuned with discriminative learning rates and gradual
unfreezing.

With ``pretrain_epochs`` N, the first N epochs of a run train the
embedding and the bidirectional layer as two language models (the forward
direction's state after each word predicts the next word, the backward
direction's the word before), on ``--pretrain-text`` (a UTF-8 file, a text
a line) or on the training texts themselves; each such epoch is as many
steps as a classifier epoch, so the shared training loop (the one textgen's
language model trains in) runs both stages. The vocabulary is built from
the training texts and the pretraining text together.

Then the classifier trains with ``DiscriminativeAdam``: the layer groups,
top down (the head: pooling and output; the recurrent layer; the
embedding), each learn ``layer_decay`` times slower than the one above,
and group g is frozen until ``g * unfreeze_epochs`` epochs of fine-tuning
have passed. Both are functions of the optimizer's step count, so a
resumed run continues them. Each stage has its own learning-rate curve:
the language model's cosine decay, then the classifier's short linear
warmup (ULMFiT's slanted triangle) and cosine decay.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from rnnkit.errors import InputError
from rnnkit.text import PAD_ID

MAX_LINES = 2_000_000  # lines of a pretraining file read at most
WARMUP_SHARE = 0.1  # of the fine-tuning steps: the slanted triangle's rise


def read_text(path: str | Path) -> list[str]:
    """A pretraining file's non-empty lines; a problem is one line naming the file."""
    from rnnkit.files import read_utf8

    try:
        text = read_utf8(path, "UTF-8 text")
    except InputError as e:
        raise InputError(f"--pretrain-text: {e}") from None
    lines = [line.strip() for line in text.splitlines()[:MAX_LINES]]
    lines = [line for line in lines if line]
    if not lines:
        raise InputError(f"--pretrain-text: {path} holds no text")
    return lines


# Training scores each word against this many sampled others (log-uniform: the
# vocabulary is ordered by frequency), not the whole vocabulary: a full softmax
# over 12,000 words made a language-model epoch 8 times a classifier epoch's time.
SAMPLED = 512


def per_example_loss(model, ids, training):
    """The mean cross-entropy of both directions' next (and previous) word predictions:
    sampled softmax in training, the full softmax otherwise; an ensemble's members'
    mean."""
    from apps.classify.model import member_inputs

    found = [_lm_loss(member, own, training) for member, own in member_inputs(model, ids)]
    return tf.add_n(found) / len(found)


def _lm_loss(model, ids, training):
    forward, backward = model.lm_states(ids, training=training)
    losses = []
    for states, target, layer in (
        (forward[:, :-1], ids[:, 1:], model.lm_forward),
        (backward[:, 1:], ids[:, :-1], model.lm_backward),
    ):
        mask = tf.cast(target != PAD_ID, tf.float32)
        flat = tf.reshape(states, [-1, states.shape[-1]])
        labels = tf.reshape(tf.cast(target, tf.int64), [-1, 1])
        vocab = layer.kernel.shape[-1]
        if training and vocab > SAMPLED:
            found = tf.nn.sampled_softmax_loss(
                tf.transpose(layer.kernel), layer.bias, labels, flat, SAMPLED, vocab
            )
        else:
            found = tf.keras.losses.sparse_categorical_crossentropy(
                labels[:, 0], layer(flat), from_logits=True
            )
        found = tf.reshape(found, tf.shape(target))
        losses.append(tf.reduce_sum(found * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0))
    return (losses[0] + losses[1]) / 2


def draw(ids: np.ndarray, count: int, rng) -> np.ndarray:
    """``count`` rows of ``ids`` in a random order (each once, then again)."""
    rounds = [rng.permutation(len(ids)) for _ in range(math.ceil(count / max(len(ids), 1)))]
    return ids[np.concatenate(rounds)[:count]] if rounds else ids[:0]


class StagedSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The language model's cosine decay for ``pretrain_steps``, then the classifier's
    warmup and cosine decay to 5% of ``peak``."""

    def __init__(self, peak: float, pretrain_steps: int, total_steps: int):
        self.peak, self.pretrain_steps, self.total_steps = peak, pretrain_steps, total_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        cosine = lambda done: 0.05 + 0.95 * 0.5 * (1 + tf.cos(math.pi * tf.minimum(done, 1.0)))
        lm = cosine(step / max(self.pretrain_steps, 1))
        tuned = tf.maximum(step - self.pretrain_steps, 0.0)
        length = max(self.total_steps - self.pretrain_steps, 1)
        warmup = max(round(WARMUP_SHARE * length), 1)
        rise = (tuned + 1) / warmup
        fall = cosine((tuned - warmup) / max(length - warmup, 1))
        fine = tf.where(tuned < warmup, rise, fall)
        return self.peak * tf.where(step < self.pretrain_steps, lm, fine)

    def get_config(self):
        return {
            "peak": self.peak,
            "pretrain_steps": self.pretrain_steps,
            "total_steps": self.total_steps,
        }


def layer_group(path: str, layers: int) -> int:
    """A variable's group, top down: 0 the head, 1 .. layers the recurrent layers from
    the top, layers + 1 the embedding."""
    for k in range(layers):
        if f"encoder_{k}" in path:
            return layers - k
    return layers + 1 if "embed" in path else 0


class _Discriminative:
    """Per-group learning rates and gradual unfreezing, after ``pretrain_steps``."""

    def setup(self, layers, pretrain_steps, steps_per_epoch, decay, unfreeze_epochs):
        self.groups_of_layers = layers
        self.pretrain_steps, self.steps_per_epoch = pretrain_steps, steps_per_epoch
        self.decay, self.unfreeze_epochs = decay, unfreeze_epochs

    def build(self, variables):
        super().build(variables)
        self.groups = [layer_group(v.path, self.groups_of_layers) for v in variables]

    def factor(self, group: int):
        step = tf.cast(self.iterations, tf.float32)
        tuned = step - self.pretrain_steps
        thawed = tf.constant(True)
        if self.unfreeze_epochs:
            thawed = tuned >= group * self.unfreeze_epochs * self.steps_per_epoch
        scaled = tf.where(thawed, tf.constant(self.decay**-group, tf.float32), 0.0)
        return tf.where(tuned < 0, 1.0, scaled)

    def update_step(self, gradient, variable, learning_rate):
        """Adam's step at the group's rate; fine-tuning starts with fresh moments (as a new
        optimizer would: the language models' squared gradients would otherwise shrink the
        classifier's first thousand steps) and its own bias correction."""
        index = self._get_variable_index(variable)
        rate = learning_rate * tf.cast(self.factor(self.groups[index]), learning_rate.dtype)
        rate = tf.cast(rate, variable.dtype)
        gradient = tf.cast(gradient, variable.dtype)
        step = tf.cast(self.iterations + 1, variable.dtype)
        local = tf.where(step > self.pretrain_steps, step - self.pretrain_steps, step)
        m, v = self._momentums[index], self._velocities[index]
        restart = tf.equal(local, 1.0)
        self.assign(m, tf.where(restart, tf.zeros_like(m), m))
        self.assign(v, tf.where(restart, tf.zeros_like(v), v))
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign_add(v, (tf.square(gradient) - v) * (1 - self.beta_2))
        corrected = tf.sqrt(1 - tf.pow(tf.cast(self.beta_2, variable.dtype), local)) / (
            1 - tf.pow(tf.cast(self.beta_1, variable.dtype), local)
        )
        self.assign_sub(variable, m * rate * corrected / (tf.sqrt(v) + self.epsilon))


class DiscriminativeAdam(_Discriminative, keras.optimizers.Adam):
    pass


class DiscriminativeAdamW(_Discriminative, keras.optimizers.AdamW):
    pass


def make_optimizer(model_config, pretrain_epochs: int):
    """``Task.optimizer``: the staged schedule and discriminative Adam (AdamW with weight
    decay, biases spared)."""

    def make(train_config, total_steps: int):
        steps_per_epoch = max(total_steps // train_config.epochs, 1)
        pretrain_steps = pretrain_epochs * steps_per_epoch
        schedule = StagedSchedule(train_config.learning_rate, pretrain_steps, total_steps)
        if train_config.weight_decay:
            optimizer = DiscriminativeAdamW(schedule, weight_decay=train_config.weight_decay)
            optimizer.exclude_from_weight_decay(var_names=["bias"])
        else:
            optimizer = DiscriminativeAdam(schedule)
        optimizer.setup(
            model_config.layers,
            pretrain_steps,
            steps_per_epoch,
            model_config.layer_decay,
            model_config.unfreeze_epochs,
        )
        return optimizer

    return make
