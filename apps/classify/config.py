"""classify's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from rnnkit.configs import FULL_TRAIN, QUICK_TRAIN, TINY_TRAIN, AppConfig
from rnnkit.fields import RATE, Config, setting

CELLS = ("lstm", "gru", "elman")
ACTIVATIONS = ("tanh", "relu", "sigmoid")
POOLING = ("attention", "max", "last")
TOKENS = ("words", "subwords")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Where the labelled texts come from, and how they become word ids."""

    source: str = setting(
        "embedded",
        "Data source: embedded (Rotten Tomatoes review snippets, positive or negative, the "
        "default), csv:PATH (a text and a label column, any number of classes) or tfds:NAME "
        "(a prepared TFDS set, e.g. tfds:imdb_reviews, tfds:glue/sst2).",
        flag="--data",
    )
    data_dir: str | None = setting(
        None, "TFDS data dir for --data tfds:NAME.", flag=True, path="dir"
    )
    text_column: str = setting("text", "csv: the column of the texts.", flag=True)
    label_column: str = setting("label", "csv: the column of the labels.", flag=True)
    tokens: str = setting(
        "words",
        "What the model reads: lowercased words (the most frequent; the rest are <unk>) or "
        "subwords (BPE pieces learnt by sentencepiece, which spell every word).",
        flag=True,
        choices=TOKENS,
    )
    vocab: int = setting(12000, "Words (or pieces) kept.", flag=True, min=8)
    min_count: int = setting(1, "words: keep only words seen this often in training.", min=1)
    max_words: int = setting(
        200, "Longest text, in tokens: training and serving read the first this many.", min=1
    )
    train_limit: int | None = setting(
        None, "Train on the first N training texts only (None: all).", min=1
    )
    pretrain_text: str | None = setting(
        None,
        "With --pretrain-epochs: a UTF-8 text file (a text a line) the encoder learns the "
        "language from first (None: the training texts themselves).",
        flag=True,
        path="file",
    )


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """Embedding, bidirectional rnnkit layers, pooling over time, a softmax."""

    cell: str = setting("lstm", "Recurrent cell.", flag=True, choices=CELLS)
    activation: str = setting(
        "tanh",
        "The cell's activation (Elman: tanh, relu or sigmoid).",
        flag=True,
        choices=ACTIVATIONS,
    )
    layers: int = setting(1, "Bidirectional layers.", flag=True, min=1)
    units: int = setting(128, "Units of each direction.", flag=True, min=1)
    embedding: int = setting(128, "Word embedding size.", min=1)
    pooling: str = setting(
        "attention",
        "How the sequence becomes one vector: attention (a learnt weight for every word, "
        "shown by --explain), max over time, or the last states of both directions.",
        flag=True,
        choices=POOLING,
    )
    attention_units: int = setting(64, "Units of the attention pooling's scorer.", min=1)
    dropout: float = setting(
        0.3, "Dropout on the embeddings and the pooled vector.", flag=True, **RATE
    )
    word_dropout: float = setting(
        0.1, "Training: the share of words dropped from a text (whole words, as ULMFiT).", **RATE
    )
    pretrain_epochs: int = setting(
        0,
        "ULMFiT: the first N epochs train the encoder as forward and backward language "
        "models, the rest fine-tune the classifier (0: no pretraining).",
        flag=True,
        min=0,
    )
    layer_decay: float = setting(
        2.6,
        "After pretraining: each layer group down (head, recurrent layer, embedding) learns "
        "this many times slower (discriminative learning rates).",
        min=1,
    )
    unfreeze_epochs: int = setting(
        0,
        "After pretraining: the layer groups unfreeze top down, one every N epochs (0: all "
        "at once).",
        min=0,
    )
    ensemble: int = setting(
        1,
        "Networks in the model, each from its own seed (initial weights, dropout) and in its "
        "own batch order, trained side by side; their calibrated probabilities are averaged.",
        flag=True,
        min=1,
    )
    class_weights: bool = setting(
        True,
        "Weigh each class's loss by the inverse of its share of the training texts, so a "
        "rare class counts as much as a common one.",
        flag=True,
    )


@dataclasses.dataclass(frozen=True)
class ClassifyConfig(AppConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()

    def __post_init__(self):
        super().__post_init__()
        pretrain = self.model.pretrain_epochs
        if pretrain and self.model.layers != 1:
            # A second layer's forward direction reads the first's backward states,
            # which have seen the word it would predict.
            raise ValueError("--pretrain-epochs needs one bidirectional layer (--layers 1)")
        if pretrain and pretrain >= self.train.epochs:
            raise ValueError(
                f"--pretrain-epochs {pretrain} leaves no epoch of --epochs {self.train.epochs} "
                "to fine-tune the classifier"
            )
        if self.data.pretrain_text and not pretrain:
            raise ValueError("--pretrain-text needs --pretrain-epochs")


PRESETS = {
    # Seconds: for tests; no dropout, so one and two replicas see the same draws.
    "tiny": ClassifyConfig(
        data=DataConfig(vocab=300, max_words=40, train_limit=128),
        model=ModelConfig(units=8, embedding=8, attention_units=4, dropout=0.0, word_dropout=0.0),
        train=TINY_TRAIN,
    ),
    # The demo: about 6.5 minutes on two CPU cores. Three networks, each ULMFiT
    # on the training texts (4 language-model epochs, then 8 of the
    # classifier, every group at once), in their own batch orders. One such
    # network scored test accuracy 0.7663 over seeds 0-2 (0.7489 trained
    # from scratch); three on shared batches 0.7748.
    "quick": ClassifyConfig(
        data=DataConfig(vocab=12000, max_words=64),
        model=ModelConfig(units=96, embedding=96, pretrain_epochs=4, ensemble=3),
        train=QUICK_TRAIN.replace(epochs=12, batch_size=32, learning_rate=2e-3, weight_decay=1e-4),
    ),
    # The best quality within 30 minutes: eight of the quick preset's
    # networks (seed 0: test accuracy 0.7767, validation 0.7902, 17 minutes
    # alone). One network of 128 units with 8 language-model epochs scored
    # 0.7650, no better than one quick network; eight over 24,000 words
    # scored 0.7746 on validation (0.7619 on test), so the vocabulary stays.
    "full": ClassifyConfig(
        data=DataConfig(vocab=12000, max_words=64),
        model=ModelConfig(units=96, embedding=96, pretrain_epochs=4, ensemble=8),
        train=FULL_TRAIN.replace(
            epochs=12,
            batch_size=32,
            learning_rate=2e-3,
            weight_decay=1e-4,
            warmup_steps=0,
            patience=None,
        ),
    ),
}
