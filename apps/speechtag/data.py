"""speechtag's data: labelled utterances from WAV files and their tiers, as tf.data.

Every source ends in the same form: ``Utterance`` objects holding the audio
at the model's sample rate and, per tier (``phones``, ``words``), the labelled
segments ``(start, end, label)`` in samples. Labels cover the audio; what no
segment covers is silence (``sil``).

Sources:

- ``espeak`` (the default): spoken digit strings synthesized with eSpeak NG
  into a cache on first use (``apps.speechtag.synth``), split by voice.
- ``dir:PATH``: a folder of WAV files, each with its tiers beside it as a
  Praat TextGrid (``NAME.TextGrid``, as the Montreal Forced Aligner writes)
  or as TIMIT-style ``NAME.WRD`` / ``NAME.PHN`` files (``start end label``
  in samples). Any sample rate and bit depth; stereo is mixed down.

Frames: a 25 ms window every 10 ms; frame ``i`` covers samples
``[i * hop, i * hop + window)`` and takes the label at its centre.
"""

from __future__ import annotations

import dataclasses
import io
import math
import struct
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.errors import InputError

SAMPLE_RATE = 16_000
WINDOW = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms
SILENCE = "sil"
TIERS = ("phones", "words")
# Silence as aligners and corpora write it (MFA, Kaldi, TIMIT, ESPnet).
SILENCE_ALIASES = {"", "sil", "sp", "<eps>", "h#", "pau", "epi", "#", "<sil>", "silence"}
# eSpeak's stress and length marks that the tags leave out.
STRESS_MARKS = "',%="
LABEL_SUFFIXES = (".TextGrid", ".textgrid", ".PHN", ".phn", ".WRD", ".wrd")


@dataclasses.dataclass
class Utterance:
    """One labelled recording at ``SAMPLE_RATE``."""

    name: str
    audio: np.ndarray  # float32 [samples], in [-1, 1]
    tiers: dict[str, list[tuple[int, int, str]]]  # tier -> segments in samples
    voice: str = ""

    @property
    def frames(self) -> int:
        return frame_count(len(self.audio))

    def words(self) -> list[str]:
        return [label for _, _, label in self.tiers["words"] if label != SILENCE]


def frame_count(samples: int) -> int:
    """Whole 25 ms frames in ``samples`` (0 when shorter than one frame)."""
    return 0 if samples < WINDOW else 1 + (samples - WINDOW) // HOP


def frame_labels(segments: Sequence[tuple[int, int, str]], frames: int) -> list[str]:
    """The label at each frame's centre; silence where no segment covers it."""
    centres = np.arange(frames) * HOP + WINDOW // 2
    out = [SILENCE] * frames
    for start, end, label in segments:
        for i in np.nonzero((centres >= start) & (centres < end))[0]:
            out[i] = label
    return out


def frame_starts(segments: Sequence[tuple[int, int, str]], frames: int) -> np.ndarray:
    """1 at the first frame of every segment, silent runs included (frame 0 excepted).

    Frame tags alone cannot tell "one one" spoken without a pause from one
    long "one"; these starts can. A segment whose span holds no frame centre
    has no frame and no start.
    """
    tags = frame_labels(segments, frames)
    starts = np.zeros(frames, np.int32)
    for t in range(1, frames):
        starts[t] = tags[t] != tags[t - 1]
    centres = np.arange(frames) * HOP + WINDOW // 2
    for start, end, _ in segments:
        inside = np.nonzero((centres >= start) & (centres < end))[0]
        if len(inside) and inside[0] > 0:
            starts[inside[0]] = 1
    return starts


def is_espeak_pause(name: str) -> bool:
    """eSpeak's pause and boundary mnemonics (``_``, ``_:``, ``;``, ``|``, ``||``)."""
    return name.startswith("_") or name in (";", "|", "||")


def espeak_phone(name: str) -> str:
    """An eSpeak phoneme mnemonic as a tag: stress marks stripped, pauses as silence."""
    if is_espeak_pause(name):
        return SILENCE
    return name.strip(STRESS_MARKS) or SILENCE


def normalise_label(label: str) -> str:
    label = label.strip()
    return SILENCE if label.lower() in SILENCE_ALIASES else label


# -- audio ---------------------------------------------------------------------------------


