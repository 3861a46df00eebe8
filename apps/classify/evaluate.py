"""classify's ``evaluate``: the RNN and the baselines on the same test texts.

Scores (``apps.classify.metrics``, fractions): accuracy, macro F1,
expected calibration error, per-class precision and recall, the confusion
matrix. The RNN's probabilities are scaled by the temperature fitted on
validation (its ECE before scaling is reported too). ``--data csv:PATH``
scores the model (and baselines fitted on the run's own training data)
on a user's labelled file instead, its labels mapped to the model's
classes by name.
"""

from __future__ import annotations

from apps.classify import baseline, data, metrics
from apps.classify.config import ClassifyConfig
from apps.classify.features import Encoder, load_run_files
from apps.classify.inference import Predictor, label_indices
from apps.classify.train import uncalibrated_probabilities
from rnnkit.errors import InputError
from rnnkit.runs import Run

SHOWN = 10  # test texts printed with their explanations


def evaluate(run: Run, options: dict) -> dict:
    """The report of ``rnnkit classify evaluate RUN``."""
    return score(run.config, run.model, run, options)


def check_labels(labels, classes: list[str], source: str) -> None:
    """Every label one of ``classes``; numbers against words said as such."""
    unknown = sorted(set(labels) - set(classes))
    if not unknown:
        return
    numbers = lambda names: all(data.is_number(x) for x in names)
    if numbers(set(labels)) != numbers(classes):
        kinds = lambda names: "numbers" if numbers(names) else "words"
        raise InputError(
            f"{source}: its labels are {kinds(set(labels))} ({', '.join(sorted(set(labels))[:4])}) "
            f"but the model's classes are {kinds(classes)} ({', '.join(classes[:4])})"
        )
    raise InputError(
        f"{source}: label {unknown[0]!r} is not one of the model's classes ({', '.join(classes)})"
    )


def score(config: ClassifyConfig, model, run: Run, options: dict) -> dict:
    d = config.data
    parts = data.load(d.source, d.data_dir, d.text_column, d.label_column, d.train_limit)
    vocab, classes = load_run_files(run.path)
    source = options.get("data") or d.source
    if options.get("data"):
        tfds = source.startswith("tfds:")
        given = data.load(source, d.data_dir, d.text_column, d.label_column, 1 if tfds else None)
        splits = ("test",) if tfds else data.SPLITS
        test = data.Labelled(
            tuple(t for s in splits for t in given[s].texts),
            tuple(y for s in splits for y in given[s].labels),
        )
    else:
        test = parts["test"]
    check_labels(test.labels, classes, source)
    truth = label_indices(test.labels, classes)
    index = lambda part: (part.texts, label_indices(part.labels, classes))
    fitted = baseline.fit_all(index(parts["train"]), index(parts["validation"]), len(classes))
    predictor = Predictor(model, vocab, classes, d.max_words)
    out = predictor.outputs(test.texts)
    temperature = float(model.temperature.numpy())
    found = {"rnn": metrics.scores(truth, out["probabilities"], classes)}
    ids, _ = Encoder(vocab, d.max_words)(test.texts)
    unscaled = uncalibrated_probabilities(model, ids)
    found["rnn"]["ece_unscaled"] = metrics.ece(truth, unscaled)
    for name, fitted_model in fitted.items():
        found[name] = metrics.scores(truth, fitted_model.predict_proba(test.texts), classes)
    shown = predictor.rows(list(test.texts[:SHOWN]), explain=True)
    return {
        "data": source,
        "texts": len(test),
        "classes": classes,
        "temperature": temperature,
        "models": found,
        "examples": [{**row, "truth": y} for row, y in zip(shown, test.labels)],
    }


def format_report(report: dict) -> str:
    from apps.classify.plots import marked

    classes = report["classes"]
    lines = [
        f"{report['texts']} test texts of {report['data']}; classes: {', '.join(classes)}",
        f"{'model':<16}{'accuracy':>10}{'macro F1':>10}{'ECE':>8}",
    ]
    for name, found in report["models"].items():
        lines.append(
            f"{name:<16}{found['accuracy']:>10.4f}{found['macro_f1']:>10.4f}{found['ece']:>8.4f}"
        )
    rnn = report["models"]["rnn"]
    lines.append(
        f"RNN calibration: ECE {rnn['ece_unscaled']:.4f} before temperature scaling, "
        f"{rnn['ece']:.4f} after (temperature {report['temperature']:.3f}, fitted on validation)"
    )
    lines.append(f"{'RNN per class':<16}{'precision':>10}{'recall':>10}{'F1':>8}{'texts':>8}")
    for name, found in rnn["per_class"].items():
        lines.append(
            f"  {name:<14}{found['precision']:>10.4f}{found['recall']:>10.4f}"
            f"{found['f1']:>8.4f}{found['support']:>8}"
        )
    width = max(len(c) for c in classes) + 2
    lines.append("RNN confusion (true down, predicted across):")
    lines.append(" " * (width + 2) + "".join(f"{c[: width - 1]:>{width}}" for c in classes))
    for name, row in zip(classes, rnn["confusion"]):
        lines.append(f"  {name:<{width}}" + "".join(f"{n:>{width}}" for n in row))
    lines.append("Explained test texts (each word's weight in hundredths):")
    for row in report["examples"]:
        p = row["probabilities"][row["label"]]
        lines.append(f"  {marked(row)}\n    -> {row['label']} ({p:.2f}); truth: {row['truth']}")
    best = max((v["accuracy"], k) for k, v in report["models"].items() if k != "rnn")
    if rnn["accuracy"] < best[0]:
        lines.append(
            f"Note: the RNN's accuracy {rnn['accuracy']:.4f} is below {best[1]}'s "
            f"{best[0]:.4f}. On short texts a linear model of word pairs is hard to beat "
            "(docs/benchmarks.md has the presets' figures and what was tried); the tiny preset "
            "only shows the pieces working."
        )
    return "\n".join(lines)


def headline(report: dict) -> str:
    """One line for ``make demo``'s summary: the model against its baselines."""
    models = report["models"]
    return (
        f"accuracy {models['rnn']['accuracy']:.3f} against NB-SVM's "
        f"{models['nbsvm']['accuracy']:.3f} and TF-IDF + logistic regression's "
        f"{models['tfidf_logreg']['accuracy']:.3f} (higher is better)"
    )
