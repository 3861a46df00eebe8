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
    carried: list[tf.Variable] = []
    holder: dict = {}

    def build():
        model = build_model(config.model, len(vocab))
        if window:
            # One state per replica (sync-on-read): each replica's rows of
            # window n + 1 continue its rows of window n. The state is not
            # checkpointed: a resumed run starts its next window from zeros.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            carried[:] = [
                tf.Variable(
                    s,
                    trainable=False,
                    synchronization=tf.VariableSynchronization.ON_READ,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                )
                for s in model.zero_states(batch // replicas)
            ]
        return model

    ar, tar = config.model.activation_reg, config.model.temporal_reg

    def loss(model, batch_data, training):
        states = None
        if len(batch_data) == 3:
            inputs, targets, first = batch_data
            keep = 1.0 - tf.cast(first, tf.float32)[:, None]
            states = [v * keep for v in carried]
        else:
            inputs, targets = batch_data
        logits, new_states, raw, dropped = model.forward(inputs, states, training=training)
        if states is not None:
            for v, s in zip(carried, new_states):
                v.assign(tf.stop_gradient(s))
        found = per_char_loss(logits, targets)
        if training and ar:
            found += ar * tf.reduce_mean(tf.square(dropped), axis=[1, 2])
        if training and tar:
            found += tar * tf.reduce_mean(tf.square(raw[:, 1:] - raw[:, :-1]), axis=[1, 2])
        return found

    def train_data(epoch):
        seed = config.seed * 1000 + epoch
        if window:
            offset = int(np.random.default_rng(seed).integers(0, window))
            usable = len(train_ids) - window
            return data.stream_batches(train_ids[: usable + offset], window, batch, offset)
        return data.random_windows(train_ids, seq_len, batch, seed)

    def samples(model, epoch):
        if "generator" not in holder:
            holder["generator"] = Generator(model, vocab)
        out = holder["generator"].generate(
            prompt=tf.constant([config.sample_prompt]),
            max_new_chars=tf.constant([300]),
            temperature=tf.constant([0.8]),
            top_k=tf.constant([0]),
            top_p=tf.constant([0.95]),
            seed=tf.constant([epoch]),
        )
        return {"samples/temperature_0.8": out["text"][0].numpy().decode("utf-8")}

    val_data = lambda: data.val_windows(val_ids, val_len, batch)
    return Task(build, loss, train_data, val_data, derived_metrics, samples=samples)


# -- sampling ------------------------------------------------------------------------------


# -- evaluation ----------------------------------------------------------------------------
