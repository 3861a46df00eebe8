"""textgen generate, from a run, a SavedModel or TF Serving; bad commands."""

import numpy as np
import tensorflow as tf

from apps.textgen import data
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("textgen")


def test_generate_is_reproducible_and_seeded(run_dir):
    first = invoke("generate", run_dir, "--prompt", "ROMEO:", "--length", 80, "--seed", 1)
    again = invoke("generate", run_dir, "--prompt", "ROMEO:", "--length", 80, "--seed", 1)
    other = invoke("generate", run_dir, "--prompt", "ROMEO:", "--length", 80, "--seed", 2)
    assert first.exit_code == 0, first.output
    assert first.output == again.output != other.output
    assert first.output.startswith("ROMEO:") and len(first.output.rstrip("\n")) == 86
    beam = invoke("generate", run_dir, "--prompt", "KING:", "--length", 20, "--beam", 3)
    assert beam.exit_code == 0 and beam.output.startswith("KING:")


def test_generation_carries_the_state_one_character_at_a_time(run_dir, model_and_generator):
    model, generator = model_and_generator
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


def test_generate_from_the_saved_model(saved_model, run_dir):
    from_model = invoke("generate", saved_model.parent, "--prompt", "ROMEO:", "--seed", 4)
    from_run = invoke("generate", run_dir, "--prompt", "ROMEO:", "--seed", 4)
    assert from_model.exit_code == 0, from_model.output
    assert from_model.output == from_run.output


def test_generate_handles_edge_requests(model_and_generator):
    _, generator = model_and_generator

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
            "generate",
            saved_model,
            "--prompt",
            "KING",
            "--beam",
            3,
            "--length",
            12,
            "--server",
            server.grpc_url,
        )
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
