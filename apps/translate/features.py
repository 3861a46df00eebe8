"""translate's text: rnnkit.text's words or subword pieces, a vocabulary for each side.

Case is kept (German capitalises nouns, and BLEU is computed on cased
text). Unknown words map to ``<unk>``, which the decoder replaces by the
source word it attends to most.
"""

from __future__ import annotations

from pathlib import Path

from rnnkit.text import (  # noqa: F401  (translate's modules and tests read them here)
    CONTINUES,
    END,
    END_ID,
    MAX_WORD,
    PAD,
    PAD_ID,
    SPECIALS,
    START,
    START_ID,
    UNK,
    UNK_ID,
    Vocabulary,
    detokenize,
    join_words,
    plain,
    split_words,
    tokenize,
)

# A run's (and a SavedModel's assets') vocabulary files.
SOURCE_VOCAB, TARGET_VOCAB = "source_vocab.json", "target_vocab.json"


def load_vocabularies(folder: str | Path) -> tuple[Vocabulary, Vocabulary]:
    """A run's (or a SavedModel's assets') source and target vocabularies."""
    folder = Path(folder)
    return Vocabulary.load(folder / SOURCE_VOCAB), Vocabulary.load(folder / TARGET_VOCAB)
