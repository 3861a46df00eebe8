"""translate's words in the graph: the same as in Python, and back to text."""

import json

import pytest
import tensorflow as tf

from apps.translate import data, features
from rnnkit.errors import InputError

TEXTS = [
    "Wie spät ist es?",
    "Lass deinen Ärger nicht an mir aus!",
    "„Wie spät ist es?“, fragte er – leise.",
    "Das kostet 12,50 Euro (ohne Steuer).",
    "  Zwei   Leerzeichen\tund ein Tab. ",
]


def test_the_graph_splits_words_as_python_does():
    parts = data.load("embedded", phrases=False)
    texts = TEXTS + [p.source for p in parts["test"][:300]]
    graph = features.tokenize(tf.constant(texts)).to_list()
    assert [[w.decode() for w in words] for words in graph] == [
        features.split_words(t) for t in texts
    ]
    assert features.split_words(TEXTS[2]) == [
        '"',
        "Wie",
        "spät",
        "ist",
        "es",
        "?",
        '"',
        ",",
        "fragte",
        "er",
        "-",
        "leise",
        ".",
    ]


def test_words_join_back_into_the_text():
    unquoted = [t for t in TEXTS if '"' not in features.plain(t)]
    joined = features.detokenize(features.tokenize(tf.constant(unquoted))).numpy()
    assert [j.decode() for j in joined] == [features.plain(t) for t in unquoted]
    assert [features.join_words(features.split_words(t)) for t in unquoted] == [
        features.plain(t) for t in unquoted
    ]


def test_a_vocabulary_keeps_the_frequent_words_after_the_specials(tmp_path):
    texts = ["a b c a b a", "a d ."]
    vocab = features.Vocabulary.build(texts, size=7)
    assert vocab.words == (*features.SPECIALS, "a", "b", "c")
    assert vocab.ids("a d b") == [4, features.UNK_ID, 5]
    assert vocab.coverage(["a b z"]) == pytest.approx(2 / 3)
    table = vocab.table()
    ids = table.lookup(tf.constant(["a", "d", "b", features.END])).numpy().tolist()
    assert ids == [4, features.UNK_ID, 5, features.END_ID]
    vocab.save(tmp_path / "v.json")
    assert features.Vocabulary.load(tmp_path / "v.json") == vocab
    (tmp_path / "bad.json").write_text(json.dumps(["a", "b"]))
    with pytest.raises(InputError, match="must list"):
        features.Vocabulary.load(tmp_path / "bad.json")
    (tmp_path / "cut.json").write_text('["<pad>", "<u')
    with pytest.raises(InputError, match="is not a vocabulary"):
        features.Vocabulary.load(tmp_path / "cut.json")
