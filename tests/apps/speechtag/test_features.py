"""speechtag's front end: frames, start targets, frame counts in the graph."""

import numpy as np
import pytest
import tensorflow as tf

from apps.speechtag import config as cfg
from apps.speechtag import data
from apps.speechtag.features import frame_counts, shift_pitch, warp_frequencies, widen_starts
from apps.speechtag.model import build_model


@pytest.mark.parametrize("samples", [399, 400, 401, 559, 560, 561, 16_001])
def test_feature_frames_and_label_frames_agree(samples):
    model = build_model(cfg.ModelConfig(units=4, n_mels=8), 3, 2)
    features, frames = model.features(np.zeros([1, samples], np.float32), [samples])
    expected = data.frame_count(samples)
    assert int(frames[0]) == expected == min(features.shape[1], expected)
    assert features.shape[1] == max(expected, 1)  # a padded frame, never real, for short audio
    assert len(data.frame_labels([(0, samples, "x")], expected)) == expected


def test_start_targets_are_widened_by_a_frame_for_training():
    starts = tf.constant([[0, 0, 1, 0, 0, 0, -1], [1, 0, 0, 0, 0, 1, 0]])
    widened = widen_starts(starts).numpy().tolist()
    assert widened == [[0, 1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 1, 1, 1]]


def test_frame_counts_in_the_graph():
    assert frame_counts(tf.constant([0, 399, 400, 560, 561])).numpy().tolist() == [0, 0, 1, 2, 2]


def test_vtlp_moves_the_formants_by_the_warp_factor():
    bins = 257
    power = np.zeros([2, 3, bins], np.float32)
    power[:, :, 40] = 1.0  # a peak at bin 40 (1.25 kHz)
    warped = warp_frequencies(tf.constant(power), tf.constant([1.0, 1.2])).numpy()
    np.testing.assert_allclose(warped[0], power[0], atol=1e-6)  # factor 1: as it was
    assert int(np.argmax(warped[1, 0])) == 48  # 40 x 1.2
    # Above the top the stretched spectrum is silent; shrunk, it ends early.
    shrunk = warp_frequencies(tf.ones([1, 1, bins]), tf.constant([0.8])).numpy()
    assert shrunk[0, 0, :200].min() == 1.0 and shrunk[0, 0, -1] == 0.0
    # In training the model's features differ from one call to the next (the
    # warp is drawn), and not at all in inference.
    config = cfg.ModelConfig(
        units=8, n_mels=16, vtlp=0.15, spec_augment=False, channel_augment=False
    )
    model = build_model(config, 5, 4)
    wave = tf.random.normal([2, 8000]) * 0.1
    length = tf.constant([8000, 8000])
    a, _ = model.features(wave, length, training=True)
    b, _ = model.features(wave, length, training=True)
    c, _ = model.features(wave, length)
    d, _ = model.features(wave, length)
    assert np.abs((a - b).numpy()).max() > 1e-3
    np.testing.assert_array_equal(c.numpy(), d.numpy())


def test_pitch_shift_moves_the_harmonics_and_keeps_the_envelope():
    bins = np.arange(257)
    envelope = np.exp(-(((bins - 60) / 30.0) ** 2)) + 0.01  # one formant near 1.9 kHz
    comb = np.full(257, 1e-3)
    comb[8::8] = 1.0  # harmonics every 250 Hz
    power = (envelope * comb)[None, None].repeat(2, axis=0).astype(np.float32)
    shifted = shift_pitch(tf.constant(power), tf.constant([1.0, 1.25])).numpy()
    np.testing.assert_allclose(shifted[0], power[0], rtol=1e-3, atol=2e-6)  # factor 1: as it was
    row = shifted[1, 0]
    peaks = [k for k in range(1, 120) if row[k] > max(row[k - 1], row[k + 1], 0.05)]
    assert peaks == list(range(10, 120, 10))  # harmonics every 312.5 Hz now

    def outline(x):  # the spectrum's upper outline: the envelope the harmonics sample
        return np.array([x[max(0, k - 6) : k + 7].max() for k in range(30, 110)])

    def centre(x):
        return float((outline(x) * np.arange(30, 110)).sum() / outline(x).sum())

    # The formant stays where it was (a VTLP warp would move it by the factor).
    warped = warp_frequencies(tf.constant(power), tf.constant([1.0, 1.25])).numpy()[1, 0]
    assert abs(centre(row) - centre(power[0, 0])) < 2 < abs(centre(warped) - centre(power[0, 0]))
    assert abs(np.log(outline(row)).mean() - np.log(outline(power[0, 0])).mean()) < 0.2

    # The setting reaches the model: training features differ from one call to the next.
    config = cfg.ModelConfig(
        units=8, n_mels=16, vtlp=0.0, pitch_shift=3.0, spec_augment=False, channel_augment=False
    )
    model = build_model(config, 5, 4)
    wave, length = tf.random.normal([2, 8000]) * 0.1, tf.constant([8000, 8000])
    a, _ = model.features(wave, length, training=True)
    b, _ = model.features(wave, length, training=True)
    assert np.abs((a - b).numpy()).max() > 1e-3
