"""classify's text in the graph: the same ids in training and serving, every text a word."""

import numpy as np

from apps.classify import features
from rnnkit.text import PAD_ID, UNK_ID, Vocabulary


def test_encode_lowercases_splits_cuts_and_gives_empty_texts_one_unknown_word():
    vocab = features.build_vocabulary(["A fine film.", "A dull, DULL film!"], 50)
    assert "dull" in vocab.index and "DULL" not in vocab.index
    encoder = features.Encoder(vocab, max_words=3)
    ids, tokens = encoder(["A DULL film, really", "", "Ünïcode Film"])
    assert ids.shape == (3, 3)
    assert [vocab.words[i] for i in ids[0]] == ["a", "dull", "film"]
    assert ids[1].tolist() == [UNK_ID, PAD_ID, PAD_ID]
    assert tokens[2].tolist() == ["ünïcode".encode(), b"film", b""]
    assert ids[2].tolist() == [UNK_ID, vocab.index["film"], PAD_ID]
    # Batches of any size give the same rows.
    one_by_one = np.concatenate([encoder([t])[0][:, :1] for t in ["A DULL film, really", ""]])
    assert one_by_one[:, 0].tolist() == ids[:2, 0].tolist()


def test_subword_pieces_spell_unseen_words():
    texts = ["the film is wonderful", "a wonderfully dull film", "films and more films"] * 5
    vocab = features.build_vocabulary(texts, 60, subwords=True)
    assert vocab.subwords
    ids, tokens = features.Encoder(vocab, max_words=20)(["Wonderfilms"])
    assert UNK_ID not in ids[0]
    pieces = [t.decode() for t in tokens[0] if t]
    assert "".join(p.removeprefix("##") for p in pieces) == "wonderfilms"


def test_run_files_round_trip_and_bad_class_lists_are_errors(tmp_path):
    import pytest

    from rnnkit.errors import InputError

    Vocabulary(("<pad>", "<unk>", "<s>", "</s>", "film")).save(tmp_path / features.VOCAB)
    features.save_classes(tmp_path / features.CLASSES, ["negative", "positive"])
    vocab, classes = features.load_run_files(tmp_path)
    assert classes == ["negative", "positive"] and vocab.words[-1] == "film"
    for bad in ('{"classes": ["a"]}', '{"classes": ["a", "a"]}', "[1, 2]", "{"):
        (tmp_path / features.CLASSES).write_text(bad)
        with pytest.raises(InputError, match="is not a class list"):
            features.load_classes(tmp_path / features.CLASSES)
    assert features.ordered_classes(["10", "2", "1"]) == ["1", "2", "10"]
    assert features.ordered_classes(["pos", "neg"]) == ["neg", "pos"]
