"""rnnkit.export: TF Serving layout, atomic versions, warmup records, models.config."""

import subprocess

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from rnnkit import export
from rnnkit import layers as L
from rnnkit.serving import layout
from rnnkit.testing.serving import SAVED_MODEL_CLI, saved_model_cli_run


class Tagger(export.ServingModule):
    """A tiny model with a string-free and a string signature, as apps have."""

    def __init__(self):
        keras.utils.set_random_seed(0)
        super().__init__(
            model=keras.Sequential(
                [keras.Input((None, 3)), L.GRU(4, return_sequences=True), keras.layers.Dense(2)]
            )
        )

    @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.float32, name="frames")])
    def serve(self, frames):
        logits = self.models["model"](frames)
        return {"logits": logits, "tags": tf.argmax(logits, -1, output_type=tf.int32)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def length(self, text):
        return {"chars": tf.strings.length(text, unit="UTF8_CHAR")}


def _export(tmp_path, module=None, check=None, warmup=None):
    module = module or Tagger()
    return export.export(
        module,
        {"serving_default": module.serve, "length": module.length},
        tmp_path / "saved_models",
        "tagger",
        warmup
        or {
            "serving_default": [{"frames": np.ones((2, 5, 3), "float32")}],
            "length": [{"text": np.array(["héllo", "ab"])}],
        },
        check=check,
    )


def test_versions_count_up_and_never_overwrite(tmp_path):
    first = _export(tmp_path)
    second = _export(tmp_path)
    assert (first.name, second.name) == ("1", "2")
    (first.parent / "notes").mkdir()  # not an integer: TF Serving and rnnkit ignore it
    (first.parent / "10").mkdir()
    assert _export(tmp_path).name == "11"
    assert layout.versions(first.parent) == [1, 2, 10, 11]
    assert layout.latest(first.parent).name == "11"
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".tmp")]


def test_loaded_model_gives_the_same_outputs_and_replays_warmup(tmp_path):
    module = Tagger()
    path = _export(tmp_path, module)
    loaded = tf.saved_model.load(str(path))
    frames = np.random.default_rng(0).normal(size=(3, 4, 3)).astype("float32")
    got = loaded.signatures["serving_default"](frames=tf.constant(frames))
    np.testing.assert_allclose(got["logits"], module.models["model"](frames), atol=1e-6)

    records = layout.read_warmup(path / layout.WARMUP_FILE)
    assert [s for s, _ in records] == ["serving_default", "length"]
    replies = layout.replay_warmup(loaded, path / layout.WARMUP_FILE)
    assert replies[0]["logits"].shape == (2, 5, 2)
    assert replies[1]["chars"].tolist() == [5, 2]


def test_failed_self_check_leaves_no_version(tmp_path):
    def refuse(loaded):
        raise AssertionError("wrong output")

    with pytest.raises(export.ExportError, match="self-check failed: AssertionError: wrong output"):
        _export(tmp_path, check=refuse)
    app_dir = tmp_path / "saved_models" / "tagger"
    assert list(app_dir.iterdir()) == []


def test_non_finite_warmup_output_fails_the_export(tmp_path):
    bad = {"serving_default": [{"frames": np.full((1, 2, 3), np.nan, "float32")}]}
    with pytest.raises(export.ExportError, match="non-finite `logits`"):
        _export(tmp_path, warmup=bad)
    assert layout.versions(tmp_path / "saved_models" / "tagger") == []


def test_models_config_lists_every_app(tmp_path):
    _export(tmp_path)
    # Folders beside the exports that rnnkit did not write are not models.
    other = tmp_path / "saved_models" / "other" / "1"
    other.mkdir(parents=True)
    (tmp_path / "saved_models" / "empty").mkdir()
    path = layout.write_models_config(tmp_path / "saved_models")
    config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    entries = {c.name: c for c in config.model_config_list.config}
    assert sorted(entries) == ["tagger"]
    assert entries["tagger"].base_path == str((tmp_path / "saved_models" / "tagger").resolve())
    assert entries["tagger"].model_platform == "tensorflow"


def test_saved_model_cli_shows_and_runs_the_signatures(tmp_path):
    path = _export(tmp_path)
    show = subprocess.run(
        [SAVED_MODEL_CLI, "show", "--dir", str(path), "--all"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "signature_def['serving_default']" in show.stdout
    assert "signature_def['length']" in show.stdout
    assert "[3 1]" in saved_model_cli_run(path, "length", "text=['abc', 'x']")
    # The session-based loader (TF Serving's) finds the Keras model's variables.
    out = saved_model_cli_run(path, "serving_default", f"frames={[[[1.0] * 3] * 2]}")
    expected = Tagger().models["model"](np.ones((1, 2, 3), "float32")).numpy()
    assert f"{expected[0, 0, 0]:.4f}"[:6] in out.replace("\n", " ")


def test_variables_with_the_same_name_are_refused(tmp_path):
    module = Tagger()
    module.extra = [tf.Variable(1.0, name="w"), tf.Variable(2.0, name="w")]
    with pytest.raises(export.ExportError, match=r"variables share the names \['w'\]"):
        _export(tmp_path, module=module)
