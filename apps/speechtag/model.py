"""speechtag's model: waveform -> log-mel features -> rnnkit RNN -> phone and word tags.

The features are computed inside the model (``tf.signal``), so a SavedModel
takes raw audio. Two variants:

- offline: per-utterance mean and variance normalisation, stacked
  ``keras.layers.Bidirectional`` rnnkit layers over the masked frames;
- streaming: a causal (running) normalisation and unidirectional layers,
  whose state can be carried from one chunk of audio to the next
  (``stream``, then ``flush`` at the end): chunked inference gives the tags
  of whole-utterance inference. With a lookahead of ``d`` frames the tags
  come ``d`` frames late: the output at frame ``t`` is the tag of frame
  ``t - d``, so the network has heard ``d`` frames past the one it tags;
  zero (mean) features after the last frame let it tag the last ``d``.
"""

from pathlib import Path

import keras
import tensorflow as tf

import rnnkit.layers
from apps.speechtag.config import ModelConfig, SpeechtagConfig
from apps.speechtag.data import HOP, SAMPLE_RATE, WINDOW
from apps.speechtag.features import (
    FFT,
    TagSet,
    frame_counts,
    frame_mask,
    log_mel,
    running_normalise,
    utterance_normalise,
)
from rnnkit.configs import ConfiguredModel

_LAYERS = {"lstm": rnnkit.layers.LSTM, "gru": rnnkit.layers.GRU, "elman": rnnkit.layers.Elman}


