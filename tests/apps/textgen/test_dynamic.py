"""textgen's dynamic evaluation: ``evaluate --dynamic`` and ``generate --adapt``."""

import json

import numpy as np
import pytest

from apps.textgen import data, dynamic
from apps.textgen.cli import APP
from apps.textgen.evaluate import stream_bits_per_char
from rnnkit import runs
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("textgen")


def _run_and_ids(run_dir):
    run = runs.load_run(APP, run_dir)
    vocab = data.Vocab.load(run_dir)
    train, val = data.load_text(run.config.data)
    return run, vocab.encode(train), vocab.encode(val)


def test_reading_without_adapting_is_the_static_score(run_dir):
    run, train_ids, val_ids = _run_and_ids(run_dir)
    ids = val_ids[:1601]
    adapter = dynamic.Adapter(run.model, train_ids, rms_segments=10)
    static, _ = adapter.read(ids, adapt=False)
    # One stream against stream_bits_per_char's single row: the same characters.
    expected, scored = stream_bits_per_char(run.model, ids, rows=1)
    assert scored == 1600 and static == pytest.approx(expected, rel=1e-5)


def test_adapting_lowers_the_loss_and_restore_gives_the_trained_weights_back(run_dir):
    run, train_ids, val_ids = _run_and_ids(run_dir)
    before = [w.numpy().copy() for w in run.model.trainable_variables]
    adapter = dynamic.Adapter(run.model, train_ids, learning_rate=1e-3, rms_segments=10)
    rms = [r.numpy() for r in adapter.rms]
    assert all((r >= 0).all() and r.shape == w.shape for r, w in zip(rms, before))
    ids = val_ids[:2001]
    static, _ = adapter.read(ids, adapt=False)
    adapted, _ = adapter.read(ids)
    assert adapted < static - 0.05  # the undertrained tiny model gains much
    moved = [np.abs(w.numpy() - b).max() for w, b in zip(run.model.trainable_variables, before)]
    assert max(moved) > 0
    adapter.restore()
    for w, b in zip(run.model.trainable_variables, before):
        np.testing.assert_array_equal(w.numpy(), b)
    # Each character is scored before the weights learn from it: a text read
    # again after adapting to it scores better than on the first reading.
    adapter.read(ids)
    again, _ = adapter.read(ids, adapt=False)
    assert again < adapted
    adapter.restore()


def test_evaluate_dynamic_reports_both_figures(run_dir):
    result = invoke("evaluate", run_dir, "--dynamic", "--dynamic-lr", "1e-3", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dynamic_bits_per_char"] < report["bits_per_char"]
    assert report["dynamic_ratio_to_baseline"] == pytest.approx(
        report["dynamic_bits_per_char"] / report["baseline_bits_per_char"]
    )
    assert report["dynamic"]["learning_rate"] == 1e-3
    assert report["dynamic"]["segment"] == dynamic.SEGMENT
    # The trained weights are untouched: a plain evaluate scores as before.
    plain = json.loads(invoke("evaluate", run_dir, "--json").stdout)
    assert plain["bits_per_char"] == pytest.approx(report["bits_per_char"], rel=1e-6)
    assert "dynamic_bits_per_char" not in plain
    table = invoke("evaluate", run_dir, "--dynamic", "--dynamic-lr", "1e-3").output
    assert "dynamic" in table and f"{report['dynamic_bits_per_char']:.4f}" in table


def test_generate_adapts_to_the_prompt_of_a_run_only(run_dir, saved_model):
    prompt = "ROMEO: the cat sat on the mat. " * 3
    args = ["--prompt", prompt, "--temperature", "0", "--length", "40"]
    plain = invoke("generate", run_dir, *args)
    adapted = invoke("generate", run_dir, *args, "--adapt", "8")
    assert plain.exit_code == 0 and adapted.exit_code == 0, adapted.output
    assert adapted.stdout.startswith(prompt) and adapted.stdout != plain.stdout
    # The run's saved weights did not change.
    assert invoke("generate", run_dir, *args).stdout == plain.stdout
    refused = invoke("generate", saved_model, *args, "--adapt", "1")
    assert refused.exit_code == 2 and "--adapt needs a run directory" in refused.output
    short = invoke("generate", run_dir, "--adapt", "1")
    assert short.exit_code == 2 and "at least 2 characters" in short.output
