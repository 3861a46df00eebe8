"""speechtag's scores and smoothing, against hand-computed values."""

import numpy as np
import pytest

from apps.speechtag import data, metrics


def test_smoothing_removes_a_one_frame_flicker():
    lp = np.log(np.full([10, 2], 0.1))
    lp[:, 0] = np.log(0.9)
    lp[4] = np.log([0.4, 0.6])  # one frame prefers tag 1, but not by the switch cost
    tags, starts = metrics.smooth(lp)
    assert tags.tolist() == [0] * 10 and not starts.any()
    lp[4:8] = np.log([0.1, 0.9])  # four frames: a real segment
    tags, starts = metrics.smooth(lp)
    assert tags.tolist() == [0] * 4 + [1] * 4 + [0] * 2
    assert not starts.any()  # only splits within a run are marked; tag changes split anyway
    assert metrics.segments([0, 0, 1, 1, 1, 0]) == [(0, 2, 0), (2, 5, 1), (5, 6, 0)]


def test_start_probabilities_split_a_repeated_word():
    # "one one" without a pause: every frame says "one"; the start head peaks at frame 5.
    lp = np.log(np.tile([0.05, 0.95], (10, 1)))
    b = np.full(10, 0.01)
    b[4:7] = [0.7, 0.9, 0.6]
    tags, starts = metrics.smooth(lp, b)
    segs = metrics.segments(tags, starts)
    assert segs == [(0, 5, 1), (5, 10, 1)]
    assert metrics.collapse(segs) == [1, 1]
    b[4:7] = [0.2, 0.4, 0.3]  # an unsure start is not a split
    assert metrics.segments(*metrics.smooth(lp, b)) == [(0, 10, 1)]
    b[4:7] = 0.01
    b[3] = 0.99  # nor one that would leave a piece shorter than five frames
    assert metrics.segments(*metrics.smooth(lp, b)) == [(0, 10, 1)]
    lp[:, :] = np.log([0.95, 0.05])  # silence is never split
    b[5] = 0.99
    assert metrics.segments(*metrics.smooth(lp, b)) == [(0, 10, 0)]


def test_frame_starts_mark_every_segment_also_without_a_pause():
    # Centres at 200, 360, 520, 680, 840: "a" over two frames, "a" again, then silence.
    segments = [(300, 600, "a"), (600, 760, "a")]
    assert data.frame_labels(segments, 5) == ["sil", "a", "a", "a", "sil"]
    assert data.frame_starts(segments, 5).tolist() == [0, 1, 0, 1, 1]


def test_error_rates_by_hand():
    # One substitution, one deletion over five reference tokens.
    ref, hyp = [["a", "b", "c"], ["d", "e"]], [["a", "x", "c"], ["d"]]
    assert metrics.error_rate(hyp, ref) == pytest.approx(2 / 5)
    assert metrics.error_rate([["a", "b", "c", "z"]], [["a", "b", "c"]]) == pytest.approx(1 / 3)
    segs = metrics.segments([0, 3, 3, 0, 0, 3, 3, 2, 2, 0], [0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    assert metrics.collapse(segs) == [3, 3, 3, 2]


def test_boundary_f1_by_hand():
    ref = [metrics.segments([0] * 10 + [1] * 10 + [0] * 10)]  # boundaries at frames 10 and 20
    pred = [metrics.segments([0] * 12 + [1] * 5 + [2] * 3 + [0] * 10)]  # 12 yes, 17 no, 20 yes
    found = metrics.boundary_f1(pred, ref)
    assert found["precision"] == pytest.approx(2 / 3)
    assert found["recall"] == pytest.approx(1.0)
    assert found["f1"] == pytest.approx(0.8)
    late = [metrics.segments([0] * 13 + [1] * 17)]
    assert metrics.boundary_f1(late, [metrics.segments([0] * 10 + [1] * 20)])["f1"] == 0.0


def test_segment_times_meet_halfway_between_frame_centres():
    segs = metrics.segment_times([(0, 3, 0), (3, 5, 1)], ["sil", "a"])
    # Frame 3's centre is at 3 * 10 ms + 12.5 ms; frame 2's at 32.5 ms: they meet at 37.5 ms.
    assert [(s["start"], s["end"]) for s in segs] == [(0.0, 0.0375), (0.0375, 0.0575)]
