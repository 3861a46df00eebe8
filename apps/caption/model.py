"""The captioner: a CNN reads the image into a grid of features, and an rnnkit
LSTM/GRU cell with additive attention over the grid writes the caption.

One decoder step (Show, Attend and Tell; Xu et al., 2015): attend over the
grid with the previous state, feed the previous word's embedding and the
context to the cell, and predict the next word from a "deep output" layer
over the new state, the context and the embedding. The initial state comes
from the mean feature. Training runs the step over the reference caption
(teacher forcing); decoding (``apps.caption.tasks``) runs it in a
``tf.while_loop``, greedy or with a beam.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
from keras import layers, ops

from apps.caption.config import CaptionConfig, ModelConfig
from apps.caption.data import load_vocabulary
from rnnkit.cells import GRUCell, LSTMCell
from rnnkit.configs import ConfiguredModel
from rnnkit.layers import LSTM, BahdanauAttention

BACKBONES = {
    "mobilenet_v3_small": ("MobileNetV3Small", "mobilenet_v3"),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet"),
    "resnet50": ("ResNet50", "resnet50"),
}


def cnn_encoder(height, width, channels, filters, seed=None):
    """Four 3x3 convolution blocks, pooled 2x2 three times: a ``[h/8, w/8, 2 filters]`` grid.

    No batch normalisation: the statistics of one replica's batch would make
    training under MirroredStrategy differ from one replica.
    """
    init = keras.initializers.HeNormal(seed=seed)
    stack = [layers.Input((height, width, channels))]
    blocks = [(filters // 2, True), (filters, True), (2 * filters, True), (2 * filters, False)]
    for f, pool in blocks:
        stack.append(
            layers.Conv2D(f, 3, padding="same", activation="relu", kernel_initializer=init)
        )
        if pool:
            stack.append(layers.MaxPooling2D(2))
    return keras.Sequential(stack, name="encoder")


def backbone_encoder(name, height, width, weights=None, trainable=False):
    """A ``keras.applications`` backbone (ImageNet weights from a file, never downloaded)."""
    import keras.applications as apps

    builder, module = BACKBONES[name]
    net = getattr(apps, builder)(include_top=False, weights=None, input_shape=(height, width, 3))
    if weights:
        try:
            # Keras only warns when parts of a file do not match, and leaves
            # those layers at random: any such warning is an error here.
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                net.load_weights(weights)
        except Exception as e:
            raise ValueError(
                f"{weights} does not fit the {name} backbone: {str(e).splitlines()[0][:200]}"
            ) from None
    net.trainable = trainable
    preprocess = getattr(apps, module).preprocess_input
    inputs = layers.Input((height, width, 3))
    features = net(preprocess(inputs * 255.0), training=False if not trainable else None)
    return keras.Model(inputs, features, name="encoder")


@keras.saving.register_keras_serializable(package="caption")
class Captioner(ConfiguredModel, keras.Model):
    """Image -> grid of features -> attention decoder over a word vocabulary.

    Args:
        config: the ``ModelConfig``: the input image (height, width,
            channels), the encoder (``cnn`` of ``filters`` or a
            ``keras.applications`` backbone with ``encoder_weights`` and
            ``fine_tune``), ``row_encoder`` (a bidirectional rnnkit LSTM
            along each row of the grid, Deng et al. 2017, so every feature
            knows what lies left and right of it), the decoder (cell, units,
            embedding, attention_units, dropout on the embeddings, the cell
            input and the deep output) and ``tied_embeddings``.
        vocab_size: number of tokens (with ``<pad>``, ``<start>``, ``<end>``,
            ``<unk>`` at ids 0-3).
        seed: initialisers and dropout.

    Call arguments:
        inputs: ``{"image": [batch, height, width, channels] in [0, 1],
            "tokens": [batch, length] int}`` starting with ``<start>``.
        training: dropout on or off.

    Returns:
        ``{"logits": [batch, length - 1, vocab_size], "attention": [batch,
        length - 1, grid]}``: the prediction of each next token (teacher
        forcing) and where each step looked.
    """

    config_class = ModelConfig
    config_args = ("vocab_size", "seed")

    def __init__(self, config: ModelConfig, vocab_size: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.model_config = config
        self.vocab_size = vocab_size
        self.height, self.width, self.channels = config.height, config.width, config.channels
        self.encoder_name = encoder = config.encoder
        self.filters = filters = config.filters
        self.row_encoder = row_encoder = config.row_encoder
        self.cell_name = cell = config.cell
        self.units = units = config.units
        self.embedding_size = embedding = config.embedding
        self.attention_units = attention_units = config.attention_units
        self.dropout = dropout = config.dropout
        self.tied_embeddings = tied_embeddings = config.tied_embeddings
        self.encoder_weights = encoder_weights = config.encoder_weights
        self.fine_tune = fine_tune = config.fine_tune
        self.seed = seed
        init = keras.initializers.GlorotUniform(seed=seed)
        # ModelConfig has checked that a backbone reads RGB (channels 3).
        if encoder == "cnn":
            self.encoder = cnn_encoder(config.height, config.width, config.channels, filters, seed)
        else:
            self.encoder = backbone_encoder(
                encoder, config.height, config.width, encoder_weights, fine_tune
            )
        grid_shape = self.encoder.output_shape
        self.grid = (grid_shape[1], grid_shape[2])
        self.feature_size = grid_shape[3]
        self.rows = None
        if row_encoder:
            half = max(self.feature_size // 2, 1)
            self.rows = layers.Bidirectional(
                LSTM(half, return_sequences=True, kernel_initializer=init), name="row_encoder"
            )
            self.rows.build((None, self.grid[1], self.feature_size))
            self.feature_size = 2 * half
        self.positions = self.add_weight(
            name="positions",
            shape=(self.grid[0] * self.grid[1], self.feature_size),
            initializer=keras.initializers.RandomNormal(stddev=0.02, seed=seed),
        )
        self.embed = layers.Embedding(vocab_size, embedding, embeddings_initializer="uniform")
        self.attention = BahdanauAttention(attention_units, kernel_initializer=init)
        cells = {"lstm": LSTMCell, "gru": GRUCell}
        self.cell = cells[cell](units, kernel_initializer=init, seed=seed)
        # The initial state from the mean feature: h, and c for an LSTM (each
        # layer its own attribute, so that checkpoints track it).
        self.init_h = layers.Dense(units, activation="tanh", kernel_initializer=init)
        self.init_c = layers.Dense(units, activation="tanh", kernel_initializer=init)
        if cell != "lstm":
            self.init_c = None
        self.deep = layers.Dense(embedding, activation="tanh", kernel_initializer=init)
        self.drop = layers.Dropout(dropout, seed=seed)
        if tied_embeddings:
            self.out_bias = self.add_weight(
                name="out_bias", shape=(vocab_size,), initializer="zeros"
            )
        else:
            self.out = layers.Dense(vocab_size, kernel_initializer=init)

    @property
    def grid_size(self) -> int:
        return self.grid[0] * self.grid[1]

    def build(self, input_shape=None):
        batch = 1
        features = ops.zeros((batch, self.grid_size, self.feature_size))
        self.initial_state(features)
        self.attention.build((batch, self.units), features.shape)
        self.embed.build((batch,))
        self.cell.build((batch, self.embedding_size + self.feature_size))
        self.deep.build((batch, self.units + self.feature_size + self.embedding_size))
        if not self.tied_embeddings:
            self.out.build((batch, self.embedding_size))
        self.built = True

    # -- the pieces decoding uses --------------------------------------------------------

    def encode(self, image, training=False):
        """``(features [batch, grid, feature_size], keys, initial state)``."""
        grid = self.encoder(image, training=training)
        if self.rows is not None:
            grid = ops.reshape(grid, (-1, self.grid[1], grid.shape[-1]))
            grid = self.rows(grid, training=training)
        features = ops.reshape(grid, (-1, self.grid_size, self.feature_size)) + self.positions
        return features, self.attention.keys(features), self.initial_state(features)

    def initial_state(self, features):
        mean = ops.mean(features, axis=1)
        return [self.init_h(mean)] + ([self.init_c(mean)] if self.init_c is not None else [])

    def step(self, token, state, features, keys, training=False):
        """One word: ``(logits [batch, vocab], new state, attention weights [batch, grid])``."""
        embedded = self.drop(self.embed(token), training=training)
        context, weights = self.attention(state[0], features, keys)
        output, state = self.cell(ops.concatenate([embedded, context], -1), state)
        deep = self.deep(ops.concatenate([output, context, embedded], -1))
        deep = self.drop(deep, training=training)
        if self.tied_embeddings:
            logits = ops.matmul(deep, ops.transpose(self.embed.embeddings)) + self.out_bias
        else:
            logits = self.out(deep)
        state = state if isinstance(state, (list, tuple)) else [state]
        return logits, list(state), weights

    def call(self, inputs, training=False):
        features, keys, state = self.encode(inputs["image"], training=training)
        tokens = inputs["tokens"]
        logits, attention = [], []
        for t in range(tokens.shape[1] - 1):  # teacher forcing, unrolled: captions are short
            step_logits, state, weights = self.step(tokens[:, t], state, features, keys, training)
            logits.append(step_logits)
            attention.append(weights)
        return {"logits": ops.stack(logits, 1), "attention": ops.stack(attention, 1)}


def build_for_run(config: CaptionConfig, run_dir: Path) -> Captioner:
    """The model of a saved run, for its checkpoint to restore into."""
    return build_model(config.model, len(load_vocabulary(run_dir)), seed=config.seed)


def build_model(config: ModelConfig, vocab_size: int, seed=None) -> Captioner:
    """A built ``Captioner`` (its variables exist, so checkpoints restore into it)."""
    model = Captioner(config, vocab_size, seed=seed)
    model.build()
    return model
