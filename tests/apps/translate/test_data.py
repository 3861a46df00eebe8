"""translate's data: the embedded Ding pairs, users' TSV files, the split by source entry."""

import pytest

from apps.translate import data
from rnnkit.errors import InputError


@pytest.fixture(scope="module")
def embedded():
    return data.load_embedded("de-en", phrases=True)


def test_the_embedded_pairs_split_90_5_5_by_entry_with_phrases_in_training(embedded):
    sentences = {s: sum(p.kind == "sentence" for p in embedded[s]) for s in data.SPLITS}
    total = sum(sentences.values())
    assert 18_000 < total < 21_000
    assert 0.88 < sentences["train"] / total < 0.92
    assert 0.04 < sentences["test"] / total < 0.06 and 0.04 < sentences["validation"] / total < 0.06
    assert {p.kind for p in embedded["train"]} == {"sentence", "phrase"}
    assert {p.kind for s in ("validation", "test") for p in embedded[s]} == {"sentence"}
    # No source, and no reference set, is on two sides of the split.
    sources = {split: {p.source for p in embedded[split]} for split in data.SPLITS}
    assert not sources["train"] & sources["test"]
    assert not sources["train"] & sources["validation"]
    assert not sources["validation"] & sources["test"]
    without = data.load_embedded("de-en", phrases=False)
    assert {p.kind for p in without["train"]} == {"sentence"}
    assert [p.source for p in without["test"]] == [p.source for p in embedded["test"]]


def test_single_words_join_training_only():
    found = data.load_embedded("de-en", phrases=False, single_words=True)
    words = [p for p in found["train"] if p.kind == "word"]
    assert 250_000 < len(words) < 320_000  # a pair for each German synonym
    # An entry's first German synonym is one word; its other synonyms may be more.
    assert sum(len(p.source.split()) == 1 for p in words) > 0.9 * len(words)
    assert {p.kind for s in ("validation", "test") for p in found[s]} == {"sentence"}
    hell = [set(p.references) for p in words if p.source == "Hölle"]
    assert {"hell"} in hell and any("inferno" in references for references in hell)
    # The words are not held out: no test sentence changes.
    plain = data.load_embedded("de-en", phrases=False)
    assert [p.source for p in found["test"]] == [p.source for p in plain["test"]]


def test_synonyms_are_references_and_both_directions_agree(embedded):
    several = [p for p in embedded["train"] if len(p.references) > 1 and p.kind == "sentence"]
    assert len(several) > 500
    reverse = data.load_embedded("en-de", phrases=False)
    german = {p.source for s in data.SPLITS for p in embedded[s] if p.kind == "sentence"}
    english_side = {r for s in data.SPLITS for p in reverse[s] for r in p.references}
    assert len(german & english_side) > 0.9 * len(german)  # en-de's references are German


def test_variants_expand_optional_words_and_alternatives():
    assert data.variants("Das kommt (überhaupt) nicht infrage!") == [
        "Das kommt nicht infrage!",
        "Das kommt überhaupt nicht infrage!",
    ]
    assert data.variants("his final/last appearance.") == [
        "his final appearance.",
        "his last appearance.",
    ]
    assert data.variants("Plain.") == ["Plain."]


def test_a_users_tsv_groups_references_by_source(tmp_path):
    path = tmp_path / "pairs.tsv"
    rows = [
        f"Satz {i}.\tSentence {i}.\tCC-BY 2.0 (France) Attribution: tatoeba.org" for i in range(200)
    ]
    rows += ["Hallo.\tHello.", "Hallo.\tHi.", "Hallo.\tHello."]
    path.write_text("\n".join(rows) + "\n")
    parts = data.read_tsv(path)
    everything = [p for s in data.SPLITS for p in parts[s]]
    assert len(everything) == 201
    [hello] = [p for p in everything if p.source == "Hallo."]
    assert hello.references == ("Hello.", "Hi.")
    assert 150 < len(parts["train"]) < 200 and parts["test"]
    assert data.read_tsv(path) == parts  # the same split every time


@pytest.mark.parametrize(
    "content, words",
    [
        (b"Hallo Hello\n", "pairs.tsv:1: no tab between the source and the target"),
        (b"Hallo.\tHello.\n\t Hi.\n", "pairs.tsv:2: the source is empty"),
        (b"Hallo.\t  \n", "pairs.tsv:1: the target is empty"),
        (b"Hallo.\tHello.\nGr\xfc\xdfe\tGreetings\n", "pairs.tsv:2: not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is binary"),
        (b"x\t" + b"y" * 3000 + b"\n", "pairs.tsv:1: 3002 characters, over the limit"),
        (b"\n\n", "holds no pairs"),
    ],
    ids=["no-tab", "empty-source", "empty-target", "latin-1", "binary", "long", "empty"],
)
def test_bad_tsv_files_are_one_line_naming_the_line(tmp_path, content, words):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words.replace("(", r"\(")):
        data.read_tsv(path)
    with pytest.raises(InputError, match="no such file"):
        data.read_tsv(tmp_path / "nothing.tsv")


ROWS = {
    "train": [("olá", "hello"), ("olá", "hi"), ("obrigado", "thanks"), ("sim", "")],
    "validation": [("não", "no")],
    "test": [("bom dia", "good morning")],
}


def _mocked(rows, languages):
    import tensorflow as tf

    def as_dataset(builder, split, *args, **kwargs):
        a, b = zip(*rows[split])
        return tf.data.Dataset.from_tensor_slices(dict(zip(languages, (list(a), list(b)))))

    return as_dataset


def test_a_tfds_translation_set_keeps_its_splits_and_its_languages(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(as_dataset_fn=_mocked(ROWS, ("pt", "en"))):
        parts = data.load("tfds:ted_hrlr_translate/pt_to_en", data_dir=str(tmp_path))
        limited = data.load("tfds:ted_hrlr_translate/pt_to_en", data_dir=str(tmp_path), limit=1)
    assert parts["train"] == [data.Pair("olá", ("hello", "hi")), data.Pair("obrigado", ("thanks",))]
    assert parts["validation"] == [data.Pair("não", ("no",))]
    assert parts["test"] == [data.Pair("bom dia", ("good morning",))]
    assert limited["train"] == [data.Pair("olá", ("hello",))] and limited["test"] == parts["test"]
    # A German-English set turns around with the direction.
    with tfds.testing.mock_data(as_dataset_fn=_mocked(ROWS, ("de", "en"))):
        back = data.load("tfds:wmt14_translate/de-en", "en-de", data_dir=str(tmp_path))
    assert back["test"] == [data.Pair("good morning", ("bom dia",))]


def test_tfds_problems_are_one_line(tmp_path):
    from rnnkit.testing import cli as rcli

    args = ["train", "--preset", "tiny", "--run-dir", tmp_path / "r", "--data-dir", tmp_path]
    rcli.usage_error(
        rcli.invoke("translate", *args, "--data", "tfds:ted_hrlr_translate/pt_to_en"),
        "is not prepared under",
    )
    rcli.usage_error(
        rcli.invoke("translate", *args, "--data", "tfds:ted_hrlr_translate"),
        "name the languages in the config",
    )
    assert not (tmp_path / "r").exists()
