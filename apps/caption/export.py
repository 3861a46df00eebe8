"""caption's serving signatures: image bytes in, caption out, decoding in the graph.

- ``serving_default``: ``image`` string ``[batch]`` (PNG, JPEG, GIF or BMP
  bytes; any size, mixed sizes in one batch) -> ``caption`` string
  ``[batch]``, ``tokens`` int32 ``[batch, steps]`` (the words and ``<end>``,
  then ``<pad>`` 0), ``score`` float32 ``[batch]`` (the caption's
  log-probability), ``attention`` float32 ``[batch, steps, grid]`` and
  ``length`` int32 ``[batch]``, by beam search of the width the run was
  exported with (``--beam`` at export; default the config's).
- ``beam``: the same (an explicit name for it).
- ``greedy``: the same outputs, by greedy decoding.

Beam width is a signature, not an input: a scalar input would break TF
Serving's row format and its batching. The vocabulary is in
``assets/vocab.txt``, the run's configuration in ``assets/config.json``.
``attention``'s last axis is the encoder's grid
(rows x columns, row by row: 4 x 16 for the digit strips' 32 x 128 input).
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.caption import data, decoding, features, strips
from apps.caption.config import CaptionConfig, DataConfig
from apps.caption.data import VOCAB_FILE, load_vocabulary
from rnnkit.app import Exported
from rnnkit.configs import config_from_dict
from rnnkit.errors import InputError
from rnnkit.export import ServingModule
from rnnkit.runs import Run

OUTPUTS = ("caption", "tokens", "score", "attention", "length")

CONFIG_FILE = "config.json"  # the run's config, as an asset of the SavedModel


class Captioner(ServingModule):
    """The serving functions over a trained ``apps.caption.model.Captioner``."""

    def __init__(self, model, vocab, config, beam: int):
        super().__init__(model=model)
        self.config = config
        self.vocab_tokens = list(vocab.tokens)
        self.beam_width = beam
        spec = [tf.TensorSpec([None], tf.string, name="image")]
        self.serve = tf.function(self._beam, input_signature=spec)
        self.greedy = tf.function(self._greedy, input_signature=spec)

    @property
    def model(self):
        return self.models["model"]

    def pixels(self, images):
        return tf.map_fn(
            lambda b: features.decode_image(b, self.config.model),
            images,
            fn_output_signature=tf.TensorSpec(
                [self.config.model.height, self.config.model.width, self.config.model.channels],
                tf.float32,
            ),
        )

    def _decode(self, image, beam: int):
        out = decoding.decode(
            self.model,
            self.pixels(image),
            self.vocab_tokens,
            self.config.data.max_length,
            beam,
            self.config.model.length_penalty,
        )
        return {name: out[name] for name in OUTPUTS}

    def _greedy(self, image):
        return self._decode(image, 1)

    def _beam(self, image):
        return self._decode(image, self.beam_width)


def export(run: Run, beam: int | None = None) -> Exported:
    vocab = load_vocabulary(run.path)
    beam = beam or run.config.model.beam
    module = Captioner(run.model, vocab, run.config, beam)
    module.vocab_file = tf.saved_model.Asset(str(run.path / VOCAB_FILE))
    module.config_file = tf.saved_model.Asset(str(run.path / CONFIG_FILE))
    # Strips of the shipped digits, whatever the run trained on: a user's
    # image files never go into the published version's warmup records.
    examples = data.digit_examples(DataConfig(), "test", 3, seed=0)
    images = np.array([strips.png_bytes(e.image) for e in examples], object)
    requests = {
        "serving_default": [{"image": images[:1]}, {"image": images}],
        "greedy": [{"image": images}],
    }
    expected = {
        "serving_default": module.serve(tf.constant(images)),
        "greedy": module.greedy(tf.constant(images)),
    }

    def check(loaded):
        for name, want in expected.items():
            got = loaded.signatures[name](image=tf.constant(images))
            np.testing.assert_array_equal(got["caption"].numpy(), want["caption"].numpy())
            np.testing.assert_allclose(got["score"].numpy(), want["score"].numpy(), atol=1e-4)

    return Exported(
        module=module,
        signatures={"serving_default": module.serve, "beam": module.serve, "greedy": module.greedy},
        warmup=requests,
        check=check,
    )


def saved_config(path: Path) -> CaptionConfig:
    """The configuration a caption SavedModel was exported with (``assets/config.json``)."""
    found = Path(path) / "assets" / CONFIG_FILE
    if not found.is_file():
        raise InputError(f"{path} is not a caption SavedModel: it has no assets/{CONFIG_FILE}")
    return config_from_dict(CaptionConfig, json.loads(found.read_text()))
