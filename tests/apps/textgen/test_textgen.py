"""textgen end to end: the real CLI on the tiny preset, its files, and its contracts."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.textgen import config as cfg
from apps.textgen import data, decoding, export, train
from apps.textgen.baseline import KneserNey
from apps.textgen.cli import APP
from rnnkit import configs, runs
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing import snapshot
from rnnkit.testing.serving import saved_model_cli_run

invoke = rcli.invoker("textgen")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return rcli.train("textgen", tmp_path_factory.mktemp("textgen") / "run", steps=12)


@pytest.fixture(scope="module")
def saved_model(run_dir, tmp_path_factory):
    return rcli.export("textgen", run_dir, tmp_path_factory.mktemp("saved") / "textgen")


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
    train = EventAccumulator(str(run_dir / "tb" / "train"))
    train.Reload()
    tags = set(train.Tags()["tensors"])
    assert {"loss", "learning_rate", "steps_per_sec", "bits_per_char"} <= tags
    samples = train.Tensors("samples/temperature_0.8")
    assert [s.step for s in samples] == [6, 12]
    text = samples[-1].tensor_proto.string_val[0].decode()
    assert text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 300
    val = EventAccumulator(str(run_dir / "tb" / "validation"))
    val.Reload()
    assert {"loss", "bits_per_char", "perplexity"} <= set(val.Tags()["tensors"])


def test_evaluate_reports_the_model_next_to_the_baseline(run_dir):
    result = invoke("evaluate", run_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert 0 < report["baseline_bits_per_char"] < report["bits_per_char"] < 7
    assert report["perplexity"] == pytest.approx(2 ** report["bits_per_char"])
    assert report["validation_chars"] > 3000
    assert json.loads((run_dir / "evaluation.json").read_text()) == report
    table = invoke("evaluate", run_dir).output
    assert "baseline" in table and f"{report['bits_per_char']:.4f}" in table


def test_generate_is_reproducible_and_seeded(run_dir):
    first = invoke("generate", run_dir, "--prompt", "ROMEO:", "--length", 80, "--seed", 1)
    again = invoke("generate", run_dir, "--prompt", "ROMEO:", "--length", 80, "--seed", 1)
    other = invoke("generate", run_dir, "--prompt", "ROMEO:", "--length", 80, "--seed", 2)
    assert first.exit_code == 0, first.output
    assert first.output == again.output != other.output
    assert first.output.startswith("ROMEO:") and len(first.output.rstrip("\n")) == 86
    beam = invoke("generate", run_dir, "--prompt", "KING:", "--length", 20, "--beam", 3)
    assert beam.exit_code == 0 and beam.output.startswith("KING:")


def _model_and_generator(run_dir):
    run = runs.load_run(APP, run_dir)
    return run.model, export.Generator(run.model, data.Vocab.load(run_dir))


def test_generation_carries_the_state_one_character_at_a_time(run_dir):
    model, generator = _model_and_generator(run_dir)
    vocab = data.Vocab.load(run_dir)
    out = generator.generate(
        prompt=tf.constant(["ROMEO:"]),
        max_new_chars=tf.constant([30]),
        temperature=tf.constant([0.0]),
        top_k=tf.constant([0]),
        top_p=tf.constant([1.0]),
        seed=tf.constant([0]),
    )
    completion = out["completion"][0].numpy().decode()
    # Greedy by re-reading the whole text each time: the same characters.
    text = "\nROMEO:"
    for _ in range(30):
        logits, _ = model(vocab.encode(text)[None], training=False)
        probs = logits[0, -1].numpy()
        probs[0] = -np.inf
        text += vocab.chars[int(np.argmax(probs))]
    assert completion == text[len("\nROMEO:") :]


def test_sampling_options():
    logits = tf.constant(np.log([[1e-9, 0.1, 0.2, 0.3, 0.4]] * 4000), tf.float32)
    ones = tf.ones([4000])
    seeds = tf.range(4000)

    def draw(temperature=1.0, top_k=0, top_p=1.0, step=0):
        return decoding.sample(
            logits,
            temperature * ones,
            tf.fill([4000], top_k),
            top_p * ones,
            seeds,
            step,
        ).numpy()

    counts = np.bincount(draw(), minlength=5) / 4000
    np.testing.assert_allclose(counts, [0, 0.1, 0.2, 0.3, 0.4], atol=0.03)
    assert (draw(temperature=0.0) == 4).all()
    assert set(draw(top_k=2)) == {3, 4}
    assert set(draw(top_p=0.5)) == {3, 4}  # 0.4 + 0.3 covers 0.5
    assert set(draw(top_p=0.3)) == {4}
    assert not (draw(step=0) == draw(step=1)).all()
    # A row's draw depends on its own seed only, not on the rest of the batch.
    single = decoding.sample(logits[:1], ones[:1], tf.constant([0]), ones[:1], seeds[7:8], 0)
    assert int(single[0]) == draw()[7]


def test_saved_model_signatures(saved_model, run_dir):
    loaded = tf.saved_model.load(str(saved_model))
    assert set(loaded.signatures) == {"serving_default", "prime", "step"}
    serve = loaded.signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {
        "prompt", "max_new_chars", "temperature", "top_k", "top_p", "seed"
    }  # fmt: skip
    request = {
        "prompt": tf.constant(["ROMEO:", "", "ROMEO:"]),
        "max_new_chars": tf.constant([12, 5, 12]),
        "temperature": tf.constant([0.8, 0.0, 0.8]),
        "top_k": tf.constant([0, 0, 5]),
        "top_p": tf.constant([1.0, 1.0, 0.9]),
        "seed": tf.constant([3, 3, 3]),
    }
    out = serve(**request)
    texts = [t.decode() for t in out["text"].numpy()]
    assert texts[0].startswith("ROMEO:") and len(texts[0]) == 18 and len(texts[1]) == 5
    # The same generation as the run's own model.
    _, generator = _model_and_generator(run_dir)
    assert generator.generate(**request)["text"].numpy().tolist() == out["text"].numpy().tolist()
    # Streaming: prime, then step with the state passed in and out.
    primed = loaded.signatures["prime"](prompt=tf.constant(["ROMEO:"]))
    state = primed["state"]
    assert state.shape == (1, 2 * 32)
    vocab = data.Vocab(json.loads((saved_model / "assets" / "vocab.json").read_text())["chars"])
    ids = [int(np.argmax(primed["logits"][0, 1:])) + 1]
    for _ in range(4):
        stepped = loaded.signatures["step"](ids=tf.constant(ids[-1:]), state=state)
        state = stepped["state"]
        ids.append(int(np.argmax(stepped["logits"][0, 1:])) + 1)
    greedy = serve(**{**request, "temperature": tf.constant([0.0, 0.0, 0.0])})
    assert greedy["completion"][0].numpy().decode()[:5] == vocab.decode(ids)


def test_saved_model_warmup_and_cli(saved_model):
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert {name for name, _ in records} == {"serving_default", "prime", "step"}
    replies = layout.replay_warmup(
        tf.saved_model.load(str(saved_model)), saved_model / layout.WARMUP_FILE
    )
    assert all(r for r in replies)
    exprs = (
        "prompt=['ROMEO:', 'JULIET:'];max_new_chars=[10, 4];temperature=[0.0, 0.5];"
        "top_k=[0, 3];top_p=[1.0, 0.9];seed=[1, 2]"
    )
    out = saved_model_cli_run(saved_model, "serving_default", exprs)
    assert "Result for output key text:" in out and "b'ROMEO:" in out
    step = saved_model_cli_run(saved_model, "step", f"ids=[3];state={[[0.0] * 64]}")
    assert "Result for output key logits:" in step


def test_generate_from_the_saved_model(saved_model, run_dir):
    from_model = invoke("generate", saved_model.parent, "--prompt", "ROMEO:", "--seed", 4)
    from_run = invoke("generate", run_dir, "--prompt", "ROMEO:", "--seed", 4)
    assert from_model.exit_code == 0, from_model.output
    assert from_model.output == from_run.output


def test_export_counts_versions_up(run_dir, saved_model):
    result = invoke("export", run_dir, "--out", saved_model.parent)
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()).name == "2"
    assert (saved_model.parent.parent / "models.config").exists()


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
        "train", "--preset", "tiny", "--tbptt", 8, "--cell", "gru", "--run-dir", tmp_path / "r",
        "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["data"]["tbptt"] == 8 and config["model"]["cell"] == "gru"
    # The quick preset carries the state; --tbptt 0 turns that off.
    assert cfg.PRESETS["quick"].data.tbptt == 100
    assert configs.replace(cfg.PRESETS["quick"], "data.tbptt", 0).data.tbptt is None


def _awd_model(**kwargs):
    from apps.textgen.model import build_model

    return build_model(cfg.ModelConfig(layers=1, units=16, embedding_dim=8, **kwargs), 40)


def test_locked_dropout_keeps_one_mask_per_sequence():
    """Locked (variational) dropout: a unit dropped at one step is dropped at every step."""
    model = _awd_model(dropout=0.5, input_dropout=0.5, locked=True)
    ids = tf.constant(np.random.default_rng(0).integers(1, 40, size=(8, 12)), tf.int32)
    _, _, raw, dropped = model.forward(ids, training=True)
    zero = (dropped.numpy() == 0) & (raw.numpy() != 0)
    per_unit = zero.any(axis=1)  # [batch, units]: dropped at some step
    np.testing.assert_array_equal(zero, np.repeat(per_unit[:, None], 12, axis=1))
    assert 0.3 < per_unit.mean() < 0.7
    unlocked = _awd_model(dropout=0.5)
    _, _, raw, dropped = unlocked.forward(ids, training=True)
    zero = (dropped.numpy() == 0) & (raw.numpy() != 0)
    assert not (zero == zero[:, :1]).all()  # a fresh mask per step
    # Inference: no dropout at all.
    _, _, raw, dropped = model.forward(ids, training=False)
    np.testing.assert_array_equal(raw, dropped)


def test_embedding_dropout_drops_whole_characters():
    model = _awd_model(embedding_dropout=0.5)
    ids = tf.constant([[3, 5, 3, 7, 5, 3, 9, 7]] * 4, tf.int32)
    embedded = model._embed(ids, training=True).numpy()
    plain = model.embedding(ids).numpy()
    dropped = (embedded == 0).all(axis=-1)
    # A character is dropped everywhere in the batch or nowhere; kept ones are scaled by 2.
    for char in (3, 5, 7, 9):
        where = ids.numpy() == char
        assert dropped[where].all() or not dropped[where].any()
    kept = ~dropped
    np.testing.assert_allclose(embedded[kept], 2 * plain[kept], rtol=1e-6)
    np.testing.assert_array_equal(model._embed(ids, training=False), plain)


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
        "train", "--preset", "tiny", "--tbptt", 16, "--dropout", 0.2, "--locked-dropout",
        "--input-dropout", 0.1, "--embedding-dropout", 0.1, "--weight-dropout", 0.3,
        "--activation-reg", 1, "--temporal-reg", 1, "--weight-decay", 0.1, "--run-dir", run,
        "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["weight_dropout"] == 0.3 and config["model"]["locked"] is True
    assert config["train"]["weight_decay"] == 0.1
    model = runs.load_run(APP, run).model
    assert model.rnn_0.cell.weight_dropout == 0.3
    # The exported model generates with the trained weights, no dropout.
    out = invoke("generate", run, "--prompt", "ROMEO:", "--length", 20, "--temperature", 0)
    assert out.exit_code == 0 and out.output.startswith("ROMEO:")


def test_user_files_and_folders(tmp_path):
    text = (data.EMBEDDED.read_text()[:30_000]).replace("HAMLET", "HAMLÉT")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text(text[:15_000])
    (tmp_path / "docs" / "b.txt").write_text(text[15_000:])
    train, val = data.load_text(cfg.DataConfig(source=f"file:{tmp_path / 'docs'}"))
    assert len(train) + len(val) == 30_002 and "É" in train + val
    result = invoke(
        "train", "--preset", "tiny", "--data", f"file:{tmp_path / 'docs'}", "--cell", "elman",
        "--run-dir", tmp_path / "r", "--quiet", "--epochs", 1,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "É" in data.Vocab.load(tmp_path / "r").ids


def test_tfds_source(tmp_path):
    import tensorflow_datasets as tfds

    text = data.EMBEDDED.read_text()[:5000]

    def as_dataset(builder, split, *args, **kwargs):
        part = text[:4000] if split == "train" else text[4000:]
        return tf.data.Dataset.from_tensors({"text": tf.constant(part)})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        train, val = data.load_text(cfg.DataConfig(source="tfds:tiny_shakespeare"))
    assert (train, val) == (text[:4000], text[4000:])


@pytest.mark.parametrize(
    "setup, data_arg, message",
    [
        (None, "file:{tmp}/missing.txt", "no such file or folder"),
        (b"", "file:{tmp}/f.txt", "holds no text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "file:{tmp}/f.txt", "binary file"),
        ("é".encode("latin-1") * 2000, "file:{tmp}/f.txt", "not UTF-8 text (byte 0: 0xe9)"),
        (b"short text", "file:{tmp}/f.txt", "too short: 10 characters"),
        (None, "ftp:x", "unknown --data 'ftp:x'"),
        (None, "tfds:tiny_shakespeare", "is not prepared under {tmp}/nodata"),
        (None, "tfds:imdb", "unknown TFDS text data set 'imdb'"),
    ],
)
def test_bad_data_is_a_one_line_usage_error(tmp_path, setup, data_arg, message):
    if setup is not None:
        (tmp_path / "f.txt").write_bytes(setup)
    args = ["train", "--preset", "tiny", "--run-dir", tmp_path / "r"]
    args += ["--data", data_arg.format(tmp=tmp_path), "--data-dir", tmp_path / "nodata"]
    result = invoke(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message.format(tmp=tmp_path) in lines[0]
    assert not (tmp_path / "r").exists()


def test_bad_commands_are_usage_errors(tmp_path, run_dir):
    cases = [
        (["evaluate", tmp_path], "has no config.json"),
        (["generate", tmp_path / "nothing"], "no such run or SavedModel"),
        (["train", "--preset", "tiny", "--resume"], "--resume needs the --run-dir"),
        (["train", "--preset", "tiny", "--run-dir", run_dir], "already holds a run"),
        (["train", "--units", "0"], "Invalid value for '--units'"),
        (["generate", run_dir, "--top-p", "2"], "Invalid value for '--top-p'"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


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


def test_baseline_is_a_normalised_kneser_ney_model():
    text = data.EMBEDDED.read_text()[:50_000]
    lm = KneserNey(text, order=5)
    chars = sorted(set(text))
    for context in ["ROMEO", "\n", "xyzq", ""]:
        total = sum(lm.prob(context, c) for c in chars) + lm.prob(context, "\x00")
        assert total == pytest.approx(1.0, abs=1e-9)
    held_out = data.EMBEDDED.read_text()[60_000:70_000]
    bits = [KneserNey(text, order=n).bits_per_char(held_out) for n in (1, 3, 5)]
    assert bits[0] > bits[1] > bits[2] > 1.5
    assert 0 < lm.prob("ROMEO", "\x01") < 1e-3


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


def test_generate_handles_edge_requests(run_dir):
    _, generator = _model_and_generator(run_dir)

    def generate(prompts, lengths):
        n = len(prompts)
        out = generator.generate(
            prompt=tf.constant(prompts, tf.string),
            max_new_chars=tf.constant(lengths, tf.int32),
            temperature=tf.ones([n]),
            top_k=tf.zeros([n], tf.int32),
            top_p=tf.ones([n]),
            seed=tf.zeros([n], tf.int32),
        )
        return [t.decode() for t in out["completion"].numpy()]

    assert generate([], []) == []
    assert generate(["a", "b"], [0, -3]) == ["", ""]
    unseen = generate(["é€😀"], [3])  # characters the vocabulary lacks read as unknown
    assert len(unseen[0]) == 3
    state = tf.zeros([2, generator.state_size])
    out = generator.step(ids=tf.constant([10_000, -1]), state=state)  # out of range: unknown
    assert out["logits"].shape == (2, generator.vocab_size) and out["state"].shape == state.shape


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


def test_generate_on_tf_serving_gives_the_local_text(saved_model, run_dir, StandIn):
    args = ["generate", saved_model, "--prompt", "ROMEO:", "--seed", 4, "--length", 40]
    local = invoke(*args)
    beam = invoke("generate", saved_model, "--prompt", "KING", "--beam", 3, "--length", 12)
    assert local.exit_code == beam.exit_code == 0, local.output + beam.output
    with StandIn(saved_model.parent.parent) as server:
        for url in (server.rest_url, server.grpc_url):
            remote = invoke(*args, "--server", url)
            assert remote.exit_code == 0, remote.output
            assert remote.stdout == local.stdout
        remote_beam = invoke(
            "generate", saved_model, "--prompt", "KING", "--beam", 3, "--length", 12,
            "--server", server.grpc_url,
        )  # fmt: skip
        assert remote_beam.stdout == beam.stdout
        assert {what for _, what in server.requests} >= {":predict", "Predict"}
        for extra, message in [
            (["--model-name", "poetry"], "has no model `poetry`"),
            (["--model-version", 9], "has not loaded version 9 of `textgen`"),
        ]:
            result = invoke(*args, "--server", server.rest_url, *extra)
            assert result.exit_code == 2
            [line] = result.output.strip().splitlines()
            assert line.startswith("Error: TF Serving at http://127.0.0.1:") and message in line
    result = invoke(*args, "--server", server.rest_url)  # the server is gone now
    assert result.exit_code == 2 and "cannot reach TF Serving" in result.output
    result = invoke("generate", run_dir, "--server", "http://127.0.0.1:1")
    assert result.exit_code == 2 and "--server runs the exported model" in result.output


def test_export_keeps_the_signatures_of_the_snapshot(saved_model):
    snapshot.assert_signatures("textgen", saved_model)
