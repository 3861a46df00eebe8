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

from apps.textgen.config import MAX_NEW_CHARS
from apps.textgen.data import VOCAB_FILE, Vocab
from apps.textgen.decoding import sample
from apps.textgen.model import CharRNN
from rnnkit.app import Exported
from rnnkit.export import ServingModule
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


class Generator(ServingModule):
    """The model and its vocabulary as graph functions: what ``export`` saves.

    - ``generate(prompt, max_new_chars, temperature, top_k, top_p, seed)``:
      all ``[batch]``; returns ``text`` (prompt + new characters) and
      ``completion`` (the new characters).
    - ``prime(prompt)``: reads the prompts; returns the ``logits`` for the
      next character and the ``state`` after the prompt.
    - ``step(ids, state)``: one character per row in; ``logits`` and the new
      ``state`` out (the state is one ``[batch, state_size]`` tensor).

    Every prompt is read after a line break, the way speeches start in the
    training text, so an empty prompt works too.
    """

    def __init__(self, model: CharRNN, vocab: Vocab):
        super().__init__(model=model)
        self.vocab_size = len(vocab)
        self.state_size = model.state_size
        self.num_states = model.num_layers * model.states_per_layer
        self.chars = tf.constant(vocab.chars)
        # Python sorts characters by code point, so the vocabulary is a sorted table.
        self.codepoints = tf.constant([ord(c) for c in vocab.chars[1:]], tf.int32)
        self.generate = tf.function(
            self._generate,
            input_signature=[
                tf.TensorSpec([None], tf.string, name="prompt"),
                tf.TensorSpec([None], tf.int32, name="max_new_chars"),
                tf.TensorSpec([None], tf.float32, name="temperature"),
                tf.TensorSpec([None], tf.int32, name="top_k"),
                tf.TensorSpec([None], tf.float32, name="top_p"),
                tf.TensorSpec([None], tf.int32, name="seed"),
            ],
        )
        self.prime = tf.function(
            self._prime, input_signature=[tf.TensorSpec([None], tf.string, name="prompt")]
        )
        self.step = tf.function(
            self._step,
            input_signature=[
                tf.TensorSpec([None], tf.int32, name="ids"),
                tf.TensorSpec([None, self.state_size], tf.float32, name="state"),
            ],
        )

    def _encode(self, prompt):
        """Prompts -> ``(ids [batch, time], lengths [batch])``, each after a line break."""
        codes = tf.strings.unicode_decode(
            tf.strings.join(["\n", prompt]), "UTF-8", errors="replace"
        )
        flat = codes.flat_values
        pos = tf.searchsorted(self.codepoints, flat)
        found = tf.gather(self.codepoints, tf.minimum(pos, tf.size(self.codepoints) - 1)) == flat
        ids = codes.with_flat_values(tf.where(found, pos + 1, 0))
        # At least one column, so an empty batch still makes a valid sequence.
        padded = ids.to_tensor()
        padded = tf.pad(padded, [[0, 0], [0, tf.maximum(1 - tf.shape(padded)[1], 0)]])
        return padded, tf.cast(ids.row_lengths(), tf.int32)

    def _read(self, prompt):
        ids, lengths = self._encode(prompt)
        mask = tf.sequence_mask(lengths, tf.shape(ids)[1])
        logits, states = self.models["model"](ids, padding_mask=mask, training=False)
        return tf.gather(logits, lengths - 1, batch_dims=1), states

    def _prime(self, prompt):
        logits, states = self._read(prompt)
        return {"logits": logits, "state": tf.concat(states, axis=1)}

    def _step(self, ids, state):
        ids = tf.where((ids < 0) | (ids >= self.vocab_size), 0, ids)
        logits, states = self.models["model"].step(ids, tf.split(state, self.num_states, axis=1))
        return {"logits": logits, "state": tf.concat(states, axis=1)}

    def _generate(self, prompt, max_new_chars, temperature, top_k, top_p, seed):
        lengths = tf.clip_by_value(max_new_chars, 0, MAX_NEW_CHARS)
        steps = tf.reduce_max(tf.concat([lengths, [0]], axis=0))
        logits, states = self._read(prompt)
        batch = tf.shape(prompt)[0]

        def body(t, logits, out, *states):
            ids = sample(logits, temperature, top_k, top_p, seed, t)
            logits, states = self.models["model"].step(ids, list(states))
            return (t + 1, logits, out.write(t, ids), *states)

        out = tf.TensorArray(tf.int32, size=steps, element_shape=[None])
        _, _, out, *_ = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), logits, out, *states)
        )
        # An empty TensorArray cannot stack (its element shape is unknown).
        new_ids = tf.cond(
            steps > 0,
            lambda: tf.transpose(tf.reshape(out.stack(), [steps, batch])),
            lambda: tf.zeros([batch, 0], tf.int32),
        )
        new_ids = tf.RaggedTensor.from_tensor(new_ids, lengths=lengths)
        completion = tf.strings.reduce_join(tf.gather(self.chars, new_ids), axis=1)
        return {"text": tf.strings.join([prompt, completion]), "completion": completion}
