"""textgen's serving signatures: text in, text out, in the graph.

- ``serving_default``: ``prompt`` (string), ``max_new_chars`` (int32),
  ``temperature`` (float32), ``top_k`` (int32), ``top_p`` (float32), ``seed``
  (int32), all ``[batch]`` -> ``text`` (prompt + new characters) and
  ``completion`` (string ``[batch]``).
- ``prime``: ``prompt`` -> ``logits [batch, vocab]`` for the next character
  and the ``state [batch, state_size]`` after the prompt.
- ``step``: ``ids [batch]`` and ``state`` -> ``logits`` and the new ``state``;
  for streaming, the client carries the state (TF Serving keeps none).

The vocabulary is in ``assets/vocab.json`` (id ``i + 1`` is ``chars[i]``,
id 0 any unknown character).
"""

import numpy as np
import tensorflow as tf

from apps.textgen.data import VOCAB_FILE, Vocab
from apps.textgen.tasks import Generator
from rnnkit.app import Exported
from rnnkit.runs import Run

WARMUP_PROMPTS = ["ROMEO:", "", "First Citizen:\nBefore we proceed"]


def generate_request(prompts, max_new_chars=32, temperature=0.8, top_k=0, top_p=0.95, seed=0):
    """``serving_default`` inputs for a list of prompts (one value for every row)."""
    n = len(prompts)
    return {
        "prompt": np.array(prompts, dtype=object),
        "max_new_chars": np.full([n], max_new_chars, np.int32),
        "temperature": np.full([n], temperature, np.float32),
        "top_k": np.full([n], top_k, np.int32),
        "top_p": np.full([n], top_p, np.float32),
        "seed": np.arange(seed, seed + n, dtype=np.int32),
    }


def export(run: Run) -> Exported:
    vocab = Vocab.load(run.path)
    generator = Generator(run.model, vocab)
    generator.vocab_file = tf.saved_model.Asset(str(run.path / VOCAB_FILE))
    state = np.zeros([2, run.model.state_size], np.float32)
    warmup = {
        "serving_default": [
            generate_request(WARMUP_PROMPTS[:1]),
            generate_request(WARMUP_PROMPTS, max_new_chars=8),
        ],
        "prime": [{"prompt": np.array(WARMUP_PROMPTS, dtype=object)}],
        "step": [{"ids": np.array([1, 2], np.int32), "state": state}],
    }
    expected = generator.prime(prompt=tf.constant(WARMUP_PROMPTS))["logits"].numpy()

    def check(loaded):
        got = loaded.signatures["prime"](prompt=tf.constant(WARMUP_PROMPTS))["logits"].numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
        request = {k: tf.constant(v) for k, v in generate_request(WARMUP_PROMPTS).items()}
        first = loaded.signatures["serving_default"](**request)["text"].numpy()
        again = loaded.signatures["serving_default"](**request)["text"].numpy()
        if not (first == again).all():
            raise AssertionError("the same seeds gave different texts")

    return Exported(
        module=generator,
        signatures={
            "serving_default": generator.generate,
            "prime": generator.prime,
            "step": generator.step,
        },
        warmup=warmup,
        check=check,
    )
