"""caption's image preprocessing in the graph."""

import numpy as np
import pytest

from apps.caption import config as cfg
from apps.caption import features


def test_preprocess_keeps_the_aspect_and_pads_to_the_model_input():
    model = cfg.ModelConfig(height=32, width=128, channels=1)
    narrow = np.full((32, 40, 1), 255, np.uint8)
    out = features.preprocess(narrow, model).numpy()
    assert out.shape == (32, 128, 1)
    assert out[:, 44:84].min() == pytest.approx(1.0) and out[:, :40].max() == 0.0
    wide = np.full((64, 256, 3), 255, np.uint8)  # RGB, twice the size: halved
    out = features.preprocess(wide, model).numpy()
    assert out.shape == (32, 128, 1) and out.min() == pytest.approx(1.0, abs=1e-3)
    rgb = features.preprocess(np.zeros((10, 10, 1), np.uint8), cfg.ModelConfig(channels=3))
    assert rgb.shape == (32, 128, 3)
