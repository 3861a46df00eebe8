"""textgen's training job for ``rnnkit.training.fit``: the loss, the batches, samples.

Batches are random windows from zero states, or (``data.tbptt``) consecutive
windows with the state carried across them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.textgen import data
from apps.textgen.config import TextgenConfig
from apps.textgen.export import Generator
from apps.textgen.model import build_model
from rnnkit.training import Task

LN2 = math.log(2.0)


def per_char_loss(logits, targets):
    per_char = tf.nn.sparse_softmax_cross_entropy_with_logits(
        tf.cast(targets, tf.int32), tf.cast(logits, tf.float32)
    )
    return tf.reduce_mean(per_char, axis=-1)


def derived_metrics(loss: float) -> dict[str, float]:
    return {"bits_per_char": loss / LN2, "perplexity": math.exp(min(loss, 50.0))}


def make_task(config: TextgenConfig, run_dir: Path) -> Task:
    """Loads the text, saves the vocabulary into ``run_dir`` and returns the training task."""
    train_text, val_text = data.load_text(config.data)
    vocab = data.Vocab.from_text(train_text)
    vocab.save(run_dir)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    seq_len, batch = config.data.seq_len, config.train.batch_size
    window = config.data.tbptt
    if window and len(train_ids) < batch * window + window + 1:
        raise data.InputError(
            f"{len(train_ids)} training characters are too few for --tbptt {window} with "
            f"batch size {batch}: at least {batch * window + window + 1} are needed"
        )
    # A short validation split (a small user file) gets shorter windows.
    val_len = max(1, min(seq_len, len(val_ids) - 1))
    carried = _CarriedState(batch) if window else None

    def build():
        model = build_model(config.model, len(vocab))
        if carried is not None:
            carried.create(model)
        return model

    def loss(model, batch_data, training):
        inputs, targets, *first = batch_data
        states = carried.read(first[0]) if first else None
        logits, new_states, raw, dropped = model.forward(inputs, states, training=training)
        if first:
            carried.write(new_states)
        found = per_char_loss(logits, targets)
        return found + _activation_penalty(config.model, raw, dropped) if training else found

    def train_data(epoch):
        seed = config.seed * 1000 + epoch
        if window:
            offset = int(np.random.default_rng(seed).integers(0, window))
            usable = len(train_ids) - window
            return data.stream_batches(train_ids[: usable + offset], window, batch, offset)
        return data.random_windows(train_ids, seq_len, batch, seed)

    val_data = lambda: data.val_windows(val_ids, val_len, batch)
    samples = _Samples(vocab, config.sample_prompt)
    return Task(build, loss, train_data, val_data, derived_metrics, samples=samples)


class _CarriedState:
    """TBPTT's state: each replica's rows of window n + 1 continue its rows of window n.

    One state per replica (sync-on-read variables). It is not checkpointed:
    a resumed run starts its next window from zeros.
    """

    def __init__(self, batch: int):
        self.batch = batch
        self.variables: list[tf.Variable] = []

    def create(self, model) -> None:
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.variables = [
            tf.Variable(
                s,
                trainable=False,
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
            )
            for s in model.zero_states(self.batch // replicas)
        ]

    def read(self, first):
        """The carried states, zero for the rows whose stream starts anew (``first``)."""
        keep = 1.0 - tf.cast(first, tf.float32)[:, None]
        return [v * keep for v in self.variables]

    def write(self, states) -> None:
        for v, s in zip(self.variables, states):
            v.assign(tf.stop_gradient(s))


def _activation_penalty(config, raw, dropped):
    """AR and TAR per example: the last layer's (dropped) output and its step-to-step change."""
    penalty = 0.0
    if config.activation_reg:
        penalty += config.activation_reg * tf.reduce_mean(tf.square(dropped), axis=[1, 2])
    if config.temporal_reg:
        change = raw[:, 1:] - raw[:, :-1]
        penalty += config.temporal_reg * tf.reduce_mean(tf.square(change), axis=[1, 2])
    return penalty


class _Samples:
    """Text for TensorBoard after each epoch: 300 characters after the sample prompt.

    TensorBoard renders text as Markdown: the sample goes in a fenced code
    block so its line breaks and spaces show as generated; the tag names the
    sampling settings.
    """

    def __init__(self, vocab, prompt: str):
        self.vocab, self.prompt = vocab, prompt
        self.generator = None

    def __call__(self, model, epoch):
        if self.generator is None:
            self.generator = Generator(model, self.vocab)
        out = self.generator.generate(
            prompt=tf.constant([self.prompt]),
            max_new_chars=tf.constant([300]),
            temperature=tf.constant([0.8]),
            top_k=tf.constant([0]),
            top_p=tf.constant([0.95]),
            seed=tf.constant([epoch]),
        )
        text = out["text"][0].numpy().decode("utf-8")
        return {"samples/temperature_0.8_top_p_0.95": f"```\n{text}\n```"}
