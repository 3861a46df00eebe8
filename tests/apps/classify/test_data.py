"""classify's data: the embedded split by movie, a user's CSV, and bad files as one line."""

import collections
import csv
import io
import lzma

import pytest

from apps.classify import data
from rnnkit.errors import InputError


def _write(path, rows, header=("text", "label")):
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_the_embedded_snippets_split_80_10_10_by_movie_and_stratified():
    parts = data.load("embedded")
    sizes = {k: len(v) for k, v in parts.items()}
    total = sum(sizes.values())
    assert total == 12752
    assert abs(sizes["test"] / total - 0.1) < 0.01 and abs(sizes["validation"] / total - 0.1) < 0.01
    raw = lzma.decompress(data.EMBEDDED.read_bytes()).decode()
    movie_of = {r["text"]: r["movie"] for r in csv.DictReader(io.StringIO(raw))}
    movies = {k: {movie_of[t] for t in v.texts} for k, v in parts.items()}
    assert not movies["train"] & movies["test"] and not movies["train"] & movies["validation"]
    assert not movies["validation"] & movies["test"]
    shares = {
        k: collections.Counter(v.labels)["positive"] / len(v) for k, v in parts.items()
    }  # 57.8% positive overall
    assert max(shares.values()) - min(shares.values()) < 0.02, shares
    assert set(parts["train"].labels) == {"positive", "negative"}
    assert data.load("embedded") == parts  # the same on every call (and machine)


def test_a_users_csv_with_three_classes_and_other_columns(tmp_path):
    rows = [(f"text number {k} is {c}", c) for k in range(20) for c in ("bad", "good", "meh")]
    path = _write(tmp_path / "three.csv", rows)
    parts = data.load(f"csv:{path}")
    assert sum(len(p) for p in parts.values()) == 60
    assert set(parts["train"].labels) == {"bad", "good", "meh"}
    other = _write(tmp_path / "other.csv", [(c, t) for t, c in rows], header=("y", "review"))
    found = data.load(f"csv:{other}", text_column="review", label_column="y")
    assert found == parts


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "is empty"),
        (b"text,label\n", "holds no labelled rows"),
        (b"review,label\nfine,good\n", "no column 'text'"),
        (b"text,label\n,good\n", ":2: the text ('text') is empty"),
        (b"text,label\nfine,\n", ":2: the label ('label') is empty"),
        (b"text,label\nfine,good\nnice\n", ":3: 1 columns, the header has 2"),
        (b"text,label\nfine,good\nna\xefve,bad\n", ":3: not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\0\0\0IHDR", "binary"),
    ],
)
def test_bad_csv_files_are_one_line_naming_the_problem(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=None) as raised:
        data.load(f"csv:{path}")
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_one_class_only_and_too_few_texts_are_errors(tmp_path):
    one = _write(tmp_path / "one.csv", [(f"text {k}", "good") for k in range(30)])
    with pytest.raises(InputError, match="at least two classes; every training label is 'good'"):
        data.load(f"csv:{one}")
    few = _write(tmp_path / "few.csv", [("a", "x"), ("b", "y")])
    with pytest.raises(InputError, match="at least 10 different texts"):
        data.load(f"csv:{few}")
    with pytest.raises(InputError, match="--data is embedded, csv:PATH or tfds:NAME"):
        data.load("imdb")
    with pytest.raises(InputError, match="no such file"):
        data.load(f"csv:{tmp_path / 'none.csv'}")


def test_tfds_sets_are_never_downloaded(tmp_path):
    with pytest.raises(InputError, match="is not prepared under"):
        data.load("tfds:imdb_reviews", data_dir=str(tmp_path))


def test_a_tfds_set_gives_its_class_names_and_holds_out_a_tenth(tmp_path):
    import tensorflow as tf
    import tensorflow_datasets as tfds

    rows = {
        "train": [(f"review number {k}", k % 2) for k in range(200)],
        "test": [("a fine film", 1), ("dreadful", 0)],
    }

    def as_dataset(builder, split, *args, **kwargs):
        texts, labels = zip(*rows[split])
        return tf.data.Dataset.from_tensor_slices(
            {"text": list(texts), "label": tf.constant(labels, tf.int64)}
        )

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        parts = data.load("tfds:imdb_reviews", data_dir=str(tmp_path))
    assert parts["test"] == data.Labelled(("a fine film", "dreadful"), ("pos", "neg"))
    assert len(parts["train"]) + len(parts["validation"]) == 200
    assert 5 < len(parts["validation"]) < 40
    assert not set(parts["train"].texts) & set(parts["validation"].texts)
