"""caption: strips, vocabulary, scores, decoding, the CLI end to end, export."""

import dataclasses
import json
import math
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.caption import config as cfg
from apps.caption import data, decoding, features, metrics, strips, train
from apps.caption.model import build_model
from rnnkit.layers import BahdanauAttention
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing import snapshot
from rnnkit.testing.distribute import train_mirrored
from rnnkit.testing.serving import saved_model_cli_run

invoke = rcli.invoker("caption")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return rcli.train("caption", tmp_path_factory.mktemp("caption") / "run", steps=8)


@pytest.fixture(scope="module")
def saved_model(run_dir, tmp_path_factory):
    return rcli.export("caption", run_dir, tmp_path_factory.mktemp("saved") / "caption")


# -- the embedded data ---------------------------------------------------------------------


def test_a_strip_holds_its_digits_left_to_right():
    images, labels = strips.digit_images()
    indices = strips.split_indices("train")
    strip = strips.compose(indices, np.random.default_rng(3), digits=[6, 5, 2, 0])
    assert strip.digits == (6, 5, 2, 0)
    assert strip.caption == "six five two zero"
    assert strip.image.shape[0] == strips.HEIGHT and strip.image.dtype == np.uint8
    lefts = [left for left, _ in strip.boxes]
    assert lefts == sorted(lefts)
    for (_, right), (next_left, _) in zip(strip.boxes, strip.boxes[1:]):
        assert right <= next_left  # digits do not overlap
    # Every digit's columns hold ink, brighter than the margin before the first.
    for left, right in strip.boxes:
        assert strip.image[:, left:right].max() > 120
    ink = np.concatenate([strip.image[:, a:b].ravel() for a, b in strip.boxes])
    assert ink.mean() > strip.image[:, : strip.boxes[0][0]].mean()


def test_random_strips_caption_what_they_draw():
    made = strips.strips("train", 50, seed=1, max_digits=5)
    assert {len(s.digits) for s in made} == {1, 2, 3, 4, 5}
    for s in made:
        assert s.caption.split() == [strips.WORDS[d] for d in s.digits]
        assert len(s.boxes) == len(s.digits)


def test_same_seed_same_strips_and_each_epoch_new_ones():
    a = strips.strips("train", 5, seed=4)
    b = strips.strips("train", 5, seed=4)
    c = strips.strips("train", 5, seed=5)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.image, y.image)
        assert x.caption == y.caption
    assert any(x.image.shape != z.image.shape or (x.image != z.image).any() for x, z in zip(a, c))


def test_training_strips_are_drawn_wider_and_composed_ahead():
    config = cfg.PRESETS["tiny"]
    plain = dataclasses.replace(config.data, augment=False)
    wide = data.train_examples(config.data, epoch=1)
    same = data.train_examples(plain, epoch=1)
    # Drawn with the wider style (gaps up to 9, noise up to 40) instead of
    # the test strips' own.
    drawn = dataclasses.replace(config.data, style=cfg.WIDE_STYLE)
    for a, b in zip(wide, data.digit_examples(drawn, "train", config.data.strips, seed=1)):
        np.testing.assert_array_equal(a.image, b.image)
    assert any(a.image.shape != b.image.shape for a, b in zip(wide, same))
    plain_test = data.load(plain)["test"]
    for a, b in zip(data.load(config.data)["test"], plain_test):
        np.testing.assert_array_equal(a.image, b.image)  # test strips keep `style`
    vocab = data.Vocabulary.build([r for e in wide for r in e.references])
    epochs = train.EpochStrips(config, vocab)
    pixels, index, tokens = epochs(0)
    assert set(epochs._made) == {0, 1}  # the next epoch is under way
    pixels1, index1, tokens1 = epochs(1)
    want_index, want_tokens = data.pairs(wide, vocab, config.data)
    np.testing.assert_array_equal(pixels1, features.images(wide, config.model))
    np.testing.assert_array_equal(tokens1, want_tokens)
    assert set(epochs._made) == {1}  # tiny trains 2 epochs: nothing after the last
    assert not np.array_equal(pixels[: len(pixels1)], pixels1[: len(pixels)])


