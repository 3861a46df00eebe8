"""textgen train: the run folder, TensorBoard, TBPTT, AWD regularisers, resume, Ctrl-C."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.textgen import config as cfg
from apps.textgen import data, train
from apps.textgen.cli import APP
from rnnkit import configs, runs
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("textgen")


def test_train_writes_the_run_directory(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["cell"] == "lstm" and config["train"]["epochs"] == 2
    assert configs.config_from_dict(cfg.TextgenConfig, config) == cfg.PRESETS["tiny"]
    vocab = data.Vocab.load(run_dir)
    assert "R" in vocab.ids and len(vocab) > 40
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["history"][1]["val_loss"] < metrics["history"][0]["val_loss"]
    assert tf.train.latest_checkpoint(str(run_dir / "ckpt")).endswith("ckpt-12")


def test_tensorboard_holds_losses_and_generated_text(run_dir):
    events = EventAccumulator(str(run_dir / "tb" / "train"))
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert {"loss", "learning_rate", "steps_per_sec", "bits_per_char"} <= tags
    samples = events.Tensors("samples/temperature_0.8_top_p_0.95")
    assert [s.step for s in samples] == [6, 12]
    markdown = samples[-1].tensor_proto.string_val[0].decode()
    # A fenced code block, so TensorBoard's Markdown keeps the text's line breaks.
    assert markdown.startswith("```\nROMEO:") and markdown.endswith("\n```")
    assert len(markdown) == len("```\nROMEO:") + 300 + len("\n```")
    val = EventAccumulator(str(run_dir / "tb" / "validation"))
    val.Reload()
    assert {"loss", "bits_per_char", "perplexity"} <= set(val.Tags()["tensors"])


def test_tbptt_carries_the_state_across_windows(tmp_path):
    config = configs.replace(cfg.PRESETS["tiny"], "data.tbptt", 8)
    task = train.make_task(config, tmp_path)
    model = task.build_model()
    first, second = list(task.train_data(0).take(2))
    assert bool(first[2].numpy().all()) and not bool(second[2].numpy().any())
    np.testing.assert_array_equal(first[1][:, -1], second[0][:, 0])  # rows continue
    task.loss(model, first, False)
    carried = task.loss(model, second, False).numpy()
    joined_x = tf.concat([first[0], second[0]], axis=1)
    logits, _ = model(joined_x, training=False)
    expected = train.per_char_loss(logits[:, 8:], second[1]).numpy()
    np.testing.assert_allclose(carried, expected, rtol=1e-5)


def test_tbptt_training_runs(tmp_path):
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--tbptt",
        8,
        "--cell",
        "gru",
        "--run-dir",
        tmp_path / "r",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["data"]["tbptt"] == 8 and config["model"]["cell"] == "gru"
    # The quick preset carries the state; --tbptt 0 turns that off.
    assert cfg.PRESETS["quick"].data.tbptt == 100
    assert configs.replace(cfg.PRESETS["quick"], "data.tbptt", 0).data.tbptt is None


def test_activation_regularisers_add_to_the_training_loss_only(tmp_path):
    config = cfg.PRESETS["tiny"]
    plain_task = train.make_task(config, tmp_path)
    batch = next(iter(plain_task.train_data(0)))
    model = plain_task.build_model()
    base_train = plain_task.loss(model, batch, True).numpy()
    regularised = configs.replace_all(
        config, {"model.activation_reg": 2.0, "model.temporal_reg": 1.0}
    )
    task = train.make_task(regularised, tmp_path)
    _, _, raw, _ = model.forward(batch[0], training=True)
    ar = 2.0 * tf.reduce_mean(tf.square(raw), axis=[1, 2])
    tar = 1.0 * tf.reduce_mean(tf.square(raw[:, 1:] - raw[:, :-1]), axis=[1, 2])
    # No dropout in tiny: the training loss is deterministic.
    np.testing.assert_allclose(
        task.loss(model, batch, True), base_train + ar.numpy() + tar.numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(task.loss(model, batch, False), plain_task.loss(model, batch, False))


def test_awd_options_train_end_to_end_with_adamw(tmp_path):
    run = tmp_path / "r"
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--tbptt",
        16,
        "--dropout",
        0.2,
        "--locked-dropout",
        "--input-dropout",
        0.1,
        "--embedding-dropout",
        0.1,
        "--weight-dropout",
        0.3,
        "--activation-reg",
        1,
        "--temporal-reg",
        1,
        "--weight-decay",
        0.1,
        "--run-dir",
        run,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["weight_dropout"] == 0.3 and config["model"]["locked"] is True
    assert config["train"]["weight_decay"] == 0.1
    model = runs.load_run(APP, run).model
    assert model.rnn_0.cell.weight_dropout == 0.3
    # The exported model generates with the trained weights, no dropout.
    out = invoke("generate", run, "--prompt", "ROMEO:", "--length", 20, "--temperature", 0)
    assert out.exit_code == 0 and out.output.startswith("ROMEO:")


def test_resume_continues_a_run(tmp_path):
    run = tmp_path / "r"
    assert invoke("train", "--preset", "tiny", "--run-dir", run, "--quiet").exit_code == 0
    result = invoke("train", "--resume", "--run-dir", run, "--epochs", 3, "--quiet")
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert [h["step"] for h in metrics["history"]] == [6, 12, 18]
    assert json.loads((run / "config.json").read_text())["train"]["epochs"] == 3


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    run = tmp_path / "r"
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnkit.cli", "textgen", "train", "--preset", "tiny"]
        + ["--epochs", "300", "--run-dir", str(run), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job (`make test &`) inherits SIGINT ignored, and
        # Python then keeps it ignored; the child gets the default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(run.glob("ckpt/ckpt-*.index")) and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert f"Continue with: rnnkit textgen train --resume --run-dir {run}" in err
    assert "Traceback" not in err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and 0 < metrics["step"] < 1800
    assert tf.train.latest_checkpoint(str(run / "ckpt")).endswith(f"ckpt-{metrics['step']}")


_MIRRORED_TBPTT = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from apps.textgen import config as cfg, train
from rnnkit import configs, training
config = configs.replace(cfg.PRESETS["tiny"], "data.tbptt", 8)
out = {}
for name in ("default", "mirrored"):
    keras.utils.set_random_seed(0)
    run = sys.argv[1] + "/" + name
    result = training.fit(train.make_task(config, run), config.train, run, name, verbose=False)
    out[name] = [h["loss"] for h in result.history]
print(json.dumps(out))
"""


