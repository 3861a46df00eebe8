"""caption evaluate: the model next to the baselines."""

import json

from rnnkit.testing import cli as rcli

invoke = rcli.invoker("caption")


def test_evaluate_scores_the_model_and_the_baselines(run_dir):
    result = invoke("evaluate", run_dir, "--json", "--beam", "2")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["models"]) == {
        "rnn_greedy",
        "rnn_beam",
        "nearest_neighbour",
        "nearest_neighbour_encoder",
        "most_frequent",
    }
    assert report["beam"] == 2 and report["images"] == 16
    for found in report["models"].values():
        assert set(found) == {"bleu1", "bleu2", "bleu3", "bleu4", "cider_d", "exact_match"}
        assert all(0 <= v <= 10 for v in found.values())