def test_elastic_distortion_moves_ink_smoothly_and_keeps_it():
    images, _ = strips.digit_images()
    glyph = images[0].astype(np.float32)
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(strips._elastic(glyph, rng, 0.0), glyph, atol=1e-4)
    moved = strips._elastic(glyph, rng, 34.0)
    assert np.abs(moved - glyph).mean() > 5  # the strokes moved
    assert abs(moved.sum() / glyph.sum() - 1) < 0.2  # about the same ink
    with pytest.raises(ValueError, match="elastic"):
        cfg.StripStyle(elastic=-1.0)


def test_splits_use_disjoint_digit_images():
    parts = {s: set(strips.split_indices(s).tolist()) for s in strips.SPLITS}
    assert not parts["train"] & parts["test"]
    assert not parts["train"] & parts["validation"]
    assert not parts["validation"] & parts["test"]
    assert sum(len(p) for p in parts.values()) == 5000
    _, labels = strips.digit_images()
    assert np.bincount(labels[sorted(parts["test"])]).tolist() == [50] * 10


def test_preprocess_keeps_the_aspect_and_pads_to_the_model_input():
    model = cfg.ModelConfig(height=32, width=128, channels=1)
    narrow = np.full((32, 40, 1), 255, np.uint8)
    out = features.preprocess(narrow, model).numpy()
    assert out.shape == (32, 128, 1)
    assert out[:, 44:84].min() == pytest.approx(1.0) and out[:, :40].max() == 0.0
    wide = np.full((64, 256, 3), 255, np.uint8)  # RGB, twice the size: halved
    out = features.preprocess(wide, model).numpy()
    assert out.shape == (32, 128, 1) and out.min() == pytest.approx(1.0, abs=1e-3)
    rgb = features.preprocess(np.zeros((10, 10, 1), np.uint8), cfg.ModelConfig(channels=3))
    assert rgb.shape == (32, 128, 3)


# -- vocabulary and scores -----------------------------------------------------------------


def test_vocabulary_round_trip_unknown_words_and_min_count(tmp_path):
    vocab = data.Vocabulary.build(["A dog runs.", "a dog sits", "the cat"], min_count=2)
    assert vocab.tokens == ["<pad>", "<start>", "<end>", "<unk>", "a", "dog"]
    row = vocab.encode("A dog, a CAT!", max_length=6)
    assert row.tolist() == [1, 4, 5, 4, 3, 2, 0, 0]
    assert vocab.decode(row[1:]) == "a dog a <unk>"
    assert vocab.encode("a dog a dog a dog", max_length=3).tolist() == [1, 4, 5, 4, 2]
    vocab.save(tmp_path / "v.txt")
    assert data.Vocabulary.load(tmp_path / "v.txt").tokens == vocab.tokens


