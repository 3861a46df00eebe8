"""caption's data: the vocabulary, COCO and Flickr8k files, TFDS, bad data."""

import json
from pathlib import Path

import tensorflow as tf

from apps.caption import config as cfg
from apps.caption import data, features
from rnnkit.testing import cli as rcli
from rnnkit.testing.datafiles import write_coco, write_images

invoke = rcli.invoker("caption")


def test_vocabulary_round_trip_unknown_words_and_min_count(tmp_path):
    vocab = data.Vocabulary.build(["A dog runs.", "a dog sits", "the cat"], min_count=2)
    assert vocab.tokens == ["<pad>", "<start>", "<end>", "<unk>", "a", "dog"]
    row = vocab.encode("A dog, a CAT!", max_length=6)
    assert row.tolist() == [1, 4, 5, 4, 3, 2, 0, 0]
    assert vocab.decode(row[1:]) == "a dog a <unk>"
    assert vocab.encode("a dog a dog a dog", max_length=3).tolist() == [1, 4, 5, 4, 2]
    vocab.save(tmp_path / "v.txt")
    assert data.Vocabulary.load(tmp_path / "v.txt").tokens == vocab.tokens


def test_coco_reader_keeps_every_reference_and_finds_the_images(tmp_path):
    path = write_coco(tmp_path)
    examples = data.read_coco(path)
    assert len(examples) == 12
    first = examples[0]
    assert first.image == str(tmp_path / "val2017" / "im0.png")
    assert first.references == (
        "a red square number 0",
        "a red square number 1",
        "a red square number 2",
    )
    pixels = features.images(examples[:2], cfg.ModelConfig(channels=3))
    assert pixels.shape == (2, 32, 128, 3) and 0 <= pixels.min() <= pixels.max() <= 1


def test_flickr_readers_token_file_and_csv(tmp_path):
    names = write_images(tmp_path / "Flicker8k_Dataset", 3)
    lines = [f"{n}#{k}\tA dog number {k} ." for n in names for k in range(5)]
    (tmp_path / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    examples = data.read_flickr(tmp_path)
    assert [Path(e.image).name for e in examples] == sorted(names)
    assert examples[0].references[4] == "a dog number 4"
    other = tmp_path / "kaggle"
    names = write_images(other / "Images", 2)
    rows = ["image,caption"] + [f'{n},"A cat, sitting {k}."' for n in names for k in range(2)]
    (other / "captions.txt").write_text("\n".join(rows))
    examples = data.read_flickr(other)
    assert len(examples) == 2 and examples[1].references == ("a cat sitting 0", "a cat sitting 1")


def test_train_on_coco_and_evaluate_on_flickr(tmp_path):
    path = write_coco(tmp_path / "coco", n=20)
    run = tmp_path / "run"
    result = invoke(
        "train", "--preset", "tiny", "--data", f"coco:{path}", "--run-dir", run, "--quiet"
    )
    assert result.exit_code == 0, result.output
    vocab = (run / data.VOCAB_FILE).read_text().split()
    assert {"red", "green", "blue", "square"} <= set(vocab)
    names = write_images(tmp_path / "flickr" / "Images", 3, seed=5)
    rows = ["image,caption"] + [f"{n},a red square number 1" for n in names]
    (tmp_path / "flickr" / "captions.txt").write_text("\n".join(rows))
    result = invoke("evaluate", run, "--data", f"flickr:{tmp_path / 'flickr'}", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 3 and report["data"].startswith("flickr:")


def test_bad_caption_data_are_one_line_usage_errors(tmp_path):
    good = write_coco(tmp_path / "c")
    coco = json.loads(good.read_text())
    cases = {}
    (tmp_path / "notjson.json").write_text("{nope")
    cases["notjson.json"] = "is not a JSON file"
    (tmp_path / "noimages.json").write_text(json.dumps({"annotations": []}))
    cases["noimages.json"] = "needs 'images' and 'annotations'"
    missing = dict(coco, images=coco["images"] + [{"id": 999, "file_name": "gone.png"}])
    missing["annotations"] = coco["annotations"] + [{"image_id": 999, "caption": "x"}]
    cases["missing.json"] = "'gone.png' not found"
    unknown = dict(coco, annotations=coco["annotations"] + [{"image_id": 5, "caption": "x"}])
    cases["unknown.json"] = "is for image 5, not in 'images'"
    empty = dict(coco, annotations=coco["annotations"] + [{"image_id": 100, "caption": " . "}])
    cases["empty.json"] = "caption is empty"
    for name, content in [
        ("missing.json", missing),
        ("unknown.json", unknown),
        ("empty.json", empty),
    ]:
        (good.parent / name).write_text(json.dumps(content))
    for name, message in cases.items():
        path = good.parent / name if (good.parent / name).exists() else tmp_path / name
        result = invoke(
            "train",
            "--preset",
            "tiny",
            "--data",
            f"coco:{path}",
            "--run-dir",
            tmp_path / f"run-{name}",
            "--quiet",
        )
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert not (tmp_path / f"run-{name}").exists()  # nothing half-made is left
    flickr = tmp_path / "f"
    write_images(flickr / "Images", 1)
    (flickr / "Flickr8k.token.txt").write_text("im0.png#0\ta cat\nim0.png a dog without a tab\n")
    result = invoke("train", "--preset", "tiny", "--data", f"flickr:{flickr}", "--quiet")
    assert result.exit_code == 2 and "line 2: expected NAME.jpg#N<TAB>caption" in result.output


def test_a_bad_image_file_in_caption_data_is_named_at_load(tmp_path):
    good = write_coco(tmp_path / "c")
    folder = good.parent.parent / "val2017"
    whole = folder / "im0.png"
    png = whole.read_bytes()
    jpeg = tf.io.encode_jpeg(tf.zeros([8, 8, 3], tf.uint8)).numpy()
    (folder / "big.jpg").write_bytes(jpeg)
    cases = {
        "empty": (b"", "is empty"),
        "text": (b"not an image at all", "is not a PNG, JPEG, GIF or BMP image"),
        "short-png": (png[: len(png) // 2], "cannot be decoded (cut short or damaged)"),
        "short-jpeg": (jpeg[: len(jpeg) - 40], "cannot be decoded (cut short or damaged)"),
    }
    for name, (contents, message) in cases.items():
        whole.write_bytes(contents)
        run = tmp_path / f"run-{name}"
        result = invoke(
            "train", "--preset", "tiny", "--data", f"coco:{good}", "--run-dir", run, "--quiet"
        )
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and "im0.png" in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1 and not run.exists()
    whole.write_bytes(png)
    data.check_image_file(str(whole), "here")  # whole files pass
    data.check_image_file(str(folder / "big.jpg"), "here")
    (folder / "tail.jpg").write_bytes(jpeg + b"trailing bytes a camera appended" * 4)
    data.check_image_file(str(folder / "tail.jpg"), "here")  # decodable: passes


def test_tfds_coco_captions_not_prepared_is_a_clear_error(tmp_path):
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--data",
        "tfds:coco_captions",
        "--quiet",
        "--run-dir",
        tmp_path / "r",
    )
    assert result.exit_code == 2
    assert "is not prepared" in result.output and "tfds build coco_captions" in result.output
