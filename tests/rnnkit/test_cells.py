"""The cells: NumPy reference steps, Keras RNN compatibility, dropout, config."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnkit import cells
from rnnkit.testing import elman_step, gru_step, lstm_step, run_reference

RNG = np.random.default_rng(7)


def _weights(cell):
    return {
        "kernel": cell.kernel.numpy().astype(np.float64),
        "recurrent_kernel": cell.recurrent_kernel.numpy().astype(np.float64),
        "bias": cell.bias.numpy().astype(np.float64),
    }


def _randomize(cell):
    for w in cell.weights:
        w.assign(RNG.normal(scale=0.5, size=w.shape).astype("float32"))


CASES = [
    (lambda: cells.ElmanCell(4, activation="tanh"), elman_step, {"activation": "tanh"}),
    (lambda: cells.ElmanCell(4, activation="sigmoid"), elman_step, {"activation": "sigmoid"}),
    (lambda: cells.ElmanCell(4, activation="relu"), elman_step, {"activation": "relu"}),
    (lambda: cells.LSTMCell(4), lstm_step, {}),
    (lambda: cells.GRUCell(4), gru_step, {}),
]
IDS = ["elman-tanh", "elman-sigmoid", "elman-relu", "lstm", "gru"]


@pytest.mark.parametrize(("make", "reference", "extra"), CASES, ids=IDS)
def test_one_step_matches_numpy_reference(make, reference, extra):
    cell = make()
    x = RNG.normal(size=(3, 5)).astype("float32")
    cell.build(x.shape)
    _randomize(cell)
    sizes = cell.state_size if isinstance(cell.state_size, list) else [cell.state_size]
    states = [RNG.normal(size=(3, s)).astype("float32") for s in sizes]

    output, new_states = cell(x, states)
    want_output, want_states = reference(x, states, **_weights(cell), **extra)

    np.testing.assert_allclose(output, want_output, atol=1e-5)
    for got, want in zip(new_states, want_states):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize(("make", "reference", "extra"), CASES, ids=IDS)
def test_cell_inside_keras_rnn_matches_reference(make, reference, extra):
    cell = make()
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    x = RNG.normal(size=(2, 6, 3)).astype("float32")
    mask = np.ones((2, 6), bool)
    mask[0, 4:] = False
    layer(x)
    _randomize(cell)
    outputs, *states = layer(x, mask=mask)
    zeros = [np.zeros((2, 4))] * len(states)
    want_outputs, want_states = run_reference(
        reference, x, zeros, mask=mask, **_weights(cell), **extra
    )
    np.testing.assert_allclose(outputs, want_outputs, atol=1e-5)
    for got, want in zip(states, want_states):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_elman_rejects_other_activations():
    with pytest.raises(ValueError, match="activation.*Received: activation='softplus'"):
        cells.ElmanCell(4, activation="softplus")


@pytest.mark.parametrize("units", [0, -3, 2.5, "8"])
def test_units_must_be_positive_integer(units):
    with pytest.raises(ValueError, match="`units` must be a positive integer"):
        cells.LSTMCell(units)


def test_dropout_rate_is_checked():
    with pytest.raises(ValueError, match="`dropout` must be a float in \\[0, 1\\)"):
        cells.GRUCell(4, dropout=1.5)


def test_unit_forget_bias_sets_forget_gate_bias_to_one():
    cell = cells.LSTMCell(3)
    cell.build((None, 2))
    np.testing.assert_array_equal(cell.bias.numpy(), [0] * 3 + [1] * 3 + [0] * 6)
    cell = cells.LSTMCell(3, unit_forget_bias=False)
    cell.build((None, 2))
    np.testing.assert_array_equal(cell.bias.numpy(), [0] * 12)


def test_gru_bias_shape_follows_reset_after():
    cell = cells.GRUCell(3)
    cell.build((None, 2))
    assert cell.bias.shape == (2, 9)
    cell = cells.GRUCell(3, reset_after=False)
    cell.build((None, 2))
    assert cell.bias.shape == (9,)


@pytest.mark.parametrize(
    "make",
    [
        lambda: cells.ElmanCell(5, activation="relu", dropout=0.1, seed=3),
        lambda: cells.LSTMCell(5, recurrent_activation="hard_sigmoid", unit_forget_bias=False),
        lambda: cells.GRUCell(5, reset_after=False, recurrent_dropout=0.2),
    ],
    ids=["elman", "lstm", "gru"],
)
def test_config_json_round_trip(make):
    cell = make()
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(cell)))
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(cell)
    assert clone.get_config() == cell.get_config()
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    layer, clone_layer = keras.layers.RNN(cell), keras.layers.RNN(clone)
    layer(x)
    clone_layer(x)
    clone_layer.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x), clone_layer(x), atol=1e-6)


def _dropout_probe(cell_class, **kwargs):
    """A relu Elman cell that outputs its input dropout mask times the input.

    With an identity kernel, no recurrence and no bias, the output at step t is
    ``relu(mask * x_t)``: for x_t = 1 everywhere it is the mask itself.
    """
    cell = cell_class(6, activation="relu", dropout=0.5, **kwargs)
    cell.build((None, 6))
    cell.kernel.assign(np.eye(6, dtype="float32"))
    cell.recurrent_kernel.assign(np.zeros((6, 6), "float32"))
    return cell


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
def test_dropout_mask_is_fixed_across_time_in_keras_rnn(compiled):
    cell = _dropout_probe(cells.ElmanCell, seed=1)
    layer = keras.layers.RNN(cell, return_sequences=True)
    x = np.ones((8, 5, 6), "float32")
    call = (
        tf.function(lambda x: layer(x, training=True))
        if compiled
        else (lambda x: layer(x, training=True))
    )
    first, second = call(x).numpy(), call(x).numpy()
    for out in (first, second):
        # Every step repeats the first step's mask; about half the units drop.
        np.testing.assert_array_equal(out, np.repeat(out[:, :1], 5, axis=1))
        assert 0.2 < (out[:, 0] == 0).mean() < 0.8
    # A new call draws a new mask.
    assert not np.array_equal(first, second)
    # No dropout at inference.
    np.testing.assert_array_equal(layer(x, training=False), x)
