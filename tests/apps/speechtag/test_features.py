"""speechtag's front end: frames, start targets, frame counts in the graph."""

import numpy as np
import pytest
import tensorflow as tf

from apps.speechtag import config as cfg
from apps.speechtag import data
from apps.speechtag.features import frame_counts, widen_starts
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