@keras.saving.register_keras_serializable(package="speechtag")
class SpeechTagger(ConfiguredModel, keras.Model):
    """Frame tagger: one phone tag and one word tag per 10 ms frame.

    Args:
        config: the ``ModelConfig``: cell, layers, units (per direction),
            dropout, ``streaming`` (unidirectional layers and a causal
            normalisation, for chunked inference with the state carried;
            else bidirectional layers and per-utterance normalisation),
            ``lookahead`` (streaming: 10 ms frames each tag is delayed by),
            ``n_mels``, ``spec_augment`` (time and frequency masks),
            ``channel_augment`` (while training, coloured noise at 0-20 dB
            SNR on half the utterances and a 3-7 kHz low-pass cut on a
            third, applied to the spectrum), ``vtlp`` (while training,
            each utterance's frequency axis stretched by 1 +- up to it) and
            ``pitch_shift`` (while training, each utterance's harmonics moved
            by up to that many semitones, its envelope kept).
        n_phones: Phone tags (id 0: silence).
        n_words: Word tags (id 0: silence).
        seed: Seed of the dropout and SpecAugment masks.

    Call arguments:
        inputs: dict with ``waveform`` float32 ``[batch, samples]`` at 16 kHz
            (right-padded) and ``length`` int32 ``[batch]``, the real samples.
        training: Python boolean; enables dropout and SpecAugment.

    Returns a dict: ``phones`` and ``words`` logits ``[batch, frames, tags]``,
    ``phones_start`` and ``words_start`` logits ``[batch, frames]`` (a new
    segment of that tier starts at the frame) and ``frames`` int32
    ``[batch]`` (the real frames of each row).
    """

    config_class = ModelConfig
    config_args = ("n_phones", "n_words", "seed")

    def __init__(self, config: ModelConfig, n_phones: int, n_words: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.model_config = config
        self.n_phones = n_phones
        self.n_words = n_words
        self.cell = cell = config.cell
        self.num_layers = config.layers
        self.units = units = config.units
        self.streaming = streaming = config.streaming
        self.lookahead = config.lookahead
        self.channel_augment = config.channel_augment
        self.vtlp = config.vtlp
        self.pitch_shift = config.pitch_shift
        self.n_mels = config.n_mels
        self.spec_augment = config.spec_augment
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # One attribute per layer: tf.train.Checkpoint does not see layers
        # held in a list attribute of a Keras 3 model.
        for i in range(config.layers):
            rnn = _LAYERS[cell](
                units, return_sequences=True, return_state=streaming, name=f"{cell}_{i}"
            )
            if not streaming:
                rnn = keras.layers.Bidirectional(rnn, name=f"bidirectional_{i}")
            setattr(self, f"rnn_{i}", rnn)
        self.drop = keras.layers.Dropout(config.dropout, seed=seed, name="dropout")
        self.phone_head = keras.layers.Dense(n_phones, name="phones")
        self.word_head = keras.layers.Dense(n_words, name="words")
        # Where a segment starts: frame tags alone cannot split "one one".
        self.phone_start_head = keras.layers.Dense(1, name="phones_start")
        self.word_start_head = keras.layers.Dense(1, name="words_start")

    @property
    def rnns(self) -> list:
        return [getattr(self, f"rnn_{i}") for i in range(self.num_layers)]

    def build(self, input_shape=None):
        # Each layer builds in its own name scope, so variable names are unique
        # (TF Serving's loader finds variables by name).
        with keras.name_scope("features"):
            self.feature_mean = self.add_weight(
                shape=(self.n_mels,), initializer="zeros", trainable=False, name="mean"
            )
            self.feature_std = self.add_weight(
                shape=(self.n_mels,), initializer="ones", trainable=False, name="std"
            )
        width = self.n_mels
        for rnn in self.rnns:
            with keras.name_scope(rnn.name):
                rnn.build((None, None, width))
            width = self.units * (1 if self.streaming else 2)
        for head in self.heads:
            with keras.name_scope(head.name):
                head.build((None, None, width))

    # -- features ----------------------------------------------------------------------

    def features(self, waveform, length, training=False):
        """Standardised log-mel features ``[batch, frames, n_mels]`` and ``frames [batch]``."""
        frames = frame_counts(length)
        corrupt = None
        if training and self.channel_augment:
            corrupt = lambda spectrum: self._corrupt(spectrum, frames)
        batch = tf.shape(waveform)[:1]
        warp = pitch = None
        if training and self.vtlp:
            warp = keras.random.uniform(
                batch, 1 - self.vtlp, 1 + self.vtlp, seed=self.seed_generator
            )
        if training and self.pitch_shift:
            shift = self.pitch_shift
            semitones = keras.random.uniform(batch, -shift, shift, seed=self.seed_generator)
            pitch = tf.pow(2.0, semitones / 12.0)
        waveform = tf.convert_to_tensor(waveform, tf.float32)
        features = log_mel(waveform, self.n_mels, corrupt, warp, pitch)
        features = (features - self.feature_mean) / self.feature_std
        return features, frames

    def _corrupt(self, spectrum, frames):
        """Coloured noise (half the rows) and a low-pass cut (a third of them), per row.

        Complex Gaussian noise added to the STFT is the STFT of Gaussian noise
        of that spectral shape: power ``~ (f + 100 Hz) ** -tilt`` with the tilt
        uniform in [-1, 1] (bright to rumbling), at an SNR uniform in 0-20 dB
        against the row's mean power over its real frames. The cut zeroes
        every bin above a frequency uniform in 3-7 kHz.
        """
        batch, bins = tf.shape(spectrum)[0], FFT // 2 + 1
        real = tf.cast(frame_mask(frames, tf.shape(spectrum)[1]), tf.float32)[:, :, None]
        power = tf.square(tf.abs(spectrum))
        signal = tf.reduce_sum(power * real, axis=[1, 2]) / tf.maximum(
            tf.reduce_sum(real, axis=[1, 2]) * tf.cast(bins, tf.float32), 1.0
        )
        hertz = tf.linspace(0.0, SAMPLE_RATE / 2, bins)[None, :]
        tilt = keras.random.uniform((batch, 1), -1.0, 1.0, seed=self.seed_generator)
        shape = tf.pow(hertz + 100.0, -tilt)
        shape /= tf.reduce_mean(shape, axis=1, keepdims=True)
        snr_db = keras.random.uniform((batch, 1), 0.0, 20.0, seed=self.seed_generator)
        noisy = keras.random.uniform((batch, 1), seed=self.seed_generator) < 0.5
        level = tf.where(noisy, signal[:, None] * tf.pow(10.0, -snr_db / 10.0), 0.0)
        scale = tf.sqrt(level * shape / 2.0)[:, None, :]
        noise_shape = tf.shape(spectrum)
        noise = tf.complex(
            keras.random.normal(noise_shape, seed=self.seed_generator) * scale,
            keras.random.normal(noise_shape, seed=self.seed_generator) * scale,
        )
        cutoff = keras.random.uniform((batch, 1), 3000.0, 7000.0, seed=self.seed_generator)
        cut = keras.random.uniform((batch, 1), seed=self.seed_generator) < 1 / 3
        keep = tf.cast(~cut | (hertz <= cutoff), tf.complex64)[:, None, :]
        return (spectrum + noise) * keep

    def _augment(self, x, frames):
        """Two frequency masks (up to 6 bands) and two time masks (up to 8 frames)."""
        batch, width = tf.shape(x)[0], tf.shape(x)[1]
        keep = tf.ones_like(x)
        bands = tf.range(self.n_mels)[None, None, :]
        steps = tf.range(width)[None, :, None]
        for _ in range(2):
            size = keras.random.randint((batch, 1, 1), 0, 7, seed=self.seed_generator)
            start = keras.random.randint(
                (batch, 1, 1), 0, self.n_mels - 6, seed=self.seed_generator
            )
            keep *= tf.cast((bands < start) | (bands >= start + size), x.dtype)
            size = keras.random.randint((batch, 1, 1), 0, 9, seed=self.seed_generator)
            at = keras.random.uniform((batch, 1, 1), seed=self.seed_generator)
            start = tf.cast(at * tf.cast(frames[:, None, None], at.dtype), tf.int32)
            keep *= tf.cast((steps < start) | (steps >= start + size), x.dtype)
        return x * keep

    # -- the network -------------------------------------------------------------------

    @property
    def heads(self) -> list:
        return [self.phone_head, self.word_head, self.phone_start_head, self.word_start_head]

    def _heads(self, x):
        """Tag logits ``[batch, frames, tags]`` and start logits ``[batch, frames]`` per tier."""
        phones, words, phone_start, word_start = (head(x) for head in self.heads)
        return {
            "phones": phones,
            "words": words,
            "phones_start": phone_start[..., 0],
            "words_start": word_start[..., 0],
        }

    def call(self, inputs, training=False):
        x, frames = self.features(inputs["waveform"], inputs["length"], training=training)
        mask = frame_mask(frames, tf.shape(x)[1])
        if self.streaming:
            zeros = tf.zeros_like(x[:, 0, :1])
            x, *_ = running_normalise(x, zeros, tf.zeros_like(x[:, 0]), tf.zeros_like(x[:, 0]))
        else:
            x = utterance_normalise(x, mask)
        if training and self.spec_augment:
            x = self._augment(x, frames)
        if self.lookahead:
            # d more steps over zero (mean) features after each row's last frame.
            x = x * tf.cast(mask, x.dtype)[:, :, None]
            x = tf.pad(x, [[0, 0], [0, self.lookahead], [0, 0]])
            mask = frame_mask(frames + self.lookahead, tf.shape(x)[1])
        for rnn in self.rnns:
            out = rnn(x, mask=mask, training=training)
            x = out[0] if self.streaming else out
            x = self.drop(x, training=training)
        return {**self._heads(x[:, self.lookahead :]), "frames": frames}

    # -- streaming ---------------------------------------------------------------------

    @property
    def states_per_layer(self) -> int:
        return 2 if self.cell == "lstm" else 1

    @property
    def state_size(self) -> int:
        """Width of the flat streaming state: pending audio, normalisation sums, RNN states."""
        return (
            WINDOW
            + 1
            + 1
            + 2 * self.n_mels
            + self.num_layers * self.states_per_layer * (self.units)
        )

    def _unpack(self, state):
        """``(pending audio, held samples, count, total, squares, rnn states)``."""
        m = self.n_mels
        pending, held = state[:, :WINDOW], tf.cast(state[:, WINDOW], tf.int32)
        count, total = state[:, WINDOW + 1 : WINDOW + 2], state[:, WINDOW + 2 : WINDOW + 2 + m]
        squares = state[:, WINDOW + 2 + m : WINDOW + 2 + 2 * m]
        return pending, held, count, total, squares, state[:, WINDOW + 2 + 2 * m :]

    def _run_from(self, x, rnn_states):
        """The layers over ``x`` from the flat ``rnn_states``: ``(logits, new flat states)``."""
        k, width = self.states_per_layer, self.units
        h, states = x, []
        for i, rnn in enumerate(self.rnns):
            initial = [
                rnn_states[:, (i * k + j) * width : (i * k + j + 1) * width] for j in range(k)
            ]
            h, *layer_states = rnn(h, initial_state=initial, training=False)
            states += layer_states
        return self._heads(h), tf.concat(states, axis=1)

    def _empty(self, batch):
        return {
            "phones": tf.zeros([batch, 0, self.n_phones]),
            "words": tf.zeros([batch, 0, self.n_words]),
            "phones_start": tf.zeros([batch, 0]),
            "words_start": tf.zeros([batch, 0]),
        }

    def stream(self, waveform, state):
        """One chunk of audio with the state carried: ``(logits dict, frames, new state)``.

        ``waveform`` ``[batch, chunk]`` continues each row's audio; the tags
        are those of the frames completed by this chunk, less the lookahead
        (every row of a batch must have received the same number of samples
        so far). After the last chunk, ``flush`` gives the last tags.
        """
        if not self.streaming:
            raise ValueError("`stream` needs a model built with streaming=True")
        pending, held, count, total, squares, rnn_states = self._unpack(state)
        held = held[0]
        seen = tf.cast(count[0, 0], tf.int32)  # frames before this chunk
        audio = tf.concat([pending[:, WINDOW - held :], waveform], axis=1)
        available = tf.shape(audio)[1]
        frames = frame_counts(available)
        used = frames * HOP
        x, _ = self.features(audio[:, : tf.maximum(used + WINDOW - HOP, 0)], available)
        x = x[:, :frames]
        x, count, total, squares = running_normalise(x, count, total, squares)
        # The first `lookahead` outputs of an utterance tag no frame.
        early = tf.clip_by_value(self.lookahead - seen, 0, frames)

        def run():
            logits, states = self._run_from(x, rnn_states)
            return {k: v[:, early:] for k, v in logits.items()}, states

        def skip():  # no frame completed: the recurrent state stays as it was
            return self._empty(tf.shape(x)[0]), rnn_states

        logits, new_rnn_states = tf.cond(frames > 0, run, skip)
        rest = audio[:, used:]
        kept = tf.shape(rest)[1]
        pending = tf.concat([tf.zeros_like(audio[:, : WINDOW - kept]), rest], axis=1)[:, -WINDOW:]
        batch = tf.shape(audio)[0]
        new_state = tf.concat(
            [
                pending,
                tf.fill([batch, 1], tf.cast(kept, tf.float32)),
                count,
                total,
                squares,
                new_rnn_states,
            ],
            axis=1,
        )
        return logits, tf.fill([batch], frames - early), new_state

    def flush(self, state):
        """The end of the audio: ``(logits dict, frames)`` of the frames the lookahead held back.

        Runs ``lookahead`` steps over zero (mean) features from ``state``, as
        the whole-utterance model does after an utterance's last frame.
        """
        if not self.streaming:
            raise ValueError("`flush` needs a model built with streaming=True")
        *_, count, _, _, rnn_states = self._unpack(state)
        batch = tf.shape(state)[0]
        if not self.lookahead:
            return self._empty(batch), tf.zeros([batch], tf.int32)
        held_back = tf.minimum(tf.cast(count[0, 0], tf.int32), self.lookahead)
        logits, _ = self._run_from(tf.zeros([batch, self.lookahead, self.n_mels]), rnn_states)
        logits = {k: v[:, self.lookahead - held_back :] for k, v in logits.items()}
        return logits, tf.fill([batch], held_back)


def build_for_run(config: SpeechtagConfig, run_dir: Path) -> SpeechTagger:
    """The model of a saved run, for its checkpoint to restore into."""
    tagset = TagSet.load(run_dir)
    return build_model(config.model, len(tagset.phones), len(tagset.words), seed=config.seed)


def build_model(config: ModelConfig, n_phones: int, n_words: int, seed=None) -> SpeechTagger:
    """A built ``SpeechTagger`` from a ``ModelConfig``."""
    model = SpeechTagger(config, n_phones, n_words, seed=seed)
    model.build()
    return model
