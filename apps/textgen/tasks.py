"""What textgen does with a model, in pure TensorFlow: train, sample, generate, score.

- ``make_task``: the training job for ``rnnkit.training.fit`` (stateless
  windows, or TBPTT with the state carried across consecutive windows).
- ``sample``: one character per row with its own temperature, top-k, top-p
  and seed; the random numbers come from a counter-based hash of (seed,
  step, id), so a row's text depends only on its own inputs, not on the
  batch it is in or the machine it runs on.
- ``Generator``: the ``generate`` / ``prime`` / ``step`` functions that
  ``generate`` runs and ``export`` saves; the state is carried one step per
  new character.
- ``beam_search`` over ``prime`` / ``step``, and ``stream_bits_per_char``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.textgen import data
from apps.textgen.baseline import KneserNey
from apps.textgen.config import TextgenConfig
from apps.textgen.model import CharRNN, build_model
from rnnkit.export import ServingModule
from rnnkit.training import Task

MAX_NEW_CHARS = 10_000
LN2 = math.log(2.0)

# -- training ------------------------------------------------------------------------------


def _per_example_loss(logits, targets):
    per_char = tf.nn.sparse_softmax_cross_entropy_with_logits(
        tf.cast(targets, tf.int32), tf.cast(logits, tf.float32)
    )
    return tf.reduce_mean(per_char, axis=-1)


def derived_metrics(loss: float) -> dict[str, float]:
    return {"bits_per_char": loss / LN2, "perplexity": math.exp(min(loss, 50.0))}


def make_task(config: TextgenConfig, run_dir: Path) -> Task:
    """Loads the text, saves the vocabulary into ``run_dir`` and returns the training task."""
    train_text, val_text = data.load_text(config.data)
    vocab = data.Vocab.from_text(train_text)
    vocab.save(run_dir)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    seq_len, batch = config.data.seq_len, config.train.batch_size
    window = config.data.tbptt
    if window and len(train_ids) < batch * window + window + 1:
        raise data.InputError(
            f"{len(train_ids)} training characters are too few for --tbptt {window} with "
            f"batch size {batch}: at least {batch * window + window + 1} are needed"
        )
    # A short validation split (a small user file) gets shorter windows.
    val_len = max(1, min(seq_len, len(val_ids) - 1))
    carried: list[tf.Variable] = []
    holder: dict = {}

    def build():
        model = build_model(config.model, len(vocab))
        if window:
            # One state per replica (sync-on-read): each replica's rows of
            # window n + 1 continue its rows of window n. The state is not
            # checkpointed: a resumed run starts its next window from zeros.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            carried[:] = [
                tf.Variable(
                    s,
                    trainable=False,
                    synchronization=tf.VariableSynchronization.ON_READ,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                )
                for s in model.zero_states(batch // replicas)
            ]
        return model

    ar, tar = config.model.activation_reg, config.model.temporal_reg

    def loss(model, batch_data, training):
        states = None
        if len(batch_data) == 3:
            inputs, targets, first = batch_data
            keep = 1.0 - tf.cast(first, tf.float32)[:, None]
            states = [v * keep for v in carried]
        else:
            inputs, targets = batch_data
        logits, new_states, raw, dropped = model.forward(inputs, states, training=training)
        if states is not None:
            for v, s in zip(carried, new_states):
                v.assign(tf.stop_gradient(s))
        found = _per_example_loss(logits, targets)
        if training and ar:
            found += ar * tf.reduce_mean(tf.square(dropped), axis=[1, 2])
        if training and tar:
            found += tar * tf.reduce_mean(tf.square(raw[:, 1:] - raw[:, :-1]), axis=[1, 2])
        return found

    def train_data(epoch):
        seed = config.seed * 1000 + epoch
        if window:
            offset = int(np.random.default_rng(seed).integers(0, window))
            usable = len(train_ids) - window
            return data.stream_batches(train_ids[: usable + offset], window, batch, offset)
        return data.random_windows(train_ids, seq_len, batch, seed)

    def samples(model, epoch):
        if "generator" not in holder:
            holder["generator"] = Generator(model, vocab)
        out = holder["generator"].generate(
            prompt=tf.constant([config.sample_prompt]),
            max_new_chars=tf.constant([300]),
            temperature=tf.constant([0.8]),
            top_k=tf.constant([0]),
            top_p=tf.constant([0.95]),
            seed=tf.constant([epoch]),
        )
        return {"samples/temperature_0.8": out["text"][0].numpy().decode("utf-8")}

    return Task(
        build_model=build,
        loss=loss,
        train_data=train_data,
        val_data=lambda: data.val_windows(val_ids, val_len, batch),
        derived_metrics=derived_metrics,
        samples=samples,
        monitor="loss",
    )


# -- sampling ------------------------------------------------------------------------------

_MASK32 = 0xFFFFFFFF


def _hash32(x):
    """Chris Wellons' lowbias32 integer hash on int64 tensors holding 32-bit values."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = tf.bitwise.bitwise_and(x * 0x7FEB352D, _MASK32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = tf.bitwise.bitwise_and(x * 0x846CA68B, _MASK32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _gumbel(seed, step, vocab_size):
    """Gumbel noise ``[batch, vocab]`` from (row seed, step, id) alone."""
    key = _hash32(tf.bitwise.bitwise_and(tf.cast(seed, tf.int64), _MASK32))
    key = _hash32(tf.bitwise.bitwise_and(key + tf.cast(step, tf.int64) * 0x9E3779B9, _MASK32))
    ids = tf.range(vocab_size, dtype=tf.int64)[tf.newaxis]
    bits = _hash32(tf.bitwise.bitwise_and(key[:, tf.newaxis] + ids * 0x85EBCA6B, _MASK32))
    uniform = (tf.cast(bits, tf.float64) + 0.5) / 4294967296.0
    return tf.cast(-tf.math.log(-tf.math.log(uniform)), tf.float32)


