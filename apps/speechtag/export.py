"""speechtag's serving signatures: audio in, per-frame tags out, in the graph.

- ``serving_default``: ``waveform`` float32 ``[batch, samples]`` at 16 kHz
  (right-padded) and ``length`` int32 ``[batch]`` -> ``phones`` and
  ``words`` (string ``[batch, frames]``, the likeliest tag per frame),
  ``phone_probability`` / ``word_probability`` (its probability),
  ``phone_probs`` / ``word_probs`` (every tag's, ``[batch, frames, tags]``),
  ``phone_start_probability`` / ``word_start_probability`` (that a new
  segment starts at the frame: it splits "one one" spoken without a pause)
  and ``frames`` int32 ``[batch]`` (the real frames of each row; the rest is
  padding).
- ``wav``: ``wav`` string ``[batch]``, 16-bit PCM WAV file bytes at 16 kHz,
  decoded in the graph -> the same outputs. Another sample rate is an error
  naming both rates.
- ``stream`` (streaming models): ``waveform`` ``[batch, chunk]`` and
  ``state`` ``[batch, state_size]`` -> the tags of the frames the chunk
  completes (less the model's lookahead: tags come that many frames late)
  and the new ``state``; the client holds the state (TF Serving keeps none)
  and starts from zeros.
- ``flush`` (streaming models): ``state`` after the last chunk -> the tags
  of the last frames, which the lookahead held back (none without one).

The tags are in ``assets/tagset.json``.
"""

import numpy as np
import tensorflow as tf

from apps.speechtag.data import SAMPLE_RATE, wav_bytes
from apps.speechtag.features import EXAMPLES_FILE, TAGSET_FILE, TagSet
from rnnkit.app import Exported
from rnnkit.export import ServingModule
from rnnkit.runs import Run

OUTPUTS = ("phones", "words", "phone_probability", "word_probability", "frames")


class Tagger(ServingModule):
    """The serving functions over a trained ``SpeechTagger``."""

    def __init__(self, model, tagset: TagSet):
        super().__init__(model=model)
        self.tagset = tagset
        self.phone_names = tf.constant(list(tagset.phones))
        self.word_names = tf.constant(list(tagset.words))
        self.serve = tf.function(
            self._serve,
            input_signature=[
                tf.TensorSpec([None, None], tf.float32, name="waveform"),
                tf.TensorSpec([None], tf.int32, name="length"),
            ],
        )
        self.wav = tf.function(
            self._wav, input_signature=[tf.TensorSpec([None], tf.string, name="wav")]
        )
        if model.streaming:
            self.stream = tf.function(
                self._stream,
                input_signature=[
                    tf.TensorSpec([None, None], tf.float32, name="waveform"),
                    tf.TensorSpec([None, model.state_size], tf.float32, name="state"),
                ],
            )
            self.flush = tf.function(
                self._flush,
                input_signature=[tf.TensorSpec([None, model.state_size], tf.float32, name="state")],
            )

    @property
    def model(self):
        return self.models["model"]

    def _outputs(self, logits, frames):
        phone_probs = tf.nn.softmax(logits["phones"])
        word_probs = tf.nn.softmax(logits["words"])
        return {
            "phones": tf.gather(self.phone_names, tf.argmax(phone_probs, axis=-1)),
            "words": tf.gather(self.word_names, tf.argmax(word_probs, axis=-1)),
            "phone_probability": tf.reduce_max(phone_probs, axis=-1),
            "word_probability": tf.reduce_max(word_probs, axis=-1),
            "phone_probs": phone_probs,
            "word_probs": word_probs,
            "phone_start_probability": tf.sigmoid(logits["phones_start"]),
            "word_start_probability": tf.sigmoid(logits["words_start"]),
            "frames": frames,
        }

    def _serve(self, waveform, length):
        waveform = tf.debugging.assert_all_finite(waveform, "waveform holds NaN or inf")
        out = self.model({"waveform": waveform, "length": length}, training=False)
        return self._outputs(out, out["frames"])

    def _wav(self, wav):
        def decode(contents):
            audio, rate = tf.audio.decode_wav(contents)
            check = tf.debugging.Assert(
                tf.equal(rate, SAMPLE_RATE),
                ["the WAV is sampled at", rate, f"Hz; the model takes {SAMPLE_RATE} Hz"],
            )
            with tf.control_dependencies([check]):
                return tf.RaggedTensor.from_tensor(tf.reduce_mean(audio, axis=1)[None])[0]

        audio = tf.map_fn(decode, wav, fn_output_signature=tf.RaggedTensorSpec([None], tf.float32))
        return self._serve(audio.to_tensor(), tf.cast(audio.row_lengths(), tf.int32))

    def _stream(self, waveform, state):
        logits, frames, new_state = self.model.stream(waveform, state)
        return {**self._outputs(logits, frames), "state": new_state}

    def _flush(self, state):
        return self._outputs(*self.model.flush(state))


def export(run: Run) -> Exported:
    tagset = TagSet.load(run.path)
    tagger = Tagger(run.model, tagset)
    tagger.tagset_file = tf.saved_model.Asset(str(run.path / TAGSET_FILE))
    examples = np.load(run.path / EXAMPLES_FILE)
    audio = [examples[k] for k in sorted(examples.files) if k.startswith("audio_")]
    width = max(len(a) for a in audio)
    padded = np.stack([np.pad(a, (0, width - len(a))) for a in audio]).astype(np.float32)
    lengths = np.array([len(a) for a in audio], np.int32)
    requests = {
        "serving_default": [
            {"waveform": padded[:1, : lengths[0]], "length": lengths[:1]},
            {"waveform": padded, "length": lengths},
        ],
        "wav": [{"wav": np.array([wav_bytes(a) for a in audio], dtype=object)}],
    }
    if run.model.streaming:
        chunk = audio[0][None, :320]
        state = np.zeros([1, run.model.state_size], np.float32)
        requests["stream"] = [{"waveform": chunk.astype(np.float32), "state": state}]
        after = tagger.stream(tf.constant(chunk, tf.float32), tf.constant(state))["state"]
        requests["flush"] = [{"state": after.numpy()}]
    expected = tagger.serve(tf.constant(padded), tf.constant(lengths))

    def check(loaded):
        got = loaded.signatures["serving_default"](
            waveform=tf.constant(padded), length=tf.constant(lengths)
        )
        for name in ("phone_probs", "word_probs", "phone_start_probability"):
            np.testing.assert_allclose(got[name].numpy(), expected[name].numpy(), atol=1e-4)
        np.testing.assert_array_equal(got["frames"].numpy(), expected["frames"].numpy())

    signatures = {"serving_default": tagger.serve, "wav": tagger.wav}
    if run.model.streaming:
        signatures["stream"] = tagger.stream
        signatures["flush"] = tagger.flush
    return Exported(module=tagger, signatures=signatures, warmup=requests, check=check)
