"""The Recurrent layer and its shorthands against Keras's built-in layers and NumPy."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnnkit.layers as L
from rnnkit import cells
from rnnkit.testing import elman_step, run_reference

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
MASKS = {
    "nomask": None,
    "right": np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], bool),
    "left": np.array([[1] * 6, [0] * 2 + [1] * 4, [0] * 5 + [1]], bool),
}

PAIRS = {
    "lstm": (
        lambda **kw: L.LSTM(5, **kw),
        lambda **kw: keras.layers.LSTM(5, use_cudnn=False, **kw),
    ),
    "gru": (lambda **kw: L.GRU(5, **kw), lambda **kw: keras.layers.GRU(5, use_cudnn=False, **kw)),
    "elman": (lambda **kw: L.Elman(5, **kw), lambda **kw: keras.layers.SimpleRNN(5, **kw)),
    **{
        f"elman-{a}": (
            lambda a=a, **kw: L.Elman(5, activation=a, **kw),
            lambda a=a, **kw: keras.layers.SimpleRNN(5, activation=a, **kw),
        )
        for a in ("relu", "sigmoid")
    },
}


def _pair(kind, **kwargs):
    make_mine, make_ref = PAIRS[kind]
    mine = make_mine(return_sequences=True, return_state=True, **kwargs)
    ref = make_ref(return_sequences=True, return_state=True, **kwargs)
    mine(X)
    ref(X)
    ref.set_weights([RNG.normal(scale=0.4, size=w.shape) for w in ref.get_weights()])
    mine.set_weights(ref.get_weights())
    return mine, ref


def _run(layer, x, mask, initial_state=None, training=True):
    """Outputs, final states and gradients of a loss touching all of them."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs, *states = layer(x, mask=mask, initial_state=initial_state, training=training)
        loss = tf.reduce_sum(outputs**2) + sum(
            tf.reduce_sum(s * (i + 1.5)) for i, s in enumerate(states)
        )
    grads = tape.gradient(loss, [x, *layer.trainable_weights])
    return [outputs, *states], grads


@pytest.mark.parametrize("kind", sorted(PAIRS))
@pytest.mark.parametrize("mask_name", sorted(MASKS))
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("mode", ["native", "xla", "graph", "eager"])
def test_matches_keras_outputs_states_and_gradients(
    kind, mask_name, go_backwards, mode, monkeypatch
):
    """Training graphs run native or XLA-compiled kernels; inference and eager calls do not."""
    if mode == "xla":
        monkeypatch.setenv("RNNKIT_NATIVE", "0")
    mine, ref = _pair(kind, go_backwards=go_backwards)
    mask = MASKS[mask_name]
    run = lambda x: _run(mine, x, mask, training=mode in ("native", "xla"))
    traced = tf.function(run)
    got, got_grads = run(X) if mode == "eager" else traced(X)
    if mode != "eager":
        ops = {op.type for op in traced.get_concrete_function(X).graph.get_operations()}
        assert any(op.startswith("Rnnkit") for op in ops) == (mode == "native")
    want, want_grads = _run(ref, X, mask)
    # Relative too: relu's states and gradients grow to tens.
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    assert len(got_grads) == len(want_grads)
    for a, b in zip(got_grads, want_grads):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_step_loop_matches_fused_kernel(kind):
    fused, _ = _pair(kind)
    config = fused.get_config()
    config["fused"] = False
    loop = type(fused).from_config(config)
    loop(X)
    loop.set_weights(fused.get_weights())
    mask = MASKS["left"]
    got, got_grads = tf.function(lambda x: _run(loop, x, mask))(X)
    want, want_grads = tf.function(lambda x: _run(fused, x, mask))(X)
    for a, b in zip(got + got_grads, want + want_grads):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_initial_state_matches_keras(kind):
    mine, ref = _pair(kind)
    sizes = 2 if kind == "lstm" else 1
    initial = [tf.constant(RNG.normal(size=(3, 5)).astype("float32")) for _ in range(sizes)]
    got, got_grads = tf.function(lambda x: _run(mine, x, MASKS["left"], initial))(X)
    want, want_grads = _run(ref, X, MASKS["left"], initial)
    for a, b in zip(got + got_grads, want + want_grads):
        np.testing.assert_allclose(a, b, atol=1e-5)


