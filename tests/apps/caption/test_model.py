"""caption's encoder and attention decoder."""

import json

import keras
import numpy as np

from apps.caption import config as cfg
from apps.caption.model import build_model
from rnnkit.layers import BahdanauAttention


def test_attention_weights_sum_to_one_and_masked_values_get_none():
    attention = BahdanauAttention(8)
    values = keras.random.normal((3, 12, 5), seed=1)
    mask = np.ones((3, 12), bool)
    mask[1, 4:] = False
    context, weights = attention(keras.random.normal((3, 7), seed=2), values, values_mask=mask)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, rtol=1e-5)
    assert np.asarray(weights)[1, 4:].max() == 0.0
    expected = np.einsum("bn,bnd->bd", np.asarray(weights), np.asarray(values))
    np.testing.assert_allclose(np.asarray(context), expected, rtol=1e-5, atol=1e-6)
    config = json.loads(json.dumps(attention.get_config()))
    assert BahdanauAttention.from_config(config).units == 8


def test_captioner_attention_sums_to_one_per_step():
    model = build_model(cfg.PRESETS["tiny"].model, 14, seed=0)
    out = model(
        {"image": np.random.rand(2, 32, 128, 1).astype("float32"), "tokens": np.ones((2, 5), int)}
    )
    assert out["logits"].shape == (2, 4, 14)
    np.testing.assert_allclose(np.asarray(out["attention"]).sum(-1), 1.0, rtol=1e-5)
