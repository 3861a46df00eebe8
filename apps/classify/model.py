"""The classifier: word embeddings, bidirectional rnnkit layers, pooling over time, a softmax.

Word ids (``<pad>`` 0 past each end) are embedded (in training a
``word_dropout`` share of the words read zeros, whole words as ULMFiT's
embedding dropout), then run through ``layers`` bidirectional rnnkit
layers (LSTM, GRU or Elman with the cell's ``activation``), masked past
each text's end. The sequence becomes one vector by ``pooling``:

- ``attention``: a learnt score ``v . tanh(W h_t)`` for every word, softmaxed
  over the text (Yang et al., 2016, without the context hierarchy); the
  weights are the explanation ``--explain`` shows;
- ``max``: the largest value of each unit over the text;
- ``last``: the forward direction's state after the last word and the
  backward direction's after the first.

Dropout, then a dense layer gives one logit a class. ``temperature`` (a
weight outside training, 1 until validation fits it: temperature scaling,
Guo et al., 2017) divides the logits in ``probabilities``.

``Ensemble`` holds ``ensemble`` such networks, each from its own seed,
trained side by side (the loss is their mean): its logits are the log of
their calibrated probabilities' mean, its own temperature on top, its
explanation the mean of theirs. Averaging networks that disagree is what
pays on small data where one network overfits (Lakshminarayanan et al.,
2017: deep ensembles).
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf
from keras import layers, ops

from apps.classify.config import ClassifyConfig, ModelConfig
from apps.classify.features import load_run_files
from rnnkit.configs import ConfiguredModel
from rnnkit.layers import GRU, LSTM, Elman
from rnnkit.text import PAD_ID

RECURRENT = {"lstm": LSTM, "gru": GRU, "elman": Elman}


@keras.saving.register_keras_serializable(package="classify")
class Classifier(ConfiguredModel, keras.Model):
    """Word ids -> class logits, with each word's pooling weight.

    Args:
        config: the ``ModelConfig``.
        vocab_size: vocabulary size (id 0 is ``<pad>``).
        classes: how many classes.
        seed: initialisers and dropout.

    Call arguments:
        ids: ``[batch, T]`` int, ``<pad>``-padded; every row has a word.
        training: dropout on or off.

    Returns:
        ``{"logits": [batch, classes], "weights": [batch, T]}``: the
        attention pooling's weights (zeros for the other poolings).
    """

    config_class = ModelConfig
    config_args = ("vocab_size", "classes", "seed")

    def __init__(self, config: ModelConfig, vocab_size: int, classes: int, seed=None, **kw):
        super().__init__(**kw)
        self.model_config = config
        self.vocab_size, self.classes, self.seed = vocab_size, classes, seed
        init = keras.initializers.GlorotUniform(seed=seed)
        self.embed = layers.Embedding(vocab_size, config.embedding, name="embed")
        recurrent = RECURRENT[config.cell]
        # Each layer an attribute of its own: checkpoints do not track a list's.
        for k in range(config.layers):
            layer = layers.Bidirectional(
                recurrent(
                    config.units,
                    activation=config.activation,
                    return_sequences=True,
                    kernel_initializer=init,
                ),
                name=f"encoder_{k}",
            )
            setattr(self, f"encoder_{k}", layer)
        if config.pooling == "attention":
            self.score_hidden = layers.Dense(
                config.attention_units, activation="tanh", kernel_initializer=init
            )
            self.score = layers.Dense(1, use_bias=False, kernel_initializer=init)
        self.drop = layers.Dropout(config.dropout, seed=seed)
        self.word_seed = keras.random.SeedGenerator(seed)
        self.out = layers.Dense(classes, kernel_initializer=init, name="out")
        self.temperature = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="temperature"
        )
        if config.pretrain_epochs:  # ULMFiT's language models' output layers
            # Layer norm first: without it the language models gained by driving the
            # LSTM's states to +-1 (91% past 0.95 after one epoch), where the
            # classifier's gradients vanish and fine-tuning stalled near chance.
            self.lm_norm_forward = layers.LayerNormalization(name="lm_norm_forward")
            self.lm_norm_backward = layers.LayerNormalization(name="lm_norm_backward")
            self.lm_forward = layers.Dense(vocab_size, kernel_initializer=init, name="lm_forward")
            self.lm_backward = layers.Dense(vocab_size, kernel_initializer=init, name="lm_backward")

    def build(self, input_shape=None):
        self.call(ops.ones((1, 2), "int32"))
        if self.model_config.pretrain_epochs:
            self.lm_logits(ops.ones((1, 2), "int32"))
        self.built = True

    def lm_states(self, ids, training=False):
        """ULMFiT's language models' inputs ``(forward, backward)``, ``[batch, T, units]``
        each, layer-normalised: the forward direction's states after each word (they
        predict the next word), the backward direction's at each word (the word before)."""
        mask = ops.not_equal(ids, PAD_ID)
        hidden = self.drop(self.embedded(ids, training), training=training)
        hidden = self.encoder_0(hidden, mask=mask, training=training)
        units = self.model_config.units
        forward = self.lm_norm_forward(self.drop(hidden[..., :units], training=training))
        return forward, self.lm_norm_backward(self.drop(hidden[..., units:], training=training))

    def lm_logits(self, ids, training=False):
        """The language models' scores of every word, ``[batch, T, vocab]`` each."""
        forward, backward = self.lm_states(ids, training)
        return self.lm_forward(forward), self.lm_backward(backward)

    def embedded(self, ids, training=False):
        """The word vectors, word dropout in training."""
        vectors = self.embed(ids)
        rate = self.model_config.word_dropout
        if training and rate:
            kept = keras.random.uniform(ops.shape(ids), seed=self.word_seed) >= rate
            vectors = vectors * ops.expand_dims(ops.cast(kept, vectors.dtype), -1) / (1 - rate)
        return vectors

    def call(self, ids, training=False):
        return self.from_embedded(ids, self.embedded(ids, training), training)

    def from_embedded(self, ids, vectors, training=False):
        """``call`` from the word vectors on (gradient x input differentiates this)."""
        mask = ops.not_equal(ids, PAD_ID)
        hidden = self.drop(vectors, training=training)
        for k in range(self.model_config.layers):
            hidden = getattr(self, f"encoder_{k}")(hidden, mask=mask, training=training)
        pooled, weights = self._pooled(hidden, mask)
        logits = self.out(self.drop(pooled, training=training))
        return {"logits": logits, "weights": weights}

    def _pooled(self, hidden, mask):
        pooling = self.model_config.pooling
        as_float = ops.cast(mask, hidden.dtype)
        if pooling == "attention":
            scores = ops.squeeze(self.score(self.score_hidden(hidden)), -1)
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            weights = ops.softmax(scores, axis=-1) * as_float
            weights = weights / ops.maximum(ops.sum(weights, -1, keepdims=True), 1e-9)
            return ops.sum(hidden * ops.expand_dims(weights, -1), axis=1), weights
        zeros = ops.zeros_like(as_float)
        if pooling == "max":
            low = ops.full_like(hidden, -1e9)
            return ops.max(ops.where(ops.expand_dims(mask, -1), hidden, low), axis=1), zeros
        units = self.model_config.units
        last = ops.maximum(ops.sum(ops.cast(mask, "int32"), -1) - 1, 0)
        forward = tf.gather(hidden[..., :units], last, batch_dims=1)
        return ops.concatenate([forward, hidden[:, 0, units:]], -1), zeros

    def probabilities(self, logits):
        """Calibrated class probabilities: the softmax of ``logits / temperature``."""
        return ops.softmax(logits / self.temperature, axis=-1)

    def explain(self, ids):
        """``(logits, word weights [batch, T])``: the attention pooling's weights, or for
        the other poolings gradient x input (the gradient of the chosen class's logit by
        each word's vector, dotted with the vector), its magnitude normalised to sum 1."""
        if self.model_config.pooling == "attention":
            out = self(ids)
            return out["logits"], out["weights"]
        vectors = self.embed(ids)
        with tf.GradientTape() as tape:
            tape.watch(vectors)
            logits = self.from_embedded(ids, vectors)["logits"]
            chosen = tf.reduce_max(logits, axis=-1)
        saliency = tf.abs(tf.reduce_sum(tape.gradient(chosen, vectors) * vectors, -1))
        saliency *= tf.cast(ids != PAD_ID, saliency.dtype)
        return logits, saliency / tf.maximum(tf.reduce_sum(saliency, -1, keepdims=True), 1e-9)