def _op_types(fn, *args):
    """Op types of a traced function's graph and of the functions it calls."""
    graph = fn.get_concrete_function(*args).graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return {node.op for node in nodes}


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("mask_name", ["nomask", "right", "left", "holes"])
def test_lstm_inference_runs_tf_block_op_and_matches_keras(mask_name, go_backwards):
    """Inference takes TF's BlockLSTMV2 (one op per sequence); masks with holes take the loop."""
    masks = {**MASKS, "holes": np.array([[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 0, 1], [1] * 6], bool)}
    mine, ref = _pair("lstm", go_backwards=go_backwards)
    mask = masks[mask_name]
    h0 = [tf.constant(RNG.normal(size=(3, 5)).astype("float32")) for _ in range(2)]
    infer = tf.function(lambda x: mine(x, mask=mask, initial_state=h0))
    assert "BlockLSTMV2" in _op_types(infer, X)
    for a, b in zip(infer(X), ref(X, mask=mask, initial_state=h0)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Gradients outside training: the loop kernel's, not TF's registered one.
    got, got_grads = tf.function(lambda x: _run(mine, x, mask, h0, training=False))(X)
    want, want_grads = _run(ref, X, mask, h0)
    for a, b in zip(got + got_grads, want + want_grads):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_lstm_inference_on_an_empty_batch():
    layer, _ = _pair("lstm")
    infer = tf.function(lambda x, mask: layer(x, mask=mask))
    outputs, h, c = infer(X[:0], MASKS["right"][:0])
    assert outputs.shape == (0, 6, 5) and h.shape == c.shape == (0, 5)


def test_lstm_training_graph_keeps_own_kernels():
    layer, _ = _pair("lstm")
    train = tf.function(lambda x: layer(x, training=True))
    assert "BlockLSTMV2" not in _op_types(train, X)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_elman_matches_numpy_reference(activation):
    layer = L.Elman(
        5, activation=activation, return_sequences=True, return_state=True, go_backwards=True
    )
    layer(X)
    layer.set_weights([RNG.normal(scale=0.4, size=w.shape) for w in layer.get_weights()])
    mask = MASKS["right"]
    outputs, state = layer(X, mask=mask)
    kernel, recurrent_kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
    want, (want_state,) = run_reference(
        elman_step,
        X,
        [np.zeros((3, 5))],
        mask=mask,
        go_backwards=True,
        kernel=kernel,
        recurrent_kernel=recurrent_kernel,
        bias=bias,
        activation=activation,
    )
    np.testing.assert_allclose(outputs, want, atol=1e-5)
    np.testing.assert_allclose(state, want_state, atol=1e-5)


def test_foreign_keras_cell_runs_in_step_loop():
    ref = keras.layers.RNN(keras.layers.GRUCell(5), return_sequences=True)
    mine = L.Recurrent(keras.layers.GRUCell(5), return_sequences=True)
    ref(X)
    mine(X)
    mine.set_weights(ref.get_weights())
    mask = MASKS["right"]
    np.testing.assert_allclose(mine(X, mask=mask), ref(X, mask=mask), atol=1e-5)


def test_cell_without_fused_kernel_uses_projection_and_step():
    cell = cells.LSTMCell(5, recurrent_activation="hard_sigmoid")
    assert cell.fused_sequence(tf.zeros([2, 1, 4]), [tf.zeros([1, 5])] * 2) is None
    mine = L.Recurrent(cell, return_sequences=True)
    ref = keras.layers.LSTM(
        5, recurrent_activation="hard_sigmoid", return_sequences=True, use_cudnn=False
    )
    mine(X)
    ref(X)
    mine.set_weights(ref.get_weights())
    np.testing.assert_allclose(tf.function(mine)(X), ref(X), atol=1e-5)


def test_return_shapes_and_last_output():
    layer = L.LSTM(7)
    assert layer(X).shape == (3, 7)
    layer = L.GRU(7, return_sequences=True, return_state=True)
    outputs, state = layer(X)
    assert outputs.shape == (3, 6, 7) and state.shape == (3, 7)
    np.testing.assert_allclose(outputs[:, -1], state, atol=1e-6)


def test_zero_output_for_mask():
    layer = L.GRU(5, return_sequences=True, zero_output_for_mask=True)
    outputs = layer(X, mask=MASKS["right"]).numpy()
    assert np.all(outputs[1, 4:] == 0) and np.all(outputs[2, 2:] == 0)
    assert np.all(outputs[0] != 0)


def test_variable_length_through_masking_layer():
    model = keras.Sequential([keras.Input((None, 4)), keras.layers.Masking(0.0), L.LSTM(5)])
    padded = X.copy()
    padded[1, 4:] = 0.0
    alone = model(X[1:2, :4])
    in_batch = model(padded)[1:2]
    np.testing.assert_allclose(in_batch, alone, atol=1e-5)


def test_stateful_carries_state_and_resets():
    layer = L.LSTM(5, stateful=True, return_sequences=True)
    whole = L.LSTM(5, return_sequences=True)
    x = X[:, :6]
    layer(x[:, :3])
    whole(x)
    whole.set_weights(layer.get_weights())
    layer.reset_states()
    first = layer(x[:, :3])
    second = layer(x[:, 3:])
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole(x), atol=1e-5)
    layer.reset_states()
    np.testing.assert_allclose(layer(x[:, :3]), first, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional_matches_keras(kind):
    make_mine, make_ref = PAIRS[kind]
    mine = keras.layers.Bidirectional(make_mine(return_sequences=True))
    ref = keras.layers.Bidirectional(make_ref(return_sequences=True))
    mine(X)
    ref(X)
    ref.set_weights([RNG.normal(scale=0.4, size=w.shape) for w in ref.get_weights()])
    mine.set_weights(ref.get_weights())
    mask = MASKS["right"]
    np.testing.assert_allclose(mine(X, mask=mask), ref(X, mask=mask), atol=1e-5)


def _model(layer):
    inputs = keras.Input((6, 4))
    return keras.Model(inputs, keras.layers.Dense(3)(layer(inputs)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: L.LSTM(5, return_sequences=True, dropout=0.1, go_backwards=True),
        lambda: L.GRU(5, recurrent_dropout=0.1, reset_after=True),
        lambda: L.Elman(5, activation="relu", return_sequences=True),
        lambda: L.Recurrent(cells.GRUCell(5), return_sequences=True),
    ],
    ids=["lstm", "gru", "elman", "recurrent"],
)
def test_config_json_and_keras_file_round_trips(make, tmp_path):
    layer = make()
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()

    model = _model(layer)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(X), model(X), atol=1e-6)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_export_to_saved_model_gives_same_outputs(kind, tmp_path):
    make_mine, _ = PAIRS[kind]
    model = _model(make_mine(return_sequences=True))
    model.export(str(tmp_path / "export"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "export"))
    np.testing.assert_allclose(restored.serve(X), model(X), atol=1e-5)
    # TF Serving runs XLA-compiled functions only behind an experimental flag.
    assert b"_XlaMustCompile" not in (tmp_path / "export" / "saved_model.pb").read_bytes()