def read_wav(path: str | Path | bytes) -> tuple[np.ndarray, int]:
    """``(float32 mono samples in [-1, 1], rate)``, channels mixed; else an ``InputError``."""
    from scipy.io import wavfile

    name = "the WAV data" if isinstance(path, bytes) else str(path)
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    try:
        rate, data = wavfile.read(source)
    except (ValueError, EOFError, OSError, wave.Error, IndexError, struct.error) as e:
        raise InputError(f"{name} is not a readable WAV file: {e}") from None
    if data.size == 0:
        raise InputError(f"{name} holds no audio samples")
    if rate <= 0:
        raise InputError(f"{name} declares a sample rate of {rate} Hz")
    if data.dtype.kind == "u":  # 8-bit WAV is unsigned, centred on 128
        data = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        data = data.astype(np.float32) / float(np.iinfo(data.dtype).max + 1)
    else:
        data = data.astype(np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if not np.all(np.isfinite(data)):
        raise InputError(f"{name} holds NaN or infinite samples")
    return data, int(rate)


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (``scipy.signal.resample_poly``) from ``rate`` to ``target`` Hz."""
    if rate == target:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(rate, target)
    return resample_poly(audio, target // g, rate // g).astype(np.float32)


def speed_perturbed(utterance: Utterance, factor: float) -> Utterance:
    """``utterance`` played ``factor`` times as fast (Ko et al. 2015): the audio
    resampled to ``1 / factor`` of its length, every segment's bounds scaled
    with it. ``factor`` is rounded to tenths of a percent (the polyphase ratio)."""
    if abs(factor - 1) < 5e-4:
        return utterance
    # Read as sampled at 1000 * factor and written at 1000: 1 / factor as many samples.
    audio = resample(utterance.audio, round(1000 * factor), 1000)
    scale = len(audio) / max(len(utterance.audio), 1)
    tiers = {
        tier: [(round(start * scale), round(end * scale), label) for start, end, label in found]
        for tier, found in utterance.tiers.items()
    }
    return dataclasses.replace(utterance, audio=audio, tiers=tiers)


def wav_bytes(audio: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono WAV file contents."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1 - 1 / 32768) * 32768).astype("<i2").tobytes())
    return buffer.getvalue()


def split_folder(utterances: list[Utterance], seed: int = 0) -> dict[str, list[Utterance]]:
    """Train / validation / test by file: 10% each held out (at least one when possible)."""
    order = np.random.default_rng(seed).permutation(len(utterances))
    n = len(utterances)
    held = max(1, round(0.1 * n)) if n >= 3 else 0
    parts = {
        "validation": order[:held],
        "test": order[held : 2 * held],
        "train": order[2 * held :],
    }
    return {k: [utterances[i] for i in sorted(v)] for k, v in parts.items()}


# -- label sets and tensors ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LabelSet:
    """The tags of each tier, silence first (id 0)."""

    phones: tuple[str, ...]
    words: tuple[str, ...]

    @classmethod
    def from_utterances(cls, utterances: Sequence[Utterance]) -> LabelSet:
        found = {t: {SILENCE} for t in TIERS}
        for u in utterances:
            for tier in TIERS:
                found[tier].update(label for _, _, label in u.tiers[tier])
        return cls(**{t: (SILENCE, *sorted(found[t] - {SILENCE})) for t in TIERS})

    def tier(self, name: str) -> tuple[str, ...]:
        return getattr(self, name)

    def ids(self, tier: str, labels: Sequence[str]) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.tier(tier))}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise InputError(f"the {tier} tier has labels the model does not know: {unknown}")
        return np.array([index[label] for label in labels], np.int32)

    def check(self, utterances: Sequence[Utterance]) -> None:
        for tier in TIERS:
            seen = {label for u in utterances for _, _, label in u.tiers[tier]}
            unknown = sorted(seen - set(self.tier(tier)))
            if unknown:
                raise InputError(
                    f"the {tier} tier has labels this run was not trained on: {unknown[:20]}"
                )


TARGETS = (*TIERS, *(f"{t}_start" for t in TIERS))


def examples(utterances: Sequence[Utterance], labels: LabelSet) -> dict[str, list[np.ndarray]]:
    """Per utterance: the waveform, each tier's frame label ids and segment starts."""
    out: dict[str, list[np.ndarray]] = {"waveform": [], **{t: [] for t in TARGETS}}
    for u in utterances:
        out["waveform"].append(u.audio.astype(np.float32))
        for tier in TIERS:
            out[tier].append(labels.ids(tier, frame_labels(u.tiers[tier], u.frames)))
            out[f"{tier}_start"].append(frame_starts(u.tiers[tier], u.frames))
    return out


def dataset(
    found: dict[str, list[np.ndarray]],
    batch_size: int,
    shuffle_seed: int | None = None,
    buckets: int = 4,
):
    """Padded batches ``({"waveform", "length"}, targets)`` of ``examples(...)``; targets
    padded with -1 (the examples are computed once, not once per epoch).

    The targets are ``phones`` and ``words`` (tag ids per frame) and
    ``phones_start`` / ``words_start`` (1 where a segment starts).

    With ``shuffle_seed`` the utterances are shuffled (the same order for the
    same seed), then batched within length buckets so that a batch wastes
    little on padding.
    """
    import tensorflow as tf

    lengths = np.array([len(w) for w in found["waveform"]])
    order = np.arange(len(lengths))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(lengths))
    if buckets > 1 and shuffle_seed is not None and len(order) > batch_size:
        # Sort each run of `buckets` batches by length, then shuffle the batches.
        span = batch_size * buckets
        order = np.concatenate(
            [
                sorted(order[i : i + span], key=lambda k: lengths[k])
                for i in range(0, len(order), span)
            ]
        )
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed + 1)
        batches = [batches[i] for i in rng.permutation(len(batches))]

    def generate():
        for batch in batches:
            width = max(lengths[k] for k in batch)
            frames = frame_count(width)
            waveform = np.zeros([len(batch), width], np.float32)
            tags = {t: np.full([len(batch), frames], -1, np.int32) for t in TARGETS}
            for row, k in enumerate(batch):
                waveform[row, : lengths[k]] = found["waveform"][k]
                for t in TARGETS:
                    tags[t][row, : len(found[t][k])] = found[t][k]
            yield {"waveform": waveform, "length": lengths[batch].astype(np.int32)}, tags

    spec = (
        {
            "waveform": tf.TensorSpec([None, None], tf.float32),
            "length": tf.TensorSpec([None], tf.int32),
        },
        {t: tf.TensorSpec([None, None], tf.int32) for t in TARGETS},
    )
    data = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return data.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)
