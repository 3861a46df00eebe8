"""speechtag's front end in the graph, the same for training and serving.

- ``TagSet``: what a trained model needs besides its weights (the tags of
  each tier, the data it came from), saved as ``RUN/tagset.json`` and in the
  SavedModel's assets.
- ``log_mel``: waveform -> log-mel frames (25 ms windows every 10 ms);
  ``utterance_normalise`` and ``running_normalise`` (the causal one for
  streaming); ``widen_starts``: the segment-start targets.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from apps.speechtag import data
from apps.speechtag.data import HOP, SAMPLE_RATE, WINDOW, LabelSet
from rnnkit.runs import RunFile

TAGSET_FILE = "tagset.json"
EXAMPLES_FILE = "examples.npz"


@dataclasses.dataclass(frozen=True)
class TagSet(RunFile, file=TAGSET_FILE, app="speechtag"):
    """The tags of each tier and where the data came from; JSON in ``RUN/tagset.json``."""

    phones: tuple[str, ...]
    words: tuple[str, ...]
    source: str
    sample_rate: int = data.SAMPLE_RATE
    test_voices: str = ""

    @property
    def labels(self) -> LabelSet:
        return LabelSet(phones=self.phones, words=self.words)


FFT = 512
PRIOR_FRAMES = 100.0  # the running normalisation starts from the training statistics, this strong


EPSILON = 1e-6


def frame_counts(length):
    """Whole 25 ms frames per row of ``length`` samples (int32)."""
    length = tf.cast(length, tf.int32)
    return tf.where(length >= WINDOW, 1 + (length - WINDOW) // HOP, 0)


def log_mel(waveform, n_mels, corrupt=None, warp=None, pitch=None):
    """``[batch, samples]`` -> ``[batch, frames, n_mels]`` log-mel energies (25 ms / 10 ms).

    Audio shorter than one window gets one frame of its zero-padded samples
    (the caller's frame count says it is not real): the FFT needs a frame.
    ``corrupt``: a function of the complex spectrum ``[batch, frames, bins]``
    applied before the filterbank (the training-time channel augmentation);
    ``warp`` (``[batch]``): each row's frequency axis stretched by that
    factor before the filterbank (``warp_frequencies``); ``pitch`` (``[batch]``):
    each row's harmonics moved by that factor, its envelope kept (``shift_pitch``).
    """
    short = tf.maximum(WINDOW - tf.shape(waveform)[1], 0)
    waveform = tf.pad(waveform, [[0, 0], [0, short]])
    spectrum = tf.signal.stft(
        waveform, frame_length=WINDOW, frame_step=HOP, fft_length=FFT, pad_end=False
    )
    if corrupt is not None:
        spectrum = corrupt(spectrum)
    power = tf.math.square(tf.abs(spectrum))
    if pitch is not None:
        power = shift_pitch(power, pitch)
    if warp is not None:
        power = warp_frequencies(power, warp)
    weights = tf.signal.linear_to_mel_weight_matrix(
        n_mels, FFT // 2 + 1, SAMPLE_RATE, lower_edge_hertz=20.0, upper_edge_hertz=7600.0
    )
    return tf.math.log(tf.tensordot(power, weights, 1) + EPSILON)


def warp_frequencies(power, factor):
    """Vocal tract length perturbation (Jaitly and Hinton, 2013): the power
    spectrum ``[batch, frames, bins]`` with each row's frequency axis stretched
    by ``factor [batch]``, so its formants move from ``f`` to ``factor * f``
    (a shorter vocal tract above 1); linear between bins, silent beyond the
    top. Bin ``k`` of the result reads bin ``k / factor`` of the input."""
    bins = tf.shape(power)[-1]
    source = tf.range(tf.cast(bins, tf.float32))[None, :] / tf.cast(factor, tf.float32)[:, None]
    low = tf.minimum(tf.cast(tf.floor(source), tf.int32), bins - 1)
    high = tf.minimum(low + 1, bins - 1)
    frac = source - tf.cast(low, tf.float32)
    inside = tf.cast(source <= tf.cast(bins - 1, tf.float32), power.dtype)
    below = tf.gather(power, low, axis=2, batch_dims=1)
    above = tf.gather(power, high, axis=2, batch_dims=1)
    return ((1 - frac[:, None]) * below + frac[:, None] * above) * inside[:, None]


# DCT coefficients of the log spectrum kept as its envelope: coefficient n is
# a ripple of period 16 kHz / n along the 0-8 kHz axis, so 40 keeps formant
# structure (ripples of 400 Hz and wider) and leaves the harmonics of any
# voice pitched under 400 Hz to the fine structure.
LIFTER = 40


def shift_pitch(power, factor):
    """The power spectrum ``[batch, frames, bins]`` with each row's harmonics
    moved by ``factor [batch]`` and its envelope kept: a voice pitched higher
    (above 1) or lower through the same vocal tract. The log spectrum is split
    by its DCT (a cepstrum) into the envelope, its first ``LIFTER``
    coefficients, and the fine structure, the rest; only the fine structure
    is stretched (``warp_frequencies``; zero beyond the top)."""
    log = tf.math.log(power + EPSILON)
    cepstrum = tf.signal.dct(log, type=2, norm="ortho")
    low = tf.cast(tf.range(tf.shape(log)[-1]) < LIFTER, log.dtype)
    envelope = tf.signal.idct(cepstrum * low, type=2, norm="ortho")
    fine = warp_frequencies(log - envelope, factor)
    return tf.exp(envelope + fine)


def frame_mask(frames, width):
    return tf.sequence_mask(frames, width)


def utterance_normalise(features, mask):
    """Mean and variance normalisation per utterance and band, over its real frames."""
    m = tf.cast(mask, features.dtype)[:, :, None]
    count = tf.maximum(tf.reduce_sum(m, axis=1, keepdims=True), 1.0)
    mean = tf.reduce_sum(features * m, axis=1, keepdims=True) / count
    var = tf.reduce_sum(tf.square(features - mean) * m, axis=1, keepdims=True) / count
    return (features - mean) * tf.math.rsqrt(var + 1e-3) * m


def running_normalise(features, count, total, squares):
    """Causal normalisation: each frame by the statistics of the frames up to it.

    The statistics start as ``PRIOR_FRAMES`` frames of the training data's
    (the inputs are already standardised with those, so the prior is mean 0,
    variance 1); ``count``, ``total`` and ``squares`` ([batch, 1],
    [batch, n_mels] twice) carry the running sums in from earlier chunks.
    Returns the normalised features and the new sums.
    """
    n = count[:, None, :] + PRIOR_FRAMES + tf.cumsum(tf.ones_like(features[:, :, :1]), axis=1)
    s = total[:, None, :] + tf.cumsum(features, axis=1)
    q = squares[:, None, :] + tf.cumsum(tf.square(features), axis=1)
    mean = s / n
    var = tf.maximum((q + PRIOR_FRAMES) / n - tf.square(mean), 0.0)
    out = (features - mean) * tf.math.rsqrt(var + 1e-3)
    count = count + tf.cast(tf.shape(features)[1], count.dtype)
    return out, count, total + tf.reduce_sum(features, 1), squares + tf.reduce_sum(features**2, 1)


def widen_starts(starts):
    """Start targets ``[batch, frames]`` (1, else 0 or -1 padding), marked a frame either side.

    Where a segment starts is uncertain by a frame; a one-frame target leaves
    the start probability near 0.5 at true starts, too weak to split a
    repeated word.
    """
    starts = tf.cast(tf.maximum(starts, 0), tf.float32)[:, :, None]
    return tf.nn.max_pool1d(starts, ksize=3, strides=1, padding="SAME")[:, :, 0]
