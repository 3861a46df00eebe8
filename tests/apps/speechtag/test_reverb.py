"""speechtag's room reverberation: simulated rooms' responses and the reverberant training audio."""

import numpy as np
import pytest
from pyroomacoustics.experimental.rt60 import measure_rt60

from apps.speechtag import reverb
from apps.speechtag.config import PRESETS
from apps.speechtag.data import SAMPLE_RATE
from apps.speechtag.train import make_task


def test_room_responses_decay_as_drawn_and_start_at_the_direct_path():
    responses = reverb.room_responses(6, seed=3)
    low, high = reverb.RT60_SECONDS
    for response in responses:
        assert int(np.argmax(np.abs(response))) == 0
        assert np.sum(np.square(response, dtype=np.float64)) == pytest.approx(1.0, rel=1e-4)
        assert len(response) <= high * SAMPLE_RATE
        # Extrapolated from the first 20 dB of decay, as rooms are measured.
        assert 0.5 * low < measure_rt60(response, SAMPLE_RATE, decay_db=20) < 1.5 * high
    again = reverb.room_responses(6, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(responses, again, strict=True))
    other = reverb.room_responses(6, seed=4)
    assert not np.array_equal(responses[0], other[0])


def test_reverberation_smears_a_click_and_keeps_length_and_level():
    audio = np.zeros(SAMPLE_RATE, np.float32)
    audio[1000] = 1.0
    response = reverb.room_responses(1, seed=0)[0]
    wet = reverb.reverberate(audio, response)
    assert wet.shape == audio.shape and wet.dtype == np.float32
    assert np.sqrt(np.mean(wet**2)) == pytest.approx(np.sqrt(np.mean(audio**2)), rel=1e-4)
    assert np.abs(wet[:1000]).max() < 1e-6  # nothing before the sound (FFT round-off)
    assert int(np.argmax(np.abs(wet))) == 1000  # the direct path where the click was
    tail = wet[1000 + SAMPLE_RATE // 20 :]  # still ringing 50 ms later
    assert np.sum(tail**2) > 0.01 * np.sum(wet**2)


def test_a_share_of_the_utterances_is_reverberated_with_its_seed():
    rng = np.random.default_rng(0)
    waveforms = [rng.standard_normal(800).astype(np.float32) for _ in range(200)]
    rooms = reverb.room_responses(3, seed=0)
    assert all(a is b for a, b in zip(reverb.reverberated(waveforms, 0.0, rooms, 1), waveforms))
    half = reverb.reverberated(waveforms, 0.5, rooms, 1)
    changed = [a is not b for a, b in zip(half, waveforms)]
    assert 70 < sum(changed) < 130
    same = reverb.reverberated(waveforms, 0.5, rooms, 1)
    assert all(np.array_equal(a, b) for a, b in zip(half, same))
    other = reverb.reverberated(waveforms, 0.5, rooms, 2)
    assert [a is not b for a, b in zip(other, waveforms)] != changed
    assert all(a is not b for a, b in zip(reverb.reverberated(waveforms, 1.0, rooms, 1), waveforms))


def _first_batch(task, epoch):
    inputs, _ = next(iter(task.train_data(epoch)))
    return inputs["waveform"].numpy(), inputs["length"].numpy()


def test_training_hears_each_epochs_own_rooms(tmp_path, write_labelled, monkeypatch):
    monkeypatch.setattr(reverb, "RESPONSES", 4)
    for k in range(10):
        write_labelled(tmp_path / "data", f"u{k}", ["one", "two", "three"][: 1 + k % 3])
    tiny = PRESETS["tiny"]
    dry_config = tiny.replace(data=tiny.data.replace(source=f"dir:{tmp_path / 'data'}"))
    wet_config = dry_config.replace(data=dry_config.data.replace(reverb=1.0))
    for name in ("dry", "wet", "again"):
        (tmp_path / name).mkdir()
    dry = make_task(dry_config, tmp_path / "dry")
    wet = make_task(wet_config, tmp_path / "wet")
    dry_audio, dry_lengths = _first_batch(dry, 0)
    wet_audio, wet_lengths = _first_batch(wet, 0)
    np.testing.assert_array_equal(wet_lengths, dry_lengths)  # the same utterances, in order
    for row, length in enumerate(dry_lengths):
        assert not np.allclose(wet_audio[row, :length], dry_audio[row, :length])
    later, _ = _first_batch(wet, 1)
    again, _ = _first_batch(make_task(wet_config, tmp_path / "again"), 0)
    np.testing.assert_array_equal(again, wet_audio)  # the run's seed fixes the rooms
    assert not np.array_equal(later, _first_batch(dry, 1)[0])
