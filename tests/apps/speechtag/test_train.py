"""speechtag train: the run folder, TensorBoard, a folder of TextGrids."""

import json

import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.speechtag import features, synth
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("speechtag")


def test_train_writes_the_run_directory(run_dir):
    for name in ("config.json", "metrics.json", "tagset.json", "examples.npz"):
        assert (run_dir / name).is_file(), name
    tagset = features.TagSet.load(run_dir)
    assert tagset.phones[0] == tagset.words[0] == "sil"
    assert set(synth.DIGITS) >= set(tagset.words[1:])
    assert "en-us-nyc" in tagset.test_voices
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert {"val_per", "val_wer", "val_phone_accuracy"} <= set(history[-1])


def test_tensorboard_holds_metrics_and_the_utterance_picture(run_dir):
    ea = EventAccumulator(str(run_dir / "tb" / "validation"))
    ea.Reload()
    assert {"loss", "per", "phone_accuracy"} <= set(ea.Tags()["tensors"])
    ea = EventAccumulator(str(run_dir / "tb" / "train"), size_guidance={"tensors": 0})
    ea.Reload()
    image = ea.Tensors("tags/validation")[-1]
    png = tf.make_ndarray(image.tensor_proto)[2]
    assert png[:4] == b"\x89PNG"


def test_training_on_a_folder_of_textgrids(tmp_path, write_labelled):
    path = tmp_path / "data"
    for k in range(5):
        write_labelled(path, f"u{k}", ["one", "two", "three"][: 1 + k % 3], textgrid=True)
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--data",
        f"dir:{path}",
        "--epochs",
        "2",
        "--speed-perturb",  # each epoch's utterances at their own speeds
        "0.1",
        "--run-dir",
        tmp_path / "run",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())["history"]
    assert len(history) == 2
    tagset = features.TagSet.load(tmp_path / "run")
    assert tagset.words == ("sil", "one", "three", "two")
    assert tagset.phones == ("sil", "e", "o", "t")
