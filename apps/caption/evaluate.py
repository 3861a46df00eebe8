"""caption's ``evaluate``: greedy and beam captions next to the baselines, on the same images."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from apps.caption import data, features, metrics
from apps.caption.config import CaptionConfig
from apps.caption.data import Example, load_vocabulary
from apps.caption.export import Captioner
from apps.caption.train import Decoder
from rnnkit.runs import Run


def caption_examples(model, vocab, examples: list[Example], config: CaptionConfig, beam: int = 1):
    pixels = features.images(examples, config.model)
    decoder = Decoder(model, vocab, config.data.max_length, beam, config.model.length_penalty)
    return decoder(pixels)


def describe_test(config: CaptionConfig) -> str:
    if config.data.source == "digits":
        return (
            f"strips of 1-{config.data.max_digits} digits written with MNIST digit images "
            "never used in training"
        )
    return "the held-out images"


def evaluate(run: Run, options: dict) -> dict:
    """The report of ``rnnkit caption evaluate RUN``."""
    return score(run.config, run.model, run.path, options)


SCORES = (
    ("bleu1", "BLEU-1"),
    ("bleu4", "BLEU-4"),
    ("cider_d", "CIDEr-D"),
    ("exact_match", "exact"),
)


def format_report(report: dict) -> str:
    lines = [
        f"{report['images']} images ({report['references']} references) of {report['data']}: "
        f"{report['evaluated_on']}; beam width {report['beam']}",
        f"{'model':<28}" + "".join(f"{title:>9}" for _, title in SCORES),
    ]
    for name, found in report["models"].items():
        row = "".join(
            f"{100 * found[key]:>8.1f}%" if key == "exact_match" else f"{found[key]:>9.3f}"
            for key, _ in SCORES
        )
        lines.append(f"{name:<28}{row}")
    return "\n".join(lines)


def score(config: CaptionConfig, model: Captioner, run_dir: Path, options: dict) -> dict:
    """Greedy and beam captions of the test images next to the baselines, on the same images.

    ``options``: ``beam`` (width; default the config's), ``data`` (score on
    another captioned image set instead of the run's test images), ``style``
    (digits: a ``StripStyle`` to draw the test strips with instead of the
    training one; the same digit images and counts).
    """
    from apps.caption import baseline

    vocab = load_vocabulary(run_dir)
    beam = options.get("beam") or config.model.beam
    parts = data.load(config.data)
    train = parts["train"]
    if options.get("data"):
        other = dataclasses.replace(config.data, source=options["data"])
        test = data.load_all(other)
        evaluated_on = f"every image of {options['data']}"
        source = options["data"]
    elif options.get("style") is not None and config.data.source == "digits":
        drawn = dataclasses.replace(config.data, style=options["style"])
        test = data.digit_examples(drawn, "test", config.data.test, seed=0)
        evaluated_on = f"{describe_test(config)}, drawn with {options['style']}"
        source = config.data.source
    else:
        test, evaluated_on, source = parts["test"], describe_test(config), config.data.source
    references = [e.references for e in test]
    test_pixels = features.images(test, config.model)
    train_pixels = features.images(train, config.model)
    greedy = Decoder(model, vocab, config.data.max_length)(test_pixels)
    beamed = Decoder(model, vocab, config.data.max_length, beam, config.model.length_penalty)(
        test_pixels
    )
    found = {
        "rnn_greedy": greedy["caption"],
        "rnn_beam": beamed["caption"],
        "nearest_neighbour": baseline.nearest_neighbour(train_pixels, train, test_pixels),
        "nearest_neighbour_encoder": baseline.nearest_neighbour(
            baseline.encoder_vectors(model, train_pixels),
            train,
            baseline.encoder_vectors(model, test_pixels),
        ),
        "most_frequent": [baseline.most_frequent(train)] * len(test),
    }
    report = {
        "data": source,
        "images": len(test),
        "references": sum(len(r) for r in references),
        "evaluated_on": evaluated_on,
        "beam": beam,
        "models": {name: metrics.scores(captions, references) for name, captions in found.items()},
        "examples": [
            {"references": list(refs), "rnn_greedy": g, "rnn_beam": b}
            for refs, g, b in zip(references[:5], found["rnn_greedy"], found["rnn_beam"])
        ],
    }
    return report


def headline(report: dict) -> str:
    """One line for ``make demo``'s summary: the model against its baselines."""
    models = report["models"]
    return (
        f"exact match {100 * models['rnn_greedy']['exact_match']:.1f}% against nearest "
        f"neighbour's {100 * models['nearest_neighbour_encoder']['exact_match']:.1f}%, BLEU-4 "
        f"{models['rnn_greedy']['bleu4']:.3f} (higher is better)"
    )
