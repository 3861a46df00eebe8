"""caption's embedded data: strips of MNIST digits, their styles and splits."""

import dataclasses

import numpy as np
import pytest

from apps.caption import config as cfg
from apps.caption import data, features, strips, train


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


def test_a_low_resolution_digit_is_blocky_or_blurred_and_keeps_its_size():
    images, _ = strips.digit_images()
    glyph = images[7].astype(np.float32)[2:26, 4:24]  # 24 x 20
    for seed in range(6):
        low = strips._low_resolution(glyph, np.random.default_rng(seed), (6, 6))
        assert low.shape == glyph.shape
        # Drawn 6 pixels high: at most 6 distinct rows where blocky; the fine
        # detail (row-to-row change) gone where blurred.
        rows = len({r.tobytes() for r in low})
        smooth = np.abs(np.diff(low, axis=0)).mean() < 0.8 * np.abs(np.diff(glyph, axis=0)).mean()
        assert rows <= 8 or smooth
        assert abs(low.mean() / glyph.mean() - 1) < 0.25  # about the same ink
    # Taller than the digit: nothing to lose.
    np.testing.assert_array_equal(
        strips._low_resolution(glyph, np.random.default_rng(0), (30, 30)), glyph
    )


def test_degradations_change_the_strips_only_when_asked():
    base = cfg.StripStyle()
    before = strips.strips("test", 4, seed=2, style=base)
    off = dataclasses.replace(base, aspect=(1.0, 1.0), blur=(0.0, 0.0), low_res=0.0)
    for a, b in zip(before, strips.strips("test", 4, seed=2, style=off)):
        np.testing.assert_array_equal(a.image, b.image)
    wide = strips.strips("test", 4, seed=2, style=dataclasses.replace(base, aspect=(1.6, 1.6)))
    assert wide[0].caption == before[0].caption  # the first strip's digits: drawn first
    widths = [np.mean([r - left for left, r in s.boxes]) for s in (before[0], wide[0])]
    assert widths[1] > 1.3 * widths[0]
    blurred = strips.strips("test", 4, seed=2, style=dataclasses.replace(base, blur=(2.0, 2.0)))
    sharp = np.mean([np.abs(np.diff(s.image.astype(float), axis=1)).mean() for s in before])
    soft = np.mean([np.abs(np.diff(s.image.astype(float), axis=1)).mean() for s in blurred])
    assert soft < sharp
    # With a chance of blurring, some strips are blurred and some are not.
    some = dataclasses.replace(base, blur=(2.0, 2.0), blurred=0.5, noise=0.0)
    found = strips.strips("test", 40, seed=2, style=some)
    sharpness = [np.abs(np.diff(s.image.astype(float), axis=1)).max() for s in found]
    assert 5 <= sum(x > 60 for x in sharpness) <= 35
    faint = strips.strips("test", 4, seed=2, style=dataclasses.replace(base, contrast=(0.3, 0.3)))
    assert max(s.image.max() for s in faint) < max(s.image.max() for s in before)
    for bad in ({"aspect": (0.0, 1.0)}, {"blur": (1.0, 0.5)}, {"low_height": (9, 3)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            dataclasses.replace(base, **bad)


def test_degrade_draws_the_training_strips_degraded():
    config = dataclasses.replace(cfg.PRESETS["tiny"].data, strips=6)
    plain = data.train_examples(config, epoch=1)
    degraded = data.train_examples(dataclasses.replace(config, degrade=True), epoch=1)
    style = dataclasses.replace(cfg.WIDE_STYLE, **cfg.DEGRADATIONS)
    drawn = data.digit_examples(dataclasses.replace(config, style=style), "train", 6, seed=1)
    for a, b in zip(degraded, drawn):
        np.testing.assert_array_equal(a.image, b.image)
    assert any(
        a.image.shape != b.image.shape or (a.image != b.image).any()
        for a, b in zip(plain, degraded)
    )
    # Validation and test strips are never degraded.
    for a, b in zip(
        data.load(config)["test"], data.load(dataclasses.replace(config, degrade=True))["test"]
    ):
        np.testing.assert_array_equal(a.image, b.image)