def test_unroll_is_refused():
    with pytest.raises(ValueError, match="unroll"):
        L.LSTM(4, unroll=True)


def _fused_matches_loop(kind, **dropout):
    """A fused layer and a step-loop twin with the same seed, so the same masks: their
    outputs, states and gradients agree in training. Returns the fused layer and its
    training outputs."""
    make_mine, _ = PAIRS[kind]
    fused = make_mine(return_sequences=True, return_state=True, **dropout)
    loop = make_mine(return_sequences=True, return_state=True, fused=False, **dropout)
    fused(X)
    loop(X)
    loop.set_weights(fused.get_weights())
    got, got_grads = tf.function(lambda x: _run(fused, x, MASKS["right"]))(X)
    want, want_grads = tf.function(lambda x: _run(loop, x, MASKS["right"]))(X)
    for a, b in zip(got + got_grads, want + want_grads):
        np.testing.assert_allclose(a, b, atol=1e-5)
    return fused, got


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman"])
def test_dropout_fused_matches_step_loop_with_same_masks(kind):
    """Same seed, same masks: the fused kernel's dropout gradients match the step loop."""
    fused, got = _fused_matches_loop(kind, dropout=0.3, recurrent_dropout=0.3, seed=5)
    no_dropout, _ = _run(fused, X, MASKS["right"], training=False)
    assert not np.allclose(got[0], no_dropout[0], atol=1e-3)


