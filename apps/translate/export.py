"""translate's SavedModel for TF Serving: raw text in, translations out.

Signatures (every step in the graph, core ops only: ``rnnkit serving
check`` passes):

- ``serving_default(text: string[batch]) -> translation: string[batch],
  score: float[batch], copied: int32[batch], translations: string[batch,
  beam], scores: float[batch, beam], words: string[batch, steps],
  source_words: string[batch, S], attention: float[batch, steps, S]``:
  beam search of the run's width with GNMT's length normalisation;
  ``copied`` counts the unknown words replaced by a source word;
  ``translations`` is the n-best list, best first; ``words`` and
  ``source_words`` label the attention matrix (``""`` past each end);
- ``greedy``: the same outputs but the n-best list, greedy decoding.

The vocabularies are assets of the SavedModel.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from apps.translate import decoding
from apps.translate.features import SOURCE_VOCAB, TARGET_VOCAB, Vocabulary, load_vocabularies
from rnnkit.app import Exported
from rnnkit.export import ServingModule
from rnnkit.runs import Run

OUTPUTS = ("translation", "score", "copied", "words", "source_words", "attention")
N_BEST = ("translations", "scores")
# Warmup requests, in the source language of each direction.
WARMUP = {
    "de-en": ["Wie spät ist es?", "Das ist nicht so schwer.", "Ich habe keine Zeit."],
    "en-de": ["What time is it?", "That is not so hard.", "I have no time."],
}


class TranslatorModule(ServingModule):
    """The serving functions over a trained ``apps.translate.model.Translator``."""

    def __init__(self, model, source_vocab: Vocabulary, target_vocab: Vocabulary, beam, alpha):
        super().__init__(model=model)
        self.source_table = source_vocab.table()  # tracked: its initializer is the init op
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.beam_width, self.alpha = beam, alpha
        spec = [tf.TensorSpec([None], tf.string, name="text")]
        self.serve = tf.function(self._beam, input_signature=spec)
        self.greedy = tf.function(self._greedy, input_signature=spec)

    def _translate(self, text, beam: int):
        out = decoding.translate(
            self.models["model"],
            (self.source_vocab, self.target_vocab),
            self.source_table,
            text,
            beam,
            self.alpha,
        )
        return {name: out[name] for name in OUTPUTS + (N_BEST if beam > 1 else ())}

    def _greedy(self, text):
        return self._translate(text, 1)

    def _beam(self, text):
        return self._translate(text, self.beam_width)


def export(run: Run, beam: int | None = None) -> Exported:
    source_vocab, target_vocab = load_vocabularies(run.path)
    config = run.config
    module = TranslatorModule(
        run.model,
        source_vocab,
        target_vocab,
        beam or config.model.beam,
        config.model.length_penalty,
    )
    module.source_vocab_file = tf.saved_model.Asset(str(run.path / SOURCE_VOCAB))
    module.target_vocab_file = tf.saved_model.Asset(str(run.path / TARGET_VOCAB))
    texts = np.array(WARMUP[config.data.direction], object)
    requests = {
        "serving_default": [{"text": texts[:1]}, {"text": texts}],
        "greedy": [{"text": texts}],
    }
    expected = {
        "serving_default": module.serve(tf.constant(texts)),
        "greedy": module.greedy(tf.constant(texts)),
    }

    def check(loaded):
        for name, want in expected.items():
            got = loaded.signatures[name](text=tf.constant(texts))
            np.testing.assert_array_equal(got["translation"].numpy(), want["translation"].numpy())
            np.testing.assert_allclose(got["score"].numpy(), want["score"].numpy(), atol=1e-4)

    return Exported(
        module=module,
        signatures={"serving_default": module.serve, "greedy": module.greedy},
        warmup=requests,
        check=check,
    )
