"""Truncated BPTT: windows, carried state, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnnkit.layers as L
from rnnkit.tbptt import TruncatedBPTT, split_windows, stream_windows


class CharModel(keras.Model):
    """Embedding -> LSTM -> logits, passing the LSTM state in and out."""

    def __init__(self, vocab=11, units=8):
        super().__init__()
        self.embed = keras.layers.Embedding(vocab, 6)
        self.rnn = L.LSTM(units, return_sequences=True, return_state=True)
        self.logits = keras.layers.Dense(vocab)

    def call(self, inputs, states=None, training=False):
        outputs, h, c = self.rnn(self.embed(inputs), initial_state=states, training=training)
        return self.logits(outputs), [h, c]


def _loss(targets, logits):
    return tf.reduce_mean(
        keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    )


def test_split_windows_covers_the_sequence_in_order():
    x = np.arange(2 * 10).reshape(2, 10)
    pieces = split_windows(x, 4)
    assert [p.shape[1] for p in pieces] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), x)


def test_stream_windows_rows_continue_across_windows():
    tokens = np.arange(101)
    inputs, targets = stream_windows(tokens, batch_size=4, window=5)
    assert inputs.shape == targets.shape == (5, 4, 5)
    np.testing.assert_array_equal(targets, inputs + 1)
    for n in range(4):
        # Row b of window n + 1 picks up where row b of window n stopped.
        np.testing.assert_array_equal(inputs[n + 1][:, 0], inputs[n][:, -1] + 1)


def test_stream_windows_rejects_a_short_stream():
    with pytest.raises(ValueError, match="too short"):
        stream_windows(np.arange(10), batch_size=4, window=5)


def test_windows_with_carried_state_end_in_the_state_of_one_whole_pass():
    model = CharModel()
    x = np.random.default_rng(0).integers(0, 11, (3, 24))
    # A learning rate of zero: the state is carried through training steps but
    # the weights stay put, so one inference pass must reach the same state.
    tbptt = TruncatedBPTT(model, window=5, optimizer=keras.optimizers.SGD(0.0), loss=_loss)
    losses, states = tbptt.fit_sequence(x[:, :-1], x[:, 1:])
    assert len(losses) == 5
    _, whole = model(x[:, :-1], None, training=False)
    for got, want in zip(states, whole):
        np.testing.assert_allclose(got, want, atol=1e-5)
    # The carry matters: the last window alone, from zeros, ends elsewhere.
    _, last_only = model(x[:, 20:-1], None)
    assert not np.allclose(last_only[0], whole[0], atol=1e-3)


def test_no_gradient_crosses_the_window_boundary():
    model = CharModel()
    x = tf.constant(np.random.default_rng(1).integers(0, 11, (2, 8)))
    _, states = model(x[:, :4], None)
    with tf.GradientTape() as tape:
        tape.watch(states)
        logits, _ = model(x[:, 4:], [tf.stop_gradient(s) for s in states], training=True)
        loss = _loss(x[:, 4:], logits)
    assert all(g is None for g in tape.gradient(loss, states))


def test_training_on_a_stream_lowers_the_loss():
    keras.utils.set_random_seed(0)
    model = CharModel()
    pattern = np.tile(np.arange(11), 40)  # a predictable stream
    inputs, targets = stream_windows(pattern, batch_size=4, window=10)
    tbptt = TruncatedBPTT(model, window=10, optimizer=keras.optimizers.Adam(0.02), loss=_loss)
    model(inputs[0], None)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = tbptt.fit_stream(inputs, targets, epochs=4)
    assert history[-1] < 0.5 * history[0], history
    assert len(before) == 6
    assert all(not np.allclose(a, b.numpy()) for a, b in zip(before, model.trainable_weights))