def test_recurrent_dropout_mask_is_fixed_across_time():
    cell = cells.ElmanCell(6, activation="relu", dropout=0.5, seed=2)
    layer = L.Recurrent(cell, return_sequences=True)
    x = np.ones((8, 5, 6), "float32")
    layer(x)
    cell.kernel.assign(np.eye(6, dtype="float32"))
    cell.recurrent_kernel.assign(np.zeros((6, 6), "float32"))
    call = tf.function(lambda x: layer(x, training=True))
    first, second = call(x).numpy(), call(x).numpy()
    for out in (first, second):
        np.testing.assert_array_equal(out, np.repeat(out[:, :1], 5, axis=1))
        assert 0.2 < (out[:, 0] == 0).mean() < 0.8
    assert not np.array_equal(first, second)


@pytest.mark.parametrize("kind", ["lstm", "gru", "elman"])
def test_weight_dropout_fused_matches_step_loop_and_is_one_mask_per_batch(kind):
    """DropConnect on the recurrent kernel: the fused kernel, fed the dropped kernel, gives
    the step loop's outputs and gradients; every row and step shares one mask, and the
    next call draws another."""
    fused, got = _fused_matches_loop(kind, weight_dropout=0.5, seed=3)
    plain, _ = _run(fused, X, MASKS["right"], training=False)
    assert not np.allclose(got[0], plain[0], atol=1e-3)
    # Identical rows stay identical: the mask is on the weights, not on the rows.
    same = np.repeat(X[:1], 4, axis=0)
    call = tf.function(lambda x: fused(x, training=True)[0])
    first, second = call(same).numpy(), call(same).numpy()
    np.testing.assert_allclose(first, np.repeat(first[:1], 4, axis=0), atol=1e-6)
    assert not np.allclose(first, second, atol=1e-4)
    # Inference ignores it: the kernel as trained.
    np.testing.assert_allclose(fused(same)[0], np.repeat(fused(same[:1])[0], 4, axis=0), atol=1e-6)
    assert fused.get_config()["weight_dropout"] == 0.5


def test_weight_dropout_drops_the_given_fraction_and_rescales():
    cell = cells.LSTMCell(64, weight_dropout=0.3, seed=1)
    cell.build((None, 4))
    mask = cell.get_weight_dropout_mask(cell.recurrent_kernel).numpy()
    assert mask.shape == (64, 256)
    np.testing.assert_allclose(np.unique(mask), [0.0, 1 / 0.7], rtol=1e-6)
    assert (mask == 0).mean() == pytest.approx(0.3, abs=0.02)
    with pytest.raises(ValueError, match="weight_dropout"):
        cells.GRUCell(4, weight_dropout=1.0)


def test_attention_of_many_queries_equals_one_query_at_a_time():
    from rnnkit.layers import BahdanauAttention

    attention = BahdanauAttention(6)
    values = keras.random.normal((2, 9, 5), seed=3)
    queries = keras.random.normal((2, 4, 7), seed=4)
    mask = np.ones((2, 9), bool)
    mask[0, 5:] = False
    context, weights = attention(queries, values, values_mask=mask)
    assert tuple(context.shape) == (2, 4, 5) and tuple(weights.shape) == (2, 4, 9)
    assert np.asarray(weights)[0, :, 5:].max() == 0.0
    for t in range(4):
        one_context, one_weights = attention(queries[:, t], values, values_mask=mask)
        np.testing.assert_allclose(np.asarray(weights)[:, t], one_weights, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(np.asarray(context)[:, t], one_context, rtol=1e-5, atol=1e-6)
