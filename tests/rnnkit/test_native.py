"""The native LSTM, GRU and Elman training kernels against the plain while loops."""

import numpy as np
import pytest
import tensorflow as tf

from rnnkit import layers as L
from rnnkit.kernels import elman_sequence, gru_sequence, lstm_sequence, native, training_loops

T, B, H = 7, 9, 6
RNG = np.random.default_rng(3)


def _mask(T=T, B=B):
    lengths = RNG.integers(1, T + 1, size=B)
    valid = np.arange(T)[:, None] < lengths[None, :]
    # Left-pad every other row, so both layouts go through one call.
    valid[:, ::2] = valid[::-1, ::2]
    return tf.constant(valid[:, :, None].astype("float32"))


def _inputs(gates, T=T, B=B, H=H, u_scale=0.4):
    xp = tf.constant(RNG.normal(size=(T, B, gates * H)).astype("float32"))
    U = tf.constant(RNG.normal(scale=u_scale, size=(H, gates * H)).astype("float32"))
    states = [tf.constant(RNG.normal(size=(B, H)).astype("float32")) for _ in range(2)]
    rec_mask = tf.constant((RNG.random((B, H)) > 0.3).astype("float32") / 0.7)
    bias = tf.constant(RNG.normal(size=(gates * H,)).astype("float32"))
    d_hs = tf.constant(RNG.normal(size=(T, B, H)).astype("float32"))
    return xp, U, states, rec_mask, bias, d_hs


def _lstm(xp, U, states, bias, mask, rec_mask):
    return lstm_sequence(xp, tuple(states), U, mask=mask, rec_mask=rec_mask)


def _gru(xp, U, states, bias, mask, rec_mask):
    return gru_sequence(xp, (states[0],), U, bias, mask=mask, rec_mask=rec_mask)


def _elman(activation):
    def run(xp, U, states, bias, mask, rec_mask):
        return elman_sequence(xp, (states[0],), U, mask, rec_mask, activation=activation)

    return run


def _outputs_and_grads(fn, gates, fast, use_mask, use_rec, shape=(T, B, H), u_scale=0.4):
    xp, U, states, rec_mask, bias, d_hs = _inputs(gates, *shape, u_scale)
    mask = _mask(*shape[:2]) if use_mask else None
    rec_mask = rec_mask if use_rec else None

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            tape.watch([xp, U, bias, *states])
            with training_loops(fast):
                hs, finals = fn(xp, U, states, bias, mask, rec_mask)
            loss = tf.reduce_sum(hs * d_hs) + sum(tf.reduce_sum(s * 1.7) for s in finals)
        grads = tape.gradient(loss, [xp, U, bias, *states])
        return [hs, *finals], [g for g in grads if g is not None]

    return (*run(), _op_types(run))


def _op_types(fn, *args):
    return {op.type for op in fn.get_concrete_function(*args).graph.get_operations()}


def test_library_is_built():
    assert native.is_built(), "build it with `python -m rnnkit.kernels.native` (make venv does)"
    assert native.ops() is not None


@pytest.mark.parametrize("use_rec", [False, True], ids=["", "recdrop"])
@pytest.mark.parametrize("use_mask", [False, True], ids=["", "mask"])
@pytest.mark.parametrize(
    ("name", "fn", "gates"),
    [
        ("Lstm", _lstm, 4),
        ("Gru", _gru, 3),
        *(("Elman", _elman(a), 1) for a in ("tanh", "relu", "sigmoid", "linear")),
    ],
    ids=["lstm", "gru", "elman-tanh", "elman-relu", "elman-sigmoid", "elman-linear"],
)
def test_native_matches_plain_loops(name, fn, gates, use_mask, use_rec):
    seed = RNG.bit_generator.state
    fast_out, fast_grads, fast_ops = _outputs_and_grads(fn, gates, True, use_mask, use_rec)
    RNG.bit_generator.state = seed
    out, grads, plain_ops = _outputs_and_grads(fn, gates, False, use_mask, use_rec)
    assert {f"Rnnkit{name}Forward", f"Rnnkit{name}Backward"} <= fast_ops
    assert not any(op.startswith("Rnnkit") for op in plain_ops)
    for a, b in zip(fast_out, out):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # xp, U and the states; the GRU's recurrent bias in place of the LSTM's c0; the
    # Elman cell has neither.
    assert len(fast_grads) == len(grads) == (3 if name == "Elman" else 4)
    for a, b in zip(fast_grads, grads):
        np.testing.assert_allclose(a, b, atol=1e-4)


CELLS = [("Lstm", _lstm, 4), ("Gru", _gru, 3), ("Elman", _elman("tanh"), 1)]


@pytest.mark.parametrize(("name", "fn", "gates"), CELLS, ids=["lstm", "gru", "elman"])
def test_native_matches_plain_loops_across_panels(name, fn, gates):
    # 37 units: the packed recurrent kernel's 32-column panels end part-way (forward and
    # backward); 21 rows: blocks of 11 and 10 per thread, each over 8 rows and a rest.
    shape = (5, 21, 37)
    seed = RNG.bit_generator.state
    fast_out, fast_grads, _ = _outputs_and_grads(fn, gates, True, True, True, shape)
    RNG.bit_generator.state = seed
    out, grads, _ = _outputs_and_grads(fn, gates, False, True, True, shape)
    for a, b in zip([*fast_out, *fast_grads], [*out, *grads]):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


@pytest.mark.skipif(not native.has_bf16(), reason="the CPU has no AVX512_BF16")
@pytest.mark.parametrize(("name", "fn", "gates"), CELLS, ids=["lstm", "gru", "elman"])
def test_bf16_matmuls_are_close_to_float32(name, fn, gates, monkeypatch):
    shape = (6, 21, 37)  # an odd number of units: the bf16 pairs end half-empty
    # The other tests' recurrent gain at 6 units, so rounding errors are not amplified.
    u_scale = 0.4 * np.sqrt(H / 37)
    seed = RNG.bit_generator.state
    out, grads, _ = _outputs_and_grads(fn, gates, True, True, True, shape, u_scale)
    monkeypatch.setenv("RNNKIT_BF16", "1")
    RNG.bit_generator.state = seed
    run = _outputs_and_grads(fn, gates, True, True, True, shape, u_scale)
    bf16_out, bf16_grads = run[0], run[1]
    for a, b in zip([*bf16_out, *bf16_grads], [*out, *grads]):
        scale = float(np.max(np.abs(b)))
        error = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        # bfloat16 keeps 8 bits of mantissa: errors of a few 2^-9 of the scale.
        assert error < 2e-2 * scale
    assert any(not np.array_equal(a, b) for a, b in zip(bf16_out, out))


def test_switched_off_by_environment(monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    assert native.ops() is None
    _, _, ops = _outputs_and_grads(_lstm, 4, True, False, False)
    assert not any(op.startswith("Rnnkit") for op in ops)


def test_stale_library_is_not_loaded(monkeypatch):
    monkeypatch.setattr(native, "_fingerprint", lambda: {"tensorflow": "0.0"})
    assert not native.is_built()


def test_training_step_of_a_model_uses_native_ops():
    layer = L.LSTM(H, return_sequences=True, recurrent_dropout=0.2, dropout=0.1)
    x = tf.constant(RNG.normal(size=(B, T, 3)).astype("float32"))

    @tf.function
    def step(training):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=training) ** 2)
        return tape.gradient(loss, layer.trainable_weights)

    grads = step(True)
    assert all(float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)
    assert "RnnkitLstmBackward" in _op_types(step, True)
    step(False)
    assert not any(op.startswith("Rnnkit") for op in _op_types(step, False))
