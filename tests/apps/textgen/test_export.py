"""textgen export: the SavedModel's signatures, warmup records and versions."""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.textgen import data
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing.serving import saved_model_cli_run

invoke = rcli.invoker("textgen")


def test_saved_model_signatures(saved_model, run_dir, model_and_generator):
    loaded = tf.saved_model.load(str(saved_model))
    assert set(loaded.signatures) == {"serving_default", "prime", "step"}
    serve = loaded.signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {
        "prompt",
        "max_new_chars",
        "temperature",
        "top_k",
        "top_p",
        "seed",
    }
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
    _, generator = model_and_generator
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


def test_export_counts_versions_up(run_dir, saved_model):
    result = invoke("export", run_dir, "--out", saved_model.parent)
    assert result.exit_code == 0, result.output
    assert Path(result.output.strip()).name == "2"
    assert (saved_model.parent.parent / "models.config").exists()