def test_tbptt_under_mirrored_strategy_matches_one_replica(tmp_path):
    """Each replica carries the state of its own rows: two replicas train like one."""
    import pathlib

    root = str(pathlib.Path(__file__).parents[3])
    proc = subprocess.run(
        [sys.executable, "-c", _MIRRORED_TBPTT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(out["mirrored"], out["default"], rtol=1e-5)


def test_a_checkpoint_that_does_not_fit_the_config_is_refused(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["model"]["layers"] = 2  # the checkpoint holds one layer
    (copy / "config.json").write_text(json.dumps(config))
    result = invoke("evaluate", copy)
    assert result.exit_code == 2
    assert "does not fit this model" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line, no array dumps


def test_the_config_is_in_tensorboards_hparams_tab(run_dir):
    from tensorboard.plugins.hparams import metadata

    events = EventAccumulator(str(run_dir / "tb"))
    events.Reload()
    [tag] = [t for t in events.Tags()["tensors"] if t == metadata.SESSION_START_INFO_TAG]
    content = events.summary_metadata[tag].plugin_data.content
    start = metadata.parse_session_start_info_plugin_data(content)
    hparams = start.hparams
    config = json.loads((run_dir / "config.json").read_text())
    assert hparams["model.units"].number_value == config["model"]["units"]
    assert hparams["train.learning_rate"].number_value == config["train"]["learning_rate"]
    assert hparams["data.source"].string_value == config["data"]["source"]
