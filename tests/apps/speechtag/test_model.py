"""speechtag's SpeechTagger: padding, augmentation, streaming in chunks."""

import numpy as np
import pytest
import tensorflow as tf

from apps.speechtag import config as cfg
from apps.speechtag import data
from apps.speechtag.model import SpeechTagger, build_model


def test_padded_batches_give_the_tags_of_single_utterances():
    model = build_model(cfg.ModelConfig(layers=2, units=8, n_mels=16), 5, 3, seed=0)
    rng = np.random.default_rng(0)
    lengths = [4000, 6130, 2201]
    audio = [rng.normal(0, 0.1, n).astype(np.float32) for n in lengths]
    padded = np.zeros([3, max(lengths)], np.float32)
    for i, a in enumerate(audio):
        padded[i, : len(a)] = a
    batch = model({"waveform": padded, "length": np.array(lengths, np.int32)})
    for i, a in enumerate(audio):
        single = model({"waveform": a[None], "length": np.array([len(a)], np.int32)})
        n = int(single["frames"][0])
        assert int(batch["frames"][i]) == n
        for name in ("phones", "words", "phones_start", "words_start"):
            np.testing.assert_allclose(batch[name][i, :n], single[name][0], atol=1e-5)


def test_spec_augment_masks_only_while_training():
    model = SpeechTagger(cfg.ModelConfig(units=4, n_mels=16, channel_augment=False), 5, 3, seed=0)
    model.build()
    x = tf.ones([4, 50, 16])
    masked = model._augment(x, tf.constant([50, 50, 50, 50]))
    zeros = 1.0 - masked.numpy()
    assert zeros.sum() > 0 and np.isin(masked.numpy(), [0.0, 1.0]).all()
    inputs = {
        "waveform": np.random.default_rng(0).normal(0, 0.1, [2, 3000]).astype(np.float32),
        "length": np.array([3000, 3000], np.int32),
    }
    a, b = model(inputs)["phones"], model(inputs)["phones"]
    np.testing.assert_array_equal(a, b)


def test_channel_augment_noise_and_cuts_only_while_training():
    model = build_model(cfg.ModelConfig(layers=1, units=8, n_mels=16), 5, 3, seed=0)
    audio = tf.constant(np.random.default_rng(0).normal(0, 0.1, [64, 8000]).astype(np.float32))
    length = tf.fill([64], 8000)
    plain = model.features(audio, length)[0].numpy()
    np.testing.assert_array_equal(plain, model.features(audio, length)[0].numpy())
    assert np.abs(model.features(audio, length, training=True)[0].numpy() - plain).mean() > 0.1
    spectrum = tf.signal.stft(audio, data.WINDOW, data.HOP, fft_length=512)
    out = model._corrupt(spectrum, tf.fill([64], tf.shape(spectrum)[1])).numpy()
    power = lambda z: (np.abs(z) ** 2).mean(axis=(1, 2))
    hertz = np.linspace(0, 8000, 257)
    cut = power(out[:, :, hertz > 7000]) == 0  # cut rows: nothing above the cut
    assert 8 <= cut.sum() <= 36
    for row in np.flatnonzero(cut):
        kept = hertz[power(out[row : row + 1].transpose(2, 1, 0)) > 0]
        assert 3000 <= kept.max() <= 7000
    added = power(out[~cut]) / power(spectrum.numpy()[~cut]) - 1  # noise power / signal power
    noisy = added > 1e-3
    assert 0.3 < noisy.mean() < 0.7
    assert ((added[noisy] > 0.008) & (added[noisy] < 1.3)).all()  # 0-20 dB SNR


@pytest.mark.parametrize("cell, lookahead", [("lstm", 0), ("gru", 0), ("lstm", 7), ("gru", 60)])
def test_streaming_chunks_give_the_whole_utterance_tags(cell, lookahead):
    """Chunks, then ``flush``: the tags of the whole utterance (lookahead 60 > its 31 frames)."""
    config = cfg.ModelConfig(
        cell=cell, layers=2, units=8, n_mels=16, streaming=True, lookahead=lookahead
    )
    model = build_model(config, 5, 3, seed=0)
    model.feature_mean.assign(np.full(16, -5.0, np.float32))
    model.feature_std.assign(np.full(16, 3.0, np.float32))
    audio = np.random.default_rng(1).normal(0, 0.1, [2, 5321]).astype(np.float32)
    whole = model({"waveform": audio, "length": np.array([5321, 5321], np.int32)})
    state = tf.zeros([2, model.state_size])
    got = {"phones": [], "words": [], "words_start": []}
    at = 0
    for size in (320, 100, 77, 1000, 320, 3504):
        logits, frames, state = model.stream(audio[:, at : at + size], state)
        at += size
        for tier in got:
            assert logits[tier].shape[1] == int(frames[0])
            got[tier].append(logits[tier].numpy())
    assert at == 5321
    logits, frames = model.flush(state)
    assert int(frames[0]) == min(lookahead, 31)
    for tier in got:
        assert logits[tier].shape[1] == int(frames[0])
        got[tier].append(logits[tier].numpy())
    for tier in got:
        chunked = np.concatenate(got[tier], axis=1)
        assert chunked.shape == whole[tier].shape
        np.testing.assert_allclose(chunked, whole[tier].numpy(), atol=2e-4)
