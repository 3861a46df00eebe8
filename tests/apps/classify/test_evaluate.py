"""classify's evaluate: the RNN and every baseline on the same test texts, as JSON."""

import csv
import json

import numpy as np

from apps.classify import baseline, data, metrics
from apps.classify.inference import label_indices
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("classify")
WORDS = {"bad": ["awful", "dull"], "good": ["great", "superb"], "meh": ["fine", "okay"]}


def three_classes(path, n=90, seed=0, labels=None):
    """A CSV of ``n`` texts in three classes that one word decides."""
    rng = np.random.default_rng(seed)
    filler = ["the", "film", "was", "a", "story", "of", "it", "plot"]
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["review", "stars"])
        for k in range(n):
            label = list(WORDS)[k % 3]
            text = " ".join([*rng.choice(filler, 4), rng.choice(WORDS[label]), str(k)])
            out.writerow([text, (labels or {}).get(label, label)])
    return path


def test_the_json_report_scores_every_model_on_the_same_test_texts(run_dir):
    result = invoke("evaluate", run_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["classes"] == ["negative", "positive"]
    assert set(report["models"]) == {"rnn", "tfidf_logreg", "nbsvm", "majority"}
    for found in report["models"].values():
        assert {"accuracy", "macro_f1", "ece"} <= set(found)
        assert all(0 <= found[k] <= 1 for k in ("accuracy", "macro_f1", "ece"))
        assert np.sum(found["confusion"]) == report["texts"]
    parts = data.load("embedded", limit=128)
    assert report["texts"] == len(parts["test"]) > 1000
    # The majority baseline's scores, computed again here, are the report's.
    classes = report["classes"]
    index = lambda part: (part.texts, label_indices(part.labels, classes))
    majority = baseline.Majority(index(parts["train"])[1], 2)
    again = metrics.scores(
        index(parts["test"])[1], majority.predict_proba(parts["test"].texts), classes
    )
    assert report["models"]["majority"]["accuracy"] == again["accuracy"]
    rnn = report["models"]["rnn"]
    assert 0 <= rnn["ece_unscaled"] <= 1 and report["temperature"] > 0
    assert len(report["examples"]) == 10
    assert all(len(e["words"]) == len(e["weights"]) for e in report["examples"])
    table = invoke("evaluate", run_dir)
    assert "nbsvm" in table.output and "RNN confusion" in table.output
    below = rnn["accuracy"] < max(v["accuracy"] for v in report["models"].values())
    assert ("Note: the RNN's accuracy" in table.output) == below


def test_three_classes_from_a_csv_train_and_score_a_users_file(tmp_path):
    path = three_classes(tmp_path / "three.csv")
    run = tmp_path / "run"
    trained = invoke(
        "train", "--preset", "tiny", "--run-dir", run, "--data", f"csv:{path}",
        "--text-column", "review", "--label-column", "stars", "--quiet",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    other = three_classes(tmp_path / "other.csv", n=30, seed=1)
    result = invoke("evaluate", run, "--data", f"csv:{other}", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["classes"] == ["bad", "good", "meh"] and report["texts"] == 30
    # One word decides: the linear baselines get every text right.
    assert report["models"]["tfidf_logreg"]["accuracy"] == 1.0
    assert len(report["models"]["rnn"]["per_class"]) == 3
    unknown = three_classes(tmp_path / "unknown.csv", n=30, labels={"meh": "so-so"})
    rcli.usage_error(
        invoke("evaluate", run, "--data", f"csv:{unknown}"),
        "label 'so-so' is not one of the model's classes (bad, good, meh)",
    )
    numbers = three_classes(tmp_path / "numbers.csv", labels={"bad": "1", "good": "5", "meh": "3"})
    rcli.usage_error(
        invoke("evaluate", run, "--data", f"csv:{numbers}"),
        "its labels are numbers (1, 3, 5) but the model's classes are words",
    )