# Member k's seed: far enough apart that no two members of runs with nearby seeds
# draw the same initial weights.
MEMBER_SEED_STRIDE = 7919


@keras.saving.register_keras_serializable(package="classify")
class Ensemble(ConfiguredModel, keras.Model):
    """``config.ensemble`` ``Classifier`` members as one model, their calibrated
    probabilities averaged.

    Arguments as ``Classifier``'s; member k is seeded ``seed + k * MEMBER_SEED_STRIDE``.

    Returns:
        ``Classifier``'s outputs for the mean (``logits``: the log of the members'
        mean calibrated probabilities; ``weights``: the mean of theirs) and ``members``,
        each member's own logits ``[batch, members, classes]`` (what training fits).
    """

    config_class = ModelConfig
    config_args = ("vocab_size", "classes", "seed")

    def __init__(self, config: ModelConfig, vocab_size: int, classes: int, seed=None, **kw):
        super().__init__(**kw)
        self.model_config = config
        self.vocab_size, self.classes, self.seed = vocab_size, classes, seed
        for k in range(config.ensemble):
            member_seed = None if seed is None else seed + k * MEMBER_SEED_STRIDE
            member = Classifier(config, vocab_size, classes, seed=member_seed, name=f"member_{k}")
            setattr(self, f"member_{k}", member)  # an attribute each, for checkpoints
        self.temperature = self.add_weight(
            shape=(), initializer="ones", trainable=False, name="temperature"
        )

    @property
    def members(self) -> list[Classifier]:
        return [getattr(self, f"member_{k}") for k in range(self.model_config.ensemble)]

    def build(self, input_shape=None):
        for member in self.members:
            member.build()
        self.built = True

    def call(self, ids, training=False):
        found = [member(ids, training=training) for member in self.members]
        logits = [out["logits"] for out in found]
        out = self._mean(logits, [out["weights"] for out in found])
        return {**out, "members": ops.stack(logits, 1)}

    def _mean(self, logits, weights):
        mean = ops.mean(ops.stack([m.probabilities(x) for m, x in zip(self.members, logits)], 0), 0)
        return {
            "logits": ops.log(ops.maximum(mean, 1e-30)),
            "weights": ops.mean(ops.stack(weights, 0), 0),
        }

    def probabilities(self, logits):
        return ops.softmax(logits / self.temperature, axis=-1)

    def explain(self, ids):
        """``Classifier.explain`` of the mean: each member's weights, averaged."""
        logits, weights = zip(*(member.explain(ids) for member in self.members))
        out = self._mean(list(logits), list(weights))
        return out["logits"], out["weights"]


def members(model) -> list[Classifier]:
    """The networks a model averages (a ``Classifier`` is its only one)."""
    return model.members if isinstance(model, Ensemble) else [model]


def member_inputs(model, ids) -> list:
    """``(network, its ids)`` for each network of ``model``: ``[batch, T]`` ids are every
    member's; ``[batch, members, T]`` (an ensemble in training) give member k column k."""
    if len(ids.shape) == 3:
        return [(member, ids[:, k]) for k, member in enumerate(members(model))]
    return [(member, ids) for member in members(model)]


def build_model(config: ModelConfig, vocab_size: int, classes: int, seed=None):
    """A built ``Classifier``, or ``Ensemble`` of them with ``config.ensemble`` > 1 (its
    variables exist, so checkpoints restore into it)."""
    kind = Ensemble if config.ensemble > 1 else Classifier
    model = kind(config, vocab_size, classes, seed=seed)
    model.build()
    return model


def build_for_run(config: ClassifyConfig, run_dir: Path) -> Classifier | Ensemble:
    """The model of a saved run, for its checkpoint to restore into."""
    vocab, classes = load_run_files(run_dir)
    return build_model(config.model, len(vocab), len(classes), seed=config.seed)
