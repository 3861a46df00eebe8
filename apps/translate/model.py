"""The translator: a bidirectional rnnkit encoder and an attention decoder with input feeding.

Encoder (Bahdanau et al., 2015): source word embeddings through ``layers``
bidirectional rnnkit layers (LSTM, GRU or Elman; each direction ``units /
2``), masked past each source's end. Decoder (Luong et al., 2015, with
Bahdanau's additive attention): at each step the cell reads the previous
word's embedding and the previous attentional vector (input feeding), then
attends over the encoder's outputs with its new state; the attentional
vector ``tanh(W [state; context])`` predicts the next word (through its
own output layer, or scored against the target embeddings with
``tied_embeddings``). The initial state comes from the mean of the
encoder's outputs.

Training runs the decoder over the reference (teacher forcing; with
``word_dropout`` a share of the input words of both sides read ``<unk>``): with input
feeding one step after the other in a ``tf.while_loop``; without it the
cell runs over the whole target in rnnkit's fused kernel and attention
takes every step's state at once. Either way the output layer runs once
over all steps. Decoding runs ``step`` in a ``tf.while_loop``, greedy or
with a beam.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf
from keras import layers, ops

from apps.translate.config import ModelConfig, TranslateConfig
from apps.translate.features import END_ID, PAD_ID, UNK_ID, load_vocabularies
from rnnkit.cells import ElmanCell, GRUCell, LSTMCell
from rnnkit.configs import ConfiguredModel
from rnnkit.layers import GRU, LSTM, BahdanauAttention, Elman, Recurrent

ENCODER_LAYERS = {"lstm": LSTM, "gru": GRU, "elman": Elman}
DECODER_CELLS = {"lstm": LSTMCell, "gru": GRUCell, "elman": ElmanCell}


@keras.saving.register_keras_serializable(package="translate")
class Translator(ConfiguredModel, keras.Model):
    """Source word ids -> target word logits, with where each target word looked.

    Args:
        config: the ``ModelConfig`` (cell, layers, units, embedding,
            attention_units, dropout).
        source_vocab, target_vocab: vocabulary sizes (ids 0-3: ``<pad>``,
            ``<unk>``, ``<s>``, ``</s>``).
        seed: initialisers and dropout.

    Call arguments:
        inputs: ``{"source": [batch, S] int, "target": [batch, T] int}``,
            ``<pad>``-padded; the target starts with ``<s>``.
        training: dropout on or off.

    Returns:
        ``{"logits": [batch, T - 1, target_vocab], "attention": [batch,
        T - 1, S]}``: the prediction of each next target word (teacher
        forcing) and the attention weights of each step.
    """

    config_class = ModelConfig
    config_args = ("source_vocab", "target_vocab", "seed")

    def __init__(self, config: ModelConfig, source_vocab: int, target_vocab: int, seed=None, **kw):
        super().__init__(**kw)
        self.model_config = config
        self.source_vocab, self.target_vocab, self.seed = source_vocab, target_vocab, seed
        self.units = units = config.units
        init = keras.initializers.GlorotUniform(seed=seed)
        self.source_embed = layers.Embedding(source_vocab, config.embedding, name="source_embed")
        self.target_embed = layers.Embedding(target_vocab, config.embedding, name="target_embed")
        recurrent = ENCODER_LAYERS[config.cell]
        # Each layer an attribute of its own: checkpoints do not track a list's.
        for k in range(config.layers):
            layer = layers.Bidirectional(
                recurrent(units // 2, return_sequences=True, kernel_initializer=init),
                name=f"encoder_{k}",
            )
            setattr(self, f"encoder_{k}", layer)
        self.encoded_size = 2 * (units // 2)
        self.init_h = layers.Dense(units, activation="tanh", kernel_initializer=init)
        self.init_c = (
            layers.Dense(units, activation="tanh", kernel_initializer=init)
            if config.cell == "lstm"
            else None
        )
        self.cell = DECODER_CELLS[config.cell](units, kernel_initializer=init, seed=seed)
        # Without input feeding the decoder's states do not depend on attention,
        # so training runs the cell over the whole target at once.
        self.decoder = None if config.input_feeding else Recurrent(self.cell, return_sequences=True)
        self.attention = BahdanauAttention(config.attention_units, kernel_initializer=init)
        self.attentional = layers.Dense(units, activation="tanh", kernel_initializer=init)
        self.drop = layers.Dropout(config.dropout, seed=seed)
        self.word_seed = keras.random.SeedGenerator(seed)
        if config.tied_embeddings:
            # Press & Wolf (2017): the output layer scores the attentional vector,
            # projected to the embedding size, against every target embedding.
            self.tie = layers.Dense(config.embedding, kernel_initializer=init, name="tie")
            self.out_bias = self.add_weight(
                shape=(target_vocab,), initializer="zeros", name="out_bias"
            )
        else:
            self.out = layers.Dense(target_vocab, kernel_initializer=init)

    def build(self, input_shape=None):
        self.attention.build((1, self.units), (1, 2, self.encoded_size))
        source = ops.ones((1, 2), "int32")
        memory, keys, mask, state = self.encode(source)
        self.step(ops.ones((1,), "int32"), state, memory, keys, mask)
        self.built = True

    # -- the pieces decoding uses --------------------------------------------------------

    def encode(self, source, training=False):
        """``(memory [batch, S, encoded], keys, mask [batch, S], initial state)``.

        The state is the decoder cell's (``[h]`` or ``[h, c]``) followed by the
        previous attentional vector (zeros), which input feeding reads.
        """
        mask = ops.not_equal(source, PAD_ID)
        hidden = self.drop(self.source_embed(source), training=training)
        for k in range(self.model_config.layers):
            hidden = getattr(self, f"encoder_{k}")(hidden, mask=mask, training=training)
        weights = ops.expand_dims(ops.cast(mask, hidden.dtype), -1)
        mean = ops.sum(hidden * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        state = [self.init_h(mean)] + ([self.init_c(mean)] if self.init_c is not None else [])
        if self.model_config.input_feeding:
            state.append(ops.zeros((ops.shape(source)[0], self.units), hidden.dtype))
        return hidden, self.attention.keys(hidden), mask, state

    def step(self, token, state, memory, keys, mask, training=False):
        """One target word: ``(logits [batch, vocab], new state, attention [batch, S])``."""
        vector, state, weights = self._attended(token, state, memory, keys, mask, training)
        return self._logits(vector, training), state, weights

    def _attended(self, token, state, memory, keys, mask, training):
        """One step up to the attentional vector: ``(vector, new state, attention)``."""
        feeding = self.model_config.input_feeding
        *cell_state, feed = state if feeding else [*state, None]
        embedded = self.drop(self.target_embed(token), training=training)
        inputs = ops.concatenate([embedded, feed], -1) if feeding else embedded
        output, cell_state = self.cell(inputs, cell_state)
        cell_state = list(cell_state) if isinstance(cell_state, (list, tuple)) else [cell_state]
        context, weights = self.attention(output, memory, keys, values_mask=mask)
        vector = self.attentional(ops.concatenate([output, context], -1))
        return vector, [*cell_state, vector] if feeding else cell_state, weights

    def _logits(self, vector, training):
        vector = self.drop(vector, training=training)
        if not self.model_config.tied_embeddings:
            return self.out(vector)
        embeddings = self.target_embed.embeddings
        return ops.matmul(self.tie(vector), ops.transpose(embeddings)) + self.out_bias

    def _unknown(self, ids, training):
        """``ids`` with a ``word_dropout`` share of the words made ``<unk>`` in training."""
        rate = self.model_config.word_dropout
        if not (training and rate):
            return ids
        dropped = keras.random.uniform(ops.shape(ids), seed=self.word_seed) < rate
        return ops.where(dropped & (ids > END_ID), ops.full_like(ids, UNK_ID), ids)

    def call(self, inputs, training=False):
        source = self._unknown(inputs["source"], training)
        memory, keys, mask, state = self.encode(source, training=training)
        # Teacher forcing: each step reads the reference.
        target = self._unknown(inputs["target"][:, :-1], training)
        if self.decoder is None:
            vector, weights = self._fed(target, state, memory, keys, mask, training)
        else:
            embedded = self.drop(self.target_embed(target), training=training)
            outputs = self.decoder(embedded, initial_state=state, training=training)
            context, weights = self.attention(outputs, memory, keys, values_mask=mask)
            vector = self.attentional(ops.concatenate([outputs, context], -1))
        # Every step's output layer in one matmul.
        return {"logits": self._logits(vector, training), "attention": weights}

    def _fed(self, target, state, memory, keys, mask, training):
        """Input feeding, one step after the other in a loop over the batch's length:
        ``(attentional vectors [batch, T, units], attention [batch, T, S])``."""
        steps = tf.shape(target)[1]
        vectors = tf.TensorArray(self.compute_dtype, size=steps)
        attention = tf.TensorArray(self.compute_dtype, size=steps)

        def body(t, state, vectors, attention):
            vector, state, weights = self._attended(
                target[:, t], state, memory, keys, mask, training
            )
            return t + 1, state, vectors.write(t, vector), attention.write(t, weights)

        _, _, vectors, attention = tf.while_loop(
            lambda t, *_: t < steps, body, (0, state, vectors, attention)
        )
        return (
            tf.transpose(vectors.stack(), [1, 0, 2]),
            tf.transpose(attention.stack(), [1, 0, 2]),
        )


def build_model(config: ModelConfig, source_vocab: int, target_vocab: int, seed=None):
    """A built ``Translator`` (its variables exist, so checkpoints restore into it)."""
    model = Translator(config, source_vocab, target_vocab, seed=seed)
    model.build()
    return model


def build_for_run(config: TranslateConfig, run_dir: Path) -> Translator:
    """The model of a saved run, for its checkpoint to restore into."""
    source, target = load_vocabularies(run_dir)
    return build_model(config.model, len(source), len(target), seed=config.seed)
