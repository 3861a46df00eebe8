"""Room reverberation for the training audio: impulse responses of simulated rooms.

The responses come from pyroomacoustics's image-source model (Allen and
Berkley 1979) of shoebox rooms, one source and one microphone placed at
random, the walls' absorption set by Sabine's formula for a reverberation
time drawn at random. The ranges below were fixed before any run: rooms
from a small office to a classroom, RT60 from a furnished living room to
a lecture room. A response starts at its direct path, so the reverberant audio keeps
the frames its labels name; its tail past the utterance's end is cut.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.speechtag.data import SAMPLE_RATE
from rnnkit.errors import InputError

ROOM_METRES = ((3.0, 10.0), (3.0, 10.0), (2.5, 4.0))  # length, width, height
RT60_SECONDS = (0.2, 0.8)
WALL_GAP = 0.5  # metres between a wall and the source or microphone
RESPONSES = 48  # drawn once a run; each epoch picks among them


def room_responses(count: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """``count`` (``RESPONSES``) impulse responses at 16 kHz, of unit energy, at most RT60 long."""
    try:
        import pyroomacoustics as pra
    except ImportError:
        raise InputError(
            "data.reverb needs pyroomacoustics: pip install 'rnnkit[speech]'"
        ) from None
    count = RESPONSES if count is None else count
    rng = np.random.default_rng(seed)
    low, high = np.array(ROOM_METRES).T
    responses = []
    for _ in range(count):
        size = rng.uniform(low, high)
        rt60 = rng.uniform(*RT60_SECONDS)
        absorption, order = pra.inverse_sabine(rt60, size)
        room = pra.ShoeBox(
            size, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=order
        )
        room.add_source(rng.uniform(WALL_GAP, size - WALL_GAP))
        room.add_microphone(rng.uniform(WALL_GAP, size - WALL_GAP))
        room.compute_rir()
        response = np.asarray(room.rir[0][0], np.float64)
        response = response[int(np.argmax(np.abs(response))) :][: int(rt60 * SAMPLE_RATE)]
        responses.append((response / np.linalg.norm(response)).astype(np.float32))
    return responses


def reverberate(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``audio`` heard in the room: as long as it was, at its RMS level."""
    from scipy.signal import fftconvolve

    wet = fftconvolve(audio, response)[: len(audio)]
    dry_rms = np.sqrt(np.mean(np.square(audio, dtype=np.float64)))
    wet_rms = np.sqrt(np.mean(np.square(wet, dtype=np.float64)))
    return (wet * (dry_rms / max(wet_rms, 1e-12))).astype(np.float32)


def reverberated(
    waveforms: Sequence[np.ndarray], share: float, responses: Sequence[np.ndarray], seed: int
) -> list[np.ndarray]:
    """``waveforms`` with a ``share`` of them (drawn with ``seed``) in a room drawn for each."""
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(waveforms)) < share
    rooms = rng.integers(0, len(responses), len(waveforms))
    return [
        reverberate(w, responses[r]) if c else w
        for w, c, r in zip(waveforms, chosen, rooms, strict=True)
    ]
