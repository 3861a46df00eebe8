"""classify's SavedModel for TF Serving: raw text in, the label and probabilities out.

Signatures (every step in the graph, core ops only: ``rnnkit serving
check`` passes):

- ``serving_default(text: string[batch]) -> label: string[batch],
  probabilities: float[batch, classes]``: the calibrated probabilities
  (the temperature fitted on validation is in the model), classes in the
  order of the ``classes.json`` asset;
- ``explain``: the same, plus ``words: string[batch, T]`` (``""`` past each
  end) and ``weights: float[batch, T]``, each word's share of the decision
  (attention weights, or gradient x input).

The vocabulary and the class names are assets of the SavedModel.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from apps.classify.features import CLASSES, VOCAB, load_run_files
from apps.classify.inference import classify
from rnnkit.app import Exported
from rnnkit.export import ServingModule
from rnnkit.runs import Run

WARMUP = [
    "A gorgeous, witty, seductive movie.",
    "The plot is a mess and the jokes fall flat.",
    "",
]


class ClassifierModule(ServingModule):
    """The serving functions over a trained ``apps.classify.model.Classifier``."""

    def __init__(self, model, vocab, classes, max_words: int):
        super().__init__(model=model)
        self.table = vocab.table()  # tracked: its initializer is the init op
        self.vocab, self.max_words = vocab, max_words
        self.class_names = tf.constant(classes)
        spec = [tf.TensorSpec([None], tf.string, name="text")]
        self.serve = tf.function(lambda text: self._run(text, False), input_signature=spec)
        self.explain = tf.function(lambda text: self._run(text, True), input_signature=spec)

    def _run(self, text, explain: bool):
        return classify(
            self.models["model"],
            self.vocab,
            self.table,
            self.max_words,
            self.class_names,
            text,
            explain,
        )


def export(run: Run) -> Exported:
    vocab, classes = load_run_files(run.path)
    module = ClassifierModule(run.model, vocab, classes, run.config.data.max_words)
    module.vocab_file = tf.saved_model.Asset(str(run.path / VOCAB))
    module.classes_file = tf.saved_model.Asset(str(run.path / CLASSES))
    texts = np.array(WARMUP, object)
    requests = {
        "serving_default": [{"text": texts[:1]}, {"text": texts}],
        "explain": [{"text": texts}],
    }
    expected = {
        "serving_default": module.serve(tf.constant(texts)),
        "explain": module.explain(tf.constant(texts)),
    }

    def check(loaded):
        for name, want in expected.items():
            got = loaded.signatures[name](text=tf.constant(texts))
            np.testing.assert_array_equal(got["label"].numpy(), want["label"].numpy())
            np.testing.assert_allclose(
                got["probabilities"].numpy(), want["probabilities"].numpy(), atol=1e-5
            )

    return Exported(
        module=module,
        signatures={"serving_default": module.serve, "explain": module.explain},
        warmup=requests,
        check=check,
    )
