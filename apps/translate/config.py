"""translate's configuration: frozen dataclasses and the tiny / quick / full presets."""

import dataclasses

from apps.translate.data import DIRECTIONS
from rnnkit.configs import FULL_TRAIN, QUICK_TRAIN, TINY_TRAIN, AppConfig
from rnnkit.fields import RATE, Config, setting

CELLS = ("lstm", "gru", "elman")
TOKENS = ("words", "subwords")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Where the sentence pairs come from, and how they become word ids."""

    source: str = setting(
        "embedded",
        "Data source: embedded (German-English sentences from the Ding dictionary, the "
        "default), tsv:PATH (source<TAB>target a line, as Tatoeba and Anki export them) or "
        "tfds:NAME (a prepared TFDS set, e.g. tfds:ted_hrlr_translate/pt_to_en).",
        flag="--data",
    )
    data_dir: str | None = setting(
        None, "TFDS data dir for --data tfds:NAME.", flag=True, path="dir"
    )
    direction: str = setting(
        "de-en",
        "embedded (and German-English TFDS sets): translate from German to English, or back.",
        flag=True,
        choices=DIRECTIONS,
    )
    phrases: bool = setting(
        True, "embedded: train on Ding's multi-word phrases too (never tested on).", flag=True
    )
    single_words: bool = setting(
        False,
        "embedded: train on Ding's single German words and their translations too (never "
        "tested on).",
        flag=True,
    )
    phrase_share: float = setting(
        1.0,
        "With phrases or single words: the share of them each epoch draws afresh (every "
        "sentence is in every epoch), so the sentences the tests are made of are not "
        "drowned out.",
        min=0,
        max=1,
    )
    tokens: str = setting(
        "subwords",
        "What the model reads and writes: words (the most frequent; the rest are <unk>, "
        "copied from the source when written) or subwords (BPE pieces learnt by sentencepiece, "
        "which spell every word of the training alphabet).",
        flag=True,
        choices=TOKENS,
    )
    source_vocab: int = setting(8000, "Source words (or pieces) kept.", min=8)
    target_vocab: int = setting(8000, "Target words (or pieces) kept.", min=8)
    max_words: int = setting(
        30, "Longest training pair, in words on either side (longer ones are left out).", min=1
    )
    train_limit: int | None = setting(
        None, "Train on the first N training pairs only (None: all).", min=1
    )


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """The encoder-decoder: bidirectional rnnkit layers, an attention decoder cell."""

    cell: str = setting("lstm", "Encoder and decoder cell.", flag=True, choices=CELLS)
    layers: int = setting(1, "Bidirectional encoder layers.", flag=True, min=1)
    units: int = setting(256, "Decoder units (each encoder direction has half).", flag=True, min=2)
    embedding: int = setting(128, "Word embedding size.", min=1)
    attention_units: int = setting(128, "Units of the Bahdanau attention.", min=1)
    dropout: float = setting(
        0.2, "Dropout on embeddings and the decoder output.", flag=True, **RATE
    )
    word_dropout: float = setting(
        0.0,
        "Training: the share of source and target input tokens replaced by <unk> (Gal and "
        "Ghahramani, 2016; Sennrich and Zhang, 2019, for small data).",
        **RATE,
    )
    label_smoothing: float = setting(0.1, "Label smoothing of the training loss.", **RATE)
    input_feeding: bool = setting(
        True,
        "Feed each step's attentional vector into the next (Luong et al., 2015); without it "
        "training runs the decoder over the whole target in rnnkit's fused kernel.",
        flag=True,
    )
    tied_embeddings: bool = setting(
        False,
        "Share the target embeddings with the output layer (which then scores a projection "
        "of the attentional vector to the embedding size).",
        flag=True,
    )
    beam: int = setting(4, "The default beam width.", flag=True, min=1)
    length_penalty: float = setting(
        0.6, "Exponent of GNMT's length normalisation in the beam search.", min=0
    )


@dataclasses.dataclass(frozen=True)
class TranslateConfig(AppConfig):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()


PRESETS = {
    # Seconds: for tests; no dropout, so one and two replicas see the same draws.
    "tiny": TranslateConfig(
        data=DataConfig(
            phrases=False,
            tokens="subwords",
            source_vocab=200,
            target_vocab=200,
            max_words=8,
            train_limit=256,
        ),
        model=ModelConfig(units=16, embedding=8, attention_units=8, dropout=0.0, beam=2),
        train=TINY_TRAIN,
    ),
    # The demo: about 10 minutes on two CPU cores. Every epoch holds every
    # sentence and a fresh tenth of Ding's phrases (about 40,000 pairs, 629
    # steps of 64; batches are cut to their longest pair, about 17 steps/s).
    # Measured at 6,000 words: test BLEU 5.8 after 12 epochs, against 4.4
    # after 20 epochs of the sentences alone, whose validation loss turned up
    # after 8; all the phrases in every epoch gave 2.1 at equal time. Words,
    # not pieces: pieces make the sequences a third longer, and at equal
    # time (10 epochs) 8,000 pieces gave 6.9 (chrF 25.5) against the words'
    # 7.0 (24.8); after 14 epochs (15 minutes) 7.3 (27.5).
    "quick": TranslateConfig(
        data=DataConfig(
            phrases=True,
            phrase_share=0.1,
            tokens="words",
            source_vocab=8000,
            target_vocab=8000,
            max_words=16,
        ),
        model=ModelConfig(units=192, embedding=128, attention_units=128),
        train=QUICK_TRAIN.replace(epochs=14, batch_size=64),
    ),
    # The best quality within 40 minutes: a quarter of the phrases each epoch,
    # subword pieces (which pay with more epochs), larger vocabularies and
    # decoder.
    "full": TranslateConfig(
        data=DataConfig(
            phrases=True,
            phrase_share=0.25,
            tokens="subwords",
            source_vocab=12000,
            target_vocab=12000,
            max_words=20,
        ),
        model=ModelConfig(units=256, embedding=192, attention_units=128),
        train=FULL_TRAIN.replace(epochs=12, batch_size=64),
    ),
}
