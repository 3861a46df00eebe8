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


@pytest.fixture(scope="module")
def pieces():
    train = data.load("embedded", phrases=False)["train"]
    return features.Vocabulary.build([p.source for p in train], 2000, subwords=True)


def test_subword_pieces_spell_every_word_of_the_alphabet(pieces):
    assert pieces.subwords and pieces.words[:4] == features.SPECIALS
    assert 1900 < len(pieces) < 2300  # about the size asked for, with the whole alphabet
    test = [p.source for p in data.load("embedded", phrases=False)["test"]]
    alphabet = set("".join(w for w in pieces.words[4:]))
    for word in {w for t in test for w in features.split_words(t)}:
        spelt = pieces.pieces(word)
        if set(word) <= alphabet:
            assert "".join(p.removeprefix(features.CONTINUES) for p in spelt) == word
            assert spelt[0] == word[: len(spelt[0])]  # the first piece starts the word
            assert all(p.startswith(features.CONTINUES) for p in spelt[1:])
        else:
            assert spelt == [features.UNK]
    # Frequent words are one piece; the rest a few.
    assert pieces.pieces("nicht") == ["nicht"]
    assert (
        1.2
        < sum(len(pieces.ids(t)) for t in test) / sum(len(features.split_words(t)) for t in test)
        < 2.0
    )


def test_pieces_are_the_longest_first():
    vocab = features.Vocabulary(
        (*features.SPECIALS, "un", "u", "##n", "##believ", "##able", "##a", "##ble"), True
    )
    assert vocab.pieces("unbelievable") == ["un", "##believ", "##able"]
    assert vocab.pieces("una") == ["un", "##a"]
    assert vocab.pieces("unx") == [features.UNK]  # no piece for x: the whole word
    assert vocab.pieces("u" * (features.MAX_WORD + 1)) == [features.UNK]
    huge = features.Vocabulary((*features.SPECIALS, "u" * 10**6, "u"), True)
    assert huge.longest == features.MAX_WORD  # the graph's loop stays bounded
    assert vocab.pieces("u" + "n" * (features.MAX_WORD - 1)) == ["un"] + ["##n"] * 98


def test_the_graph_spells_words_as_python_does(pieces, tmp_path):
    test = [p.source for p in data.load("embedded", phrases=False)["test"]]
    texts = TEXTS + test + ["", "Zorro☃ trifft Ünïcödé-X", "Wort" + "e" * 120, "?"]
    lookup = tf.function(lambda t: pieces.lookup(features.tokenize(t), pieces.table()))
    ids, tokens = lookup(tf.constant(texts))
    assert ids.to_list() == [pieces.ids(t) for t in texts]
    words = [features.split_words(t) for t in texts]
    expected = [
        [q if q != features.UNK else w for w in ws for q in pieces.pieces(w)] for ws in words
    ]
    assert [[x.decode() for x in row] for row in tokens.to_list()] == expected
    assert features.UNK_ID in ids.to_list()[-3]  # the snowman is in no German sentence
    joined = features.detokenize(tokens[: len(TEXTS)], subwords=True).numpy()
    unquoted = [features.plain(t) for t in TEXTS]
    assert [j.decode() for j, t in zip(joined, unquoted) if '"' not in t] == [
        t for t in unquoted if '"' not in t
    ]
    empty = lookup(tf.zeros([0], tf.string))
    assert empty[0].shape[0] == 0
    pieces.save(tmp_path / "pieces.json")
    assert features.Vocabulary.load(tmp_path / "pieces.json") == pieces