def sample(logits, temperature, top_k, top_p, seed, step):
    """One id per row from ``logits [batch, vocab]``.

    ``temperature <= 0``: greedy. ``top_k <= 0`` or ``>= vocab``: no top-k cut.
    ``top_p <= 0`` or ``>= 1``: no nucleus cut. Id 0 (unknown) is never drawn.
    """
    vocab_size = tf.shape(logits)[1]
    neg_inf = tf.constant(-np.inf, tf.float32)
    logits = tf.concat([tf.fill([tf.shape(logits)[0], 1], neg_inf), logits[:, 1:]], axis=1)
    greedy = temperature <= 0.0
    scaled = logits / tf.where(greedy, 1.0, temperature)[:, tf.newaxis]
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")
    k = tf.where((top_k <= 0) | (top_k > vocab_size), vocab_size, top_k)
    kth = tf.gather(ranked, k - 1, batch_dims=1)
    scaled = tf.where(scaled < kth[:, tf.newaxis], neg_inf, scaled)
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")
    before = tf.math.cumsum(tf.nn.softmax(ranked), axis=-1, exclusive=True)
    p = tf.where((top_p <= 0.0) | (top_p >= 1.0), 2.0, top_p)
    keep = before < p[:, tf.newaxis]
    cutoff = tf.reduce_min(tf.where(keep, ranked, np.inf), axis=-1)
    scaled = tf.where(scaled < cutoff[:, tf.newaxis], neg_inf, scaled)
    drawn = tf.argmax(scaled + _gumbel(seed, step, vocab_size), axis=-1, output_type=tf.int32)
    return tf.where(greedy, tf.argmax(logits, axis=-1, output_type=tf.int32), drawn)


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

    def __init__(self, model: CharRNN, vocab: data.Vocab):
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


def beam_search(prime, step, prompt: str, width: int, length: int) -> str:
    """The most likely ``length`` new characters under the model, ``width`` beams wide.

    ``prime`` and ``step`` are ``Generator``'s functions, or the same-named
    signatures of an exported SavedModel. Returns the new characters' ids.
    """
    out = prime(prompt=tf.constant([prompt]))
    logp = tf.nn.log_softmax(out["logits"])[0].numpy()
    logp[0] = -np.inf
    first = np.argsort(-logp)[:width]
    scores = logp[first]
    sequences = first[:, None]
    state = np.repeat(out["state"].numpy(), len(first), axis=0)
    for _ in range(length - 1):
        out = step(ids=tf.constant(sequences[:, -1], tf.int32), state=tf.constant(state))
        logp = tf.nn.log_softmax(out["logits"]).numpy()
        logp[:, 0] = -np.inf
        total = (scores[:, None] + logp).ravel()
        best = np.argsort(-total, kind="stable")[:width]
        parents, ids = np.divmod(best, logp.shape[1])
        scores = total[best]
        sequences = np.concatenate([sequences[parents], ids[:, None]], axis=1)
        state = out["state"].numpy()[parents]
    return sequences[0]


# -- evaluation ----------------------------------------------------------------------------


def stream_bits_per_char(model: CharRNN, ids: np.ndarray, rows: int = 16, chunk: int = 512):
    """Bits per character of ``ids[1:]``, each predicted from everything before it.

    The stream is cut into ``rows`` contiguous rows read in parallel, with the
    state carried from chunk to chunk. Returns ``(bits_per_char, scored)``:
    the characters ``ids[1 : scored + 1]`` were scored (a remainder shorter
    than ``rows`` is left out).
    """
    rows = max(1, min(rows, (len(ids) - 1) // 2))
    width = (len(ids) - 1) // rows
    inputs = ids[: rows * width].reshape(rows, width)
    targets = ids[1 : rows * width + 1].reshape(rows, width)

    num_states = model.num_layers * model.states_per_layer

    @tf.function(
        input_signature=[tf.TensorSpec([rows, None], tf.int32)] * 2
        + [tf.TensorSpec([rows, model.units])] * num_states
    )
    def nll(x, y, *states):
        logits, states = model(x, list(states), training=False)
        per_row = _per_example_loss(logits, y) * tf.cast(tf.shape(y)[1], tf.float32)
        return tf.reduce_sum(per_row), states

    total = 0.0
    states = model.zero_states(rows)
    for start in range(0, width, chunk):
        value, states = nll(
            inputs[:, start : start + chunk], targets[:, start : start + chunk], *states
        )
        total += float(value)
    return total / (rows * width) / LN2, rows * width


def evaluate(config: TextgenConfig, model: CharRNN, vocab: data.Vocab) -> dict:
    """Validation bits/char and perplexity of the model and of the order-5 KN baseline."""
    train_text, val_text = data.load_text(config.data)
    bits, scored = stream_bits_per_char(model, vocab.encode(val_text))
    baseline = KneserNey(train_text, order=5)
    # The baseline scores the same characters, with up to four characters of context.
    scored_text = val_text[: scored + 1]
    baseline_bits = baseline.bits_per_char(scored_text, start=1)
    return {
        "bits_per_char": bits,
        "perplexity": 2.0**bits,
        "baseline_bits_per_char": baseline_bits,
        "baseline_perplexity": 2.0**baseline_bits,
        "ratio_to_baseline": bits / baseline_bits,
        "baseline": "order-5 interpolated Kneser-Ney character model, fitted on the training split",
        "validation_chars": scored,
        "training_chars": len(train_text),
        "data": config.data.source,
    }