def test_bleu_against_hand_computed_values():
    # One image, hypothesis "a b c d", references "a b c e" and "a b x d".
    # Clipped precisions: 1-grams 4/4, 2-grams 2/3 (ab, bc), 3-grams 1/2 (abc),
    # 4-grams 0/1; lengths equal, so no brevity penalty.
    found = metrics.bleu(["a b c d"], [["a b c e", "a b x d"]])
    assert found["bleu1"] == pytest.approx(1.0)
    assert found["bleu2"] == pytest.approx(math.sqrt(2 / 3))
    assert found["bleu3"] == pytest.approx((2 / 3 * 1 / 2) ** (1 / 3))
    assert found["bleu4"] == pytest.approx(0.0, abs=1e-9)
    # Brevity: "a b" against "a b c d": precisions 1, BP = exp(1 - 4/2).
    assert metrics.bleu(["a b"], [["a b c d"]])["bleu2"] == pytest.approx(math.exp(-1))
    # Captions shorter than n words hold no n-grams, and miss none: perfect
    # captions of 1-3 words score 1 (NLTK's corpus_bleu gives less).
    perfect = metrics.bleu(
        ["a", "a b", "a b c", "d e f g"], [["a"], ["a b"], ["a b c"], ["d e f g"]]
    )
    assert perfect == pytest.approx({"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0})
    # Images with different numbers of references.
    found = metrics.bleu(["a b", "c d"], [["x y", "a b", "z"], ["c d"]])
    assert found["bleu2"] == pytest.approx(1.0)


def test_cider_d_against_hand_computed_values():
    # Two images. Image 1: hyp "a b", refs ["a b"]; image 2: hyp "c", refs ["c d"].
    # Document frequencies: every n-gram occurs in one image's references, so
    # every weight is tf * log(2); an n-gram absent from the references
    # weighs 0. Image 1: cosine 1 for n = 1, 2 (n = 3, 4 empty), no length
    # penalty: 10 * (1 + 1) / 4 = 5. Image 2: n = 1: hyp {c}, ref {c, d}:
    # min(w, w) * w / (|h| |r|) = 1 / sqrt(2); bigram lengths 0 and 1:
    # penalty exp(-1 / 72); 10 * exp(-1/72) / sqrt(2) / 4.
    found = metrics.cider_d(["a b", "c"], [["a b"], ["c d"]])
    second = 10 * math.exp(-1 / 72) / math.sqrt(2) / 4
    assert found == pytest.approx((5 + second) / 2)
    assert metrics.exact_match(["a b", "c"], [["a b"], ["c d"]]) == 0.5


# -- model and decoding --------------------------------------------------------------------


def test_attention_weights_sum_to_one_and_masked_values_get_none():
    attention = BahdanauAttention(8)
    values = keras.random.normal((3, 12, 5), seed=1)
    mask = np.ones((3, 12), bool)
    mask[1, 4:] = False
    context, weights = attention(keras.random.normal((3, 7), seed=2), values, values_mask=mask)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, rtol=1e-5)
    assert np.asarray(weights)[1, 4:].max() == 0.0
    expected = np.einsum("bn,bnd->bd", np.asarray(weights), np.asarray(values))
    np.testing.assert_allclose(np.asarray(context), expected, rtol=1e-5, atol=1e-6)
    config = json.loads(json.dumps(attention.get_config()))
    assert BahdanauAttention.from_config(config).units == 8


def test_captioner_attention_sums_to_one_per_step():
    model = build_model(cfg.PRESETS["tiny"].model, 14, seed=0)
    out = model(
        {"image": np.random.rand(2, 32, 128, 1).astype("float32"), "tokens": np.ones((2, 5), int)}
    )
    assert out["logits"].shape == (2, 4, 14)
    np.testing.assert_allclose(np.asarray(out["attention"]).sum(-1), 1.0, rtol=1e-5)


class _Chain:
    """A stand-in decoder whose next-word probabilities depend on the last word only.

    From ``<start>``: A 0.6, B 0.4. After A: ``<end>`` 0.3 and 0.1 for each
    of seven other words. After B: ``<end>`` 0.9. Greedy writes "A" then
    ``<end>`` (0.6 * 0.3 = 0.18); the best caption is "B" (0.4 * 0.9 = 0.36).
    """

    vocab_size, grid_size = 12, 2

    def __init__(self):
        table = np.full((12, 12), 1e-6)
        table[1, 4], table[1, 5] = 0.6, 0.4
        table[4, 2] = 0.3
        table[4, 5:12] = 0.1
        table[5, 2] = 0.9
        table[5, 6] = 0.1
        table[:, 0] = 1e-9
        table[[0, 2, 3, 6, 7, 8, 9, 10, 11]] = 0
        table[[0, 2, 3, 6, 7, 8, 9, 10, 11], 2] = 1.0
        self.logits = tf.constant(np.log(table / table.sum(1, keepdims=True) + 1e-12), tf.float32)

    def encode(self, images):
        batch = tf.shape(images)[0]
        return tf.zeros([batch, 2, 1]), tf.zeros([batch, 2, 1]), [tf.zeros([batch, 1])]

    def step(self, token, state, features, keys):
        weights = tf.fill([tf.shape(token)[0], 2], 0.5)
        return tf.gather(self.logits, token), state, weights


def test_beam_search_finds_a_better_caption_than_greedy():
    model, images = _Chain(), tf.zeros([2, 1])
    greedy = decoding.greedy(model, images, max_length=4)
    beam = decoding.beam_search(model, images, max_length=4, width=3, alpha=0.0)
    assert greedy["tokens"].numpy()[0].tolist() == [4, 2]
    assert greedy["score"].numpy()[0] == pytest.approx(math.log(0.18), abs=1e-3)
    assert beam["tokens"].numpy()[0, : beam["length"][0]].tolist() == [5, 2]
    assert beam["score"].numpy()[0] == pytest.approx(math.log(0.36), abs=1e-3)
    words = ["<pad>", "<start>", "<end>", "<unk>", "a", "b", *"cdefgh"]
    assert decoding.captions(beam["tokens"], words).numpy().tolist() == [b"b", b"b"]


def test_beam_of_width_one_is_greedy():
    model = build_model(cfg.PRESETS["tiny"].model, 14, seed=3)
    images = tf.random.uniform([5, 32, 128, 1], seed=1)
    greedy = decoding.greedy(model, images, max_length=6)
    beam = decoding.beam_search(model, images, max_length=6, width=1)
    np.testing.assert_array_equal(greedy["tokens"].numpy(), beam["tokens"].numpy())
    np.testing.assert_allclose(greedy["score"].numpy(), beam["score"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(greedy["attention"].numpy(), beam["attention"].numpy(), atol=1e-6)
    np.testing.assert_array_equal(greedy["length"].numpy(), beam["length"].numpy())


# -- the CLI end to end --------------------------------------------------------------------


def test_train_writes_the_run_directory(run_dir):
    assert (run_dir / "config.json").is_file()
    assert (run_dir / data.VOCAB_FILE).read_text().split()[:4] == list(data.SPECIAL)
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert len(history) == 2 and "val_bleu4" in history[-1]


def test_tensorboard_holds_losses_bleu_and_the_attention_picture(run_dir):
    ea = EventAccumulator(str(run_dir / "tb" / "validation"))
    ea.Reload()
    assert {"loss", "bleu4"} <= set(ea.Tags()["tensors"])
    ea = EventAccumulator(str(run_dir / "tb" / "train"), size_guidance={"tensors": 0})
    ea.Reload()
    assert "loss" in ea.Tags()["tensors"]
    pictures = ea.Tensors("captions/validation")
    assert len(pictures) == 2  # one per epoch
    png = tf.make_ndarray(pictures[-1].tensor_proto)[2]
    assert png[:4] == b"\x89PNG"


def test_evaluate_scores_the_model_and_the_baselines(run_dir):
    result = invoke("evaluate", run_dir, "--json", "--beam", "2")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["models"]) == {
        "rnn_greedy",
        "rnn_beam",
        "nearest_neighbour",
        "nearest_neighbour_encoder",
        "most_frequent",
    }
    assert report["beam"] == 2 and report["images"] == 16
    for found in report["models"].values():
        assert set(found) == {"bleu1", "bleu2", "bleu3", "bleu4", "cider_d", "exact_match"}
        assert all(0 <= v <= 10 for v in found.values())


def test_compose_then_caption_with_json_and_plot(run_dir, tmp_path):
    result = invoke("compose", "652", "--out", tmp_path / "s.png", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "six five two" in result.output
    out = invoke("caption", run_dir, tmp_path / "s.png", "--json", "--plot", tmp_path / "p.png")
    assert out.exit_code == 0, out.output
    (row,) = json.loads(out.stdout)["captions"]
    # Words, then <end> (or the tiny preset's 3 words and one more step).
    assert row["tokens"][-1] == 2 or len(row["tokens"]) == 4
    assert row["score"] <= 0
    assert tf.io.decode_png((tmp_path / "p.png").read_bytes()).shape[0] > 50


def test_saved_model_warmup_and_saved_model_cli(saved_model, tmp_path):
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert {signature for signature, _ in records} == {"serving_default", "greedy"}
    loaded = tf.saved_model.load(str(saved_model))
    assert set(loaded.signatures) == {"serving_default", "beam", "greedy"}
    for outputs in layout.replay_warmup(loaded, saved_model / layout.WARMUP_FILE):
        assert {"caption", "tokens", "score", "attention", "length"} <= set(outputs)
    assert (saved_model / "assets" / "vocab.txt").is_file()
    invoke("compose", "31", "--out", tmp_path / "s.png")
    # A bytes literal with every byte escaped: no ';' or '=' for saved_model_cli to split on.
    png = "".join(f"\\x{b:02x}" for b in (tmp_path / "s.png").read_bytes())
    out = saved_model_cli_run(saved_model, "greedy", f"image=[b'{png}']")
    assert "caption" in out


def test_mixed_image_sizes_in_one_batch(saved_model, tmp_path):
    invoke("compose", "7", "--out", tmp_path / "a.png")
    invoke("compose", "40918", "--out", tmp_path / "b.png")
    loaded = tf.saved_model.load(str(saved_model))
    images = [(tmp_path / n).read_bytes() for n in ("a.png", "b.png")]
    both = loaded.signatures["serving_default"](image=tf.constant(images))
    for i, image in enumerate(images):
        alone = loaded.signatures["serving_default"](image=tf.constant([image]))
        assert alone["caption"].numpy()[0] == both["caption"].numpy()[i]
        assert alone["score"].numpy()[0] == pytest.approx(both["score"].numpy()[i], abs=1e-4)


def test_caption_with_the_saved_model_matches_the_run(saved_model, run_dir, tmp_path):
    invoke("compose", "285", "--out", tmp_path / "s.png")
    a = invoke("caption", run_dir, tmp_path / "s.png", "--json")
    b = invoke("caption", saved_model.parent, tmp_path / "s.png", "--json")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    (x,), (y,) = (json.loads(r.stdout)["captions"] for r in (a, b))
    assert x["caption"] == y["caption"] and x["tokens"] == y["tokens"]
    assert x["score"] == pytest.approx(y["score"], abs=1e-4)
    # A SavedModel's beam width is fixed at export: another one is named and ignored.
    c = invoke("caption", saved_model, tmp_path / "s.png", "--json", "--beam", "5")
    assert c.exit_code == 0 and json.loads(c.stdout)["captions"][0]["caption"] == x["caption"]
    assert "beam search has width 3" in c.stderr


def test_bad_images_are_one_line_usage_errors(run_dir, tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    invoke("compose", "12", "--out", tmp_path / "good.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "good.png").read_bytes()[:60])
    for name, message in [
        ("text.png", "not a PNG, JPEG, GIF or BMP"),
        ("empty.png", "is empty"),
        ("cut.png", "not a PNG, JPEG, GIF or BMP"),
        ("missing.png", "cannot read"),
    ]:
        result = invoke("caption", run_dir, tmp_path / name)
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    result = invoke("caption", run_dir, tmp_path / "good.png", "--beam", "0")
    assert result.exit_code == 2 and "--beam" in result.output


def test_mirrored_on_two_cpus_matches_one_replica(run_dir, tmp_path):
    train_mirrored("caption", tmp_path / "run")
    one, two = (json.loads((p / "metrics.json").read_text()) for p in (run_dir, tmp_path / "run"))
    for a, b in zip(one["history"], two["history"], strict=True):
        for key in ("loss", "val_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key


# -- the user's own data -------------------------------------------------------------------


def _write_images(folder, n, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        shape = (int(rng.integers(20, 60)), int(rng.integers(30, 90)), 3)
        pixels = tf.constant(rng.integers(0, 255, shape), tf.uint8)
        name = f"im{i}.jpg" if i % 2 else f"im{i}.png"
        encoded = tf.io.encode_jpeg(pixels) if i % 2 else tf.io.encode_png(pixels)
        (folder / name).write_bytes(encoded.numpy())
        names.append(name)
    return names


def _write_coco(root, n=12):
    names = _write_images(root / "val2017", n)
    colours = ["red", "green", "blue"]
    notes = []
    for i in range(n):
        for k in range(3):
            notes.append(
                {"image_id": 100 + i, "caption": f"A {colours[i % 3]} square, number {k}."}
            )
    coco = {
        "images": [{"id": 100 + i, "file_name": name} for i, name in enumerate(names)],
        "annotations": notes,
    }
    path = root / "annotations" / "captions_val2017.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco))
    return path


def test_coco_reader_keeps_every_reference_and_finds_the_images(tmp_path):
    path = _write_coco(tmp_path)
    examples = data.read_coco(path)
    assert len(examples) == 12
    first = examples[0]
    assert first.image == str(tmp_path / "val2017" / "im0.png")
    assert first.references == ("a red square number 0", "a red square number 1",
                                "a red square number 2")  # fmt: skip
    pixels = features.images(examples[:2], cfg.ModelConfig(channels=3))
    assert pixels.shape == (2, 32, 128, 3) and 0 <= pixels.min() <= pixels.max() <= 1


def test_flickr_readers_token_file_and_csv(tmp_path):
    names = _write_images(tmp_path / "Flicker8k_Dataset", 3)
    lines = [f"{n}#{k}\tA dog number {k} ." for n in names for k in range(5)]
    (tmp_path / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    examples = data.read_flickr(tmp_path)
    assert [Path(e.image).name for e in examples] == sorted(names)
    assert examples[0].references[4] == "a dog number 4"
    other = tmp_path / "kaggle"
    names = _write_images(other / "Images", 2)
    rows = ["image,caption"] + [f'{n},"A cat, sitting {k}."' for n in names for k in range(2)]
    (other / "captions.txt").write_text("\n".join(rows))
    examples = data.read_flickr(other)
    assert len(examples) == 2 and examples[1].references == ("a cat sitting 0", "a cat sitting 1")


def test_train_on_coco_and_evaluate_on_flickr(tmp_path):
    path = _write_coco(tmp_path / "coco", n=20)
    run = tmp_path / "run"
    result = invoke("train", "--preset", "tiny", "--data", f"coco:{path}", "--run-dir", run,
                    "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    vocab = (run / data.VOCAB_FILE).read_text().split()
    assert {"red", "green", "blue", "square"} <= set(vocab)
    names = _write_images(tmp_path / "flickr" / "Images", 3, seed=5)
    rows = ["image,caption"] + [f"{n},a red square number 1" for n in names]
    (tmp_path / "flickr" / "captions.txt").write_text("\n".join(rows))
    result = invoke("evaluate", run, "--data", f"flickr:{tmp_path / 'flickr'}", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 3 and report["data"].startswith("flickr:")


def test_bad_caption_data_are_one_line_usage_errors(tmp_path):
    good = _write_coco(tmp_path / "c")
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
    for name, content in [("missing.json", missing), ("unknown.json", unknown),
                          ("empty.json", empty)]:  # fmt: skip
        (good.parent / name).write_text(json.dumps(content))
    for name, message in cases.items():
        path = good.parent / name if (good.parent / name).exists() else tmp_path / name
        result = invoke("train", "--preset", "tiny", "--data", f"coco:{path}", "--run-dir",
                        tmp_path / f"run-{name}", "--quiet")  # fmt: skip
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert not (tmp_path / f"run-{name}").exists()  # nothing half-made is left
    flickr = tmp_path / "f"
    _write_images(flickr / "Images", 1)
    (flickr / "Flickr8k.token.txt").write_text("im0.png#0\ta cat\nim0.png a dog without a tab\n")
    result = invoke("train", "--preset", "tiny", "--data", f"flickr:{flickr}", "--quiet")
    assert result.exit_code == 2 and "line 2: expected NAME.jpg#N<TAB>caption" in result.output


def test_a_bad_image_file_in_caption_data_is_named_at_load(tmp_path):
    good = _write_coco(tmp_path / "c")
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
        result = invoke("train", "--preset", "tiny", "--data", f"coco:{good}", "--run-dir", run,
                        "--quiet")  # fmt: skip
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and "im0.png" in result.output, (name, result.output)
        assert len(result.output.strip().splitlines()) == 1 and not run.exists()
    whole.write_bytes(png)
    data.check_image_file(str(whole), "here")  # whole files pass
    data.check_image_file(str(folder / "big.jpg"), "here")
    (folder / "tail.jpg").write_bytes(jpeg + b"trailing bytes a camera appended" * 4)
    data.check_image_file(str(folder / "tail.jpg"), "here")  # decodable: passes


def test_tfds_coco_captions_not_prepared_is_a_clear_error(tmp_path):
    result = invoke("train", "--preset", "tiny", "--data", "tfds:coco_captions", "--quiet",
                    "--run-dir", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 2
    assert "is not prepared" in result.output and "tfds build coco_captions" in result.output


def test_a_backbone_encoder_captions_and_wrong_weights_are_a_usage_error(tmp_path):
    config = cfg.ModelConfig(encoder="mobilenet_v3_small", channels=3, height=64, width=64,
                             units=8, embedding=8, attention_units=8)  # fmt: skip
    model = build_model(config, 14, seed=0)
    assert model.grid == (2, 2) and not model.encoder.trainable_weights  # frozen
    out = decoding.beam_search(model, tf.random.uniform([2, 64, 64, 3]), max_length=3, width=2)
    assert out["attention"].shape[-1] == 4
    common = ["train", "--preset", "tiny", "--quiet", "--encoder", "mobilenet_v3_small"]
    result = invoke(*common, "--run-dir", tmp_path / "grey")
    assert result.exit_code == 2 and "--channels 3" in result.output
    other = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    other.save_weights(tmp_path / "resnet.weights.h5")
    result = invoke(*common, "--channels", "3", "--encoder-weights", tmp_path / "resnet.weights.h5",
                    "--run-dir", tmp_path / "wrong")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "does not fit the mobilenet_v3_small backbone" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "wrong").exists()


def test_caption_on_tf_serving_gives_the_local_captions(saved_model, tmp_path, StandIn):
    invoke("compose", "4096", "--out", tmp_path / "a.png")
    images = [tmp_path / "a.png", tmp_path / "a.png"]
    for beam in ("1", "3"):  # the greedy and the beam signatures
        local = invoke("caption", saved_model, *images, "--json", "--beam", beam)
        assert local.exit_code == 0, local.output
        with StandIn(saved_model.parent.parent) as server:
            for url in (server.rest_url, server.grpc_url):  # image bytes: b64 in REST
                remote = invoke(
                    "caption", saved_model, *images, "--json", "--beam", beam, "--server", url
                )
                assert remote.exit_code == 0, remote.output
                assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_export_keeps_the_signatures_of_the_snapshot(saved_model):
    snapshot.assert_signatures("caption", saved_model)
