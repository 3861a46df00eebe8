"""textgen evaluate and its Kneser-Ney baseline."""

import json

import pytest

from apps.textgen import data
from apps.textgen.baseline import KneserNey
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("textgen")


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
    # The tiny model is worse than the n-gram baseline, and the report says so.
    assert f"Warning: the model's {report['bits_per_char']:.3f} bits/char is worse" in table


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
