"""classify's SavedModel: raw text in, the run's labels and probabilities out, checked."""

import json

import numpy as np

from apps.classify.features import CLASSES


def test_the_savedmodel_equals_the_run_and_serving_check_passes(run_dir, saved_model):
    import tensorflow as tf

    from apps.classify.cli import APP
    from apps.classify.features import load_run_files
    from apps.classify.inference import Predictor
    from rnnkit.runs import load_run
    from rnnkit.serving.check import check_version

    texts = ["A gorgeous, witty, seductive movie.", "", "Dull. DULL!", "ünïcode ☃ text"]
    loaded = tf.saved_model.load(str(saved_model))
    exported = loaded.signatures["serving_default"](text=tf.constant(texts))
    run = load_run(APP, run_dir)
    vocab, classes = load_run_files(run_dir)
    local = Predictor(run.model, vocab, classes, run.config.data.max_words).outputs(texts)
    np.testing.assert_array_equal(exported["label"].numpy(), local["label"])
    np.testing.assert_allclose(exported["probabilities"].numpy(), local["probabilities"], atol=1e-5)
    assert json.loads((saved_model / "assets" / CLASSES).read_text())["classes"] == classes
    # The temperature the run fitted on validation is the SavedModel's.
    assert float(run.model.temperature.numpy()) != 1.0
    explained = loaded.signatures["explain"](text=tf.constant(texts))
    assert explained["words"].shape == explained["weights"].shape
    assert [c.line() for c in check_version(saved_model, "classify") if c.ok is False] == []


def test_an_ensemble_exports_as_one_savedmodel_equal_to_the_run(tiny_runs):
    import tensorflow as tf

    from apps.classify.cli import APP
    from apps.classify.features import load_run_files
    from apps.classify.inference import Predictor
    from rnnkit.runs import load_run
    from rnnkit.serving.check import check_version

    options = ("--ensemble", "2", "--pretrain-epochs", "1")
    run_dir = tiny_runs.run("classify", *options, steps=16)
    saved = tiny_runs.export("classify", *options)
    run = load_run(APP, run_dir)
    assert len(run.model.members) == 2
    assert all(float(m.temperature.numpy()) != 1.0 for m in run.model.members)
    texts = ["A gorgeous, witty, seductive movie.", "", "Dull. DULL!"]
    loaded = tf.saved_model.load(str(saved))
    vocab, classes = load_run_files(run_dir)
    predictor = Predictor(run.model, vocab, classes, run.config.data.max_words)
    for name, explain in (("serving_default", False), ("explain", True)):
        exported = loaded.signatures[name](text=tf.constant(texts))
        local = predictor.outputs(texts, explain=explain)
        np.testing.assert_array_equal(exported["label"].numpy(), local["label"])
        np.testing.assert_allclose(
            exported["probabilities"].numpy(), local["probabilities"], atol=1e-5
        )
    np.testing.assert_allclose(exported["weights"].numpy(), local["weights"], atol=1e-5)
    assert [c.line() for c in check_version(saved, "classify") if c.ok is False] == []
