"""textgen's model: Embedding -> stacked rnnkit recurrent layers -> logits."""

from pathlib import Path

import keras
import tensorflow as tf

import rnnkit.layers
from apps.textgen.config import ModelConfig, TextgenConfig
from apps.textgen.data import Vocab
from rnnkit.configs import ConfiguredModel

_LAYERS = {"lstm": rnnkit.layers.LSTM, "gru": rnnkit.layers.GRU, "elman": rnnkit.layers.Elman}


@keras.saving.register_keras_serializable(package="textgen")
class CharRNN(ConfiguredModel, keras.Model):
    """Character language model with its recurrent state passed in and out.

    The state is a flat list of ``[batch, units]`` tensors, layer by layer
    (``h, c`` for an LSTM layer, ``h`` for GRU and Elman), so a caller can
    carry it across windows (TBPTT) or generated characters.

    Args:
        config: the ``ModelConfig`` (cell, layers, units, embedding and the
            regularisers; see its fields).
        vocab_size: Number of character ids (id 0: unknown).

    Call arguments:
        ids: int ``[batch, time]``.
        states: the flat state list, or None for zeros.
        padding_mask: bool ``[batch, time]``, right padding: the returned states are
            those after each row's last real step.
        training: Python boolean; enables dropout.

    Returns ``(logits [batch, time, vocab_size], new_states)``.
    """

    config_class = ModelConfig
    config_args = ("vocab_size",)

    def __init__(self, config: ModelConfig, vocab_size: int, **kwargs):
        super().__init__(**kwargs)
        self.model_config = config
        self.vocab_size = vocab_size
        self.cell = config.cell
        self.num_layers = config.layers
        self.units = units = config.units
        self.embedding_dim = embedding_dim = config.embedding_dim
        self.embedding_dropout = config.embedding_dropout
        locked = config.locked
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        # One attribute per layer: tf.train.Checkpoint does not see layers
        # held in a list attribute of a Keras 3 model.
        for i in range(config.layers):
            layer = _LAYERS[config.cell](
                units,
                return_sequences=True,
                return_state=True,
                weight_dropout=config.weight_dropout,
                name=f"{config.cell}_{i}",
            )
            setattr(self, f"rnn_{i}", layer)
        # Locked: the mask's time axis has size 1 and broadcasts over the steps.
        self.drop = keras.layers.Dropout(
            config.dropout, noise_shape=(None, 1, units) if locked else None, name="dropout"
        )
        self.drop_input = keras.layers.Dropout(
            config.input_dropout,
            noise_shape=(None, 1, embedding_dim) if locked else None,
            name="input_dropout",
        )
        self.head = keras.layers.Dense(vocab_size, name="logits")

    @property
    def rnns(self) -> list:
        return [getattr(self, f"rnn_{i}") for i in range(self.num_layers)]

    def build(self, input_shape):
        # Each layer builds in its own name scope, so every TensorFlow
        # variable gets a unique name: the session-based loaders of
        # saved_model_cli and TF Serving look variables up by that name.
        with keras.name_scope(self.embedding.name):
            self.embedding.build(input_shape)
        width = self.embedding_dim
        for rnn in self.rnns:
            with keras.name_scope(rnn.name):
                rnn.build((None, None, width))
            width = self.units
        with keras.name_scope(self.head.name):
            self.head.build((None, None, width))

    @property
    def states_per_layer(self) -> int:
        return 2 if self.cell == "lstm" else 1

    @property
    def state_size(self) -> int:
        """Width of the concatenated state (what the ``step`` signature passes around)."""
        return self.num_layers * self.states_per_layer * self.units

    def zero_states(self, batch_size):
        return [
            tf.zeros([batch_size, self.units])
            for _ in range(self.num_layers * self.states_per_layer)
        ]

    def call(self, ids, states=None, padding_mask=None, training=False):
        logits, new_states, _, _ = self.forward(ids, states, padding_mask, training)
        return logits, new_states

    def _embed(self, ids, training):
        x = self.embedding(ids)
        if training and self.embedding_dropout:
            keep = 1.0 - self.embedding_dropout
            mask = tf.cast(tf.random.uniform([self.vocab_size]) < keep, x.dtype) / keep
            x = x * tf.gather(mask, ids)[..., None]
        return self.drop_input(x, training=training)

    def forward(self, ids, states=None, padding_mask=None, training=False):
        """``call`` plus the last layer's output before and after its dropout
        (``[batch, time, units]`` each), for activation regularisation."""
        x = self._embed(ids, training)
        k = self.states_per_layer
        new_states = []
        raw = x
        for i, rnn in enumerate(self.rnns):
            initial = None if states is None else list(states[i * k : (i + 1) * k])
            raw, *layer_states = rnn(x, initial_state=initial, mask=padding_mask, training=training)
            new_states += layer_states
            x = self.drop(raw, training=training)
        return self.head(x), new_states, raw, x

    def step(self, ids, states):
        """One character per row: ``ids [batch]`` -> ``(logits [batch, vocab], new_states)``.

        Runs each cell once, with no loop around it: the fast path for generation.
        """
        x = self.embedding(ids)
        k = self.states_per_layer
        new_states = []
        for i, rnn in enumerate(self.rnns):
            x, layer_states = rnn.cell.step(rnn.cell.project(x), list(states[i * k : (i + 1) * k]))
            new_states += list(layer_states)
        return self.head(x), new_states


def build_for_run(config: TextgenConfig, run_dir: Path) -> CharRNN:
    """The model of a saved run, for its checkpoint to restore into."""
    return build_model(config.model, len(Vocab.load(run_dir)))


def build_model(config: ModelConfig, vocab_size: int) -> CharRNN:
    """A built ``CharRNN`` (its variables exist, so checkpoints restore into it)."""
    model = CharRNN(config, vocab_size)
    model(tf.zeros([1, 2], tf.int32))
    return model
