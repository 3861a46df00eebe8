"""textgen's data sources: the user's files and folders, TFDS, bad data."""

import pytest
import tensorflow as tf

from apps.textgen import config as cfg
from apps.textgen import data
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("textgen")


def test_user_files_and_folders(tmp_path):
    text = (data.EMBEDDED.read_text()[:30_000]).replace("HAMLET", "HAMLÉT")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text(text[:15_000])
    (tmp_path / "docs" / "b.txt").write_text(text[15_000:])
    train, val = data.load_text(cfg.DataConfig(source=f"file:{tmp_path / 'docs'}"))
    assert len(train) + len(val) == 30_002 and "É" in train + val
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--data",
        f"file:{tmp_path / 'docs'}",
        "--cell",
        "elman",
        "--run-dir",
        tmp_path / "r",
        "--quiet",
        "--epochs",
        1,
    )
    assert result.exit_code == 0, result.output
    assert "É" in data.Vocab.load(tmp_path / "r").ids


def test_tfds_source(tmp_path):
    import tensorflow_datasets as tfds

    text = data.EMBEDDED.read_text()[:5000]

    def as_dataset(builder, split, *args, **kwargs):
        part = text[:4000] if split == "train" else text[4000:]
        return tf.data.Dataset.from_tensors({"text": tf.constant(part)})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        train, val = data.load_text(cfg.DataConfig(source="tfds:tiny_shakespeare"))
    assert (train, val) == (text[:4000], text[4000:])


@pytest.mark.parametrize(
    "setup, data_arg, message",
    [
        (None, "file:{tmp}/missing.txt", "no such file or folder"),
        (b"", "file:{tmp}/f.txt", "holds no text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "file:{tmp}/f.txt", "binary file"),
        ("é".encode("latin-1") * 2000, "file:{tmp}/f.txt", "not UTF-8 text (byte 0: 0xe9)"),
        (b"short text", "file:{tmp}/f.txt", "too short: 10 characters"),
        (None, "ftp:x", "unknown --data 'ftp:x'"),
        (None, "tfds:tiny_shakespeare", "is not prepared under {tmp}/nodata"),
        (None, "tfds:imdb", "unknown TFDS text data set 'imdb'"),
    ],
)
def test_bad_data_is_a_one_line_usage_error(tmp_path, setup, data_arg, message):
    if setup is not None:
        (tmp_path / "f.txt").write_bytes(setup)
    args = ["train", "--preset", "tiny", "--run-dir", tmp_path / "r"]
    args += ["--data", data_arg.format(tmp=tmp_path), "--data-dir", tmp_path / "nodata"]
    result = invoke(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message.format(tmp=tmp_path) in lines[0]
    assert not (tmp_path / "r").exists()
