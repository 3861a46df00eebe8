"""translate's evaluate: the RNN and every baseline on the same test pairs."""

import numpy as np

from apps.translate import baseline, config, data, evaluate, metrics, train
from rnnkit import training
from rnnkit.runs import Run


def test_the_report_scores_every_model_on_the_same_test_pairs(tmp_path):
    preset = config.PRESETS["tiny"]
    task = train.make_task(preset, tmp_path)
    result = training.fit(task, preset.train, tmp_path, strategy="default", verbose=False)
    run = Run(path=tmp_path, config=preset, model=result.model, checkpoint="")
    report = evaluate.evaluate(run, {})
    assert set(report["models"]) == {
        "rnn_beam",
        "rnn_greedy",
        "nearest_neighbour",
        "word_by_word",
        "copy",
    }
    test = data.load("embedded", "de-en", phrases=False)["test"]
    assert report["sentences"] == len(test) > 900
    # The copy baseline's scores, computed again here, are the report's.
    assert report["models"]["copy"] == metrics.scores(baseline.copy([p.source for p in test]), test)
    for name, found in report["models"].items():
        assert 0 <= found["bleu"] <= 100 and 0 <= found["chrf"] <= 100 and 0 <= found["exact"] <= 1
        buckets = report["by_length"][name]
        assert sum(b["count"] for b in buckets.values()) == len(test)
    assert len(report["examples"]) == evaluate.SHOWN
    assert 0 <= report["copied"]["rate"] <= 1
    table = evaluate.format_report(report)
    assert "word_by_word" in table and "BLEU by source length" in table
    # The tiny model is far below word-by-word translation, and the report says so.
    assert "Warning: the RNN's BLEU" in table
    assert np.isfinite(report["models"]["rnn_beam"]["chrf"])
    assert evaluate.headline(report).startswith("BLEU ")
