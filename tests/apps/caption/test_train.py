"""caption train: the run folder, TensorBoard, a keras.applications backbone."""

import json

import keras
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.caption import config as cfg
from apps.caption import data, decoding
from apps.caption.model import build_model
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("caption")


def test_train_writes_the_run_directory(run_dir):
    assert (run_dir / "config.json").is_file()
    assert (run_dir / data.VOCAB_FILE).read_text().split()[:4] == list(data.SPECIAL)
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert len(history) == 2 and "val_bleu4" in history[-1]


def test_tensorboard_holds_losses_bleu_and_the_attention_picture(run_dir):
    ea = EventAccumulator(str(run_dir / "tb" / "validation"))
    ea.Reload()
    assert {"loss", "bleu4"} <= set(ea.Tags()["tensors"])
    ea = EventAccumulator(str(run_dir / "tb" / "train"), size_guidance={"tensors": 0})
    ea.Reload()
    assert "loss" in ea.Tags()["tensors"]
    pictures = ea.Tensors("captions/validation")
    assert len(pictures) == 2  # one per epoch
    png = tf.make_ndarray(pictures[-1].tensor_proto)[2]
    assert png[:4] == b"\x89PNG"


def test_a_backbone_encoder_captions_and_wrong_weights_are_a_usage_error(tmp_path):
    config = cfg.ModelConfig(
        encoder="mobilenet_v3_small",
        channels=3,
        height=64,
        width=64,
        units=8,
        embedding=8,
        attention_units=8,
    )
    model = build_model(config, 14, seed=0)
    assert model.grid == (2, 2) and not model.encoder.trainable_weights  # frozen
    out = decoding.beam_search(model, tf.random.uniform([2, 64, 64, 3]), max_length=3, width=2)
    assert out["attention"].shape[-1] == 4
    common = ["train", "--preset", "tiny", "--quiet", "--encoder", "mobilenet_v3_small"]
    result = invoke(*common, "--run-dir", tmp_path / "grey")
    assert result.exit_code == 2 and "--channels 3" in result.output
    other = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    other.save_weights(tmp_path / "resnet.weights.h5")
    result = invoke(
        *common,
        "--channels",
        "3",
        "--encoder-weights",
        tmp_path / "resnet.weights.h5",
        "--run-dir",
        tmp_path / "wrong",
    )
    assert result.exit_code == 2, result.output
    assert "does not fit the mobilenet_v3_small backbone" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "wrong").exists()
