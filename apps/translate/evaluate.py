"""translate's ``evaluate``: the RNN (greedy and beam) and the baselines on the same test pairs.

Scores (``apps.translate.metrics``): corpus BLEU and chrF (sacrebleu, 0-100,
every reference), exact match (a fraction), per source-length bucket; how
often the decoder copied a source word for an unknown one.
"""

from __future__ import annotations

from apps.translate import baseline, data, metrics
from apps.translate.config import TranslateConfig
from apps.translate.decoding import Translator
from apps.translate.features import load_vocabularies
from rnnkit.runs import Run

SHOWN = 10  # test sentences printed with their translations


def evaluate(run: Run, options: dict) -> dict:
    """The report of ``rnnkit translate evaluate RUN``."""
    return score(run.config, run.model, run, options)


def score(config: TranslateConfig, model, run: Run, options: dict) -> dict:
    d = config.data
    parts = data.load(d.source, d.direction, d.phrases, d.data_dir, d.train_limit, d.single_words)
    if options.get("data"):
        source = options["data"]
        # A user's file is scored whole; a TFDS set on its test split (so its
        # training split is hardly read).
        tfds = source.startswith("tfds:")
        given = data.load(source, d.direction, data_dir=d.data_dir, limit=1 if tfds else None)
        splits = ("test",) if tfds else data.SPLITS
        test = [p for split in splits for p in given[split]]
    else:
        test, source = parts["test"], d.source
    train = parts["train"]
    source_vocab, target_vocab = load_vocabularies(run.path)
    beam = options.get("beam") or config.model.beam
    alpha = config.model.length_penalty
    sources = [p.source for p in test]
    greedy = Translator(model, source_vocab, target_vocab, 1, alpha)(sources)
    beamed = Translator(model, source_vocab, target_vocab, beam, alpha)(sources)
    found = {
        "rnn_beam": beamed["translation"],
        "rnn_greedy": greedy["translation"],
        "nearest_neighbour": baseline.NearestNeighbour(train)(sources),
        "word_by_word": baseline.IBMModel1(train)(sources),
        "copy": baseline.copy(sources),
    }
    copied = sum(n > 0 for n in beamed["copied"])
    return {
        "data": source,
        "direction": d.direction,
        "sentences": len(test),
        "beam": beam,
        "models": {name: metrics.scores(h, test) for name, h in found.items()},
        "by_length": {name: metrics.by_length(h, test) for name, h in found.items()},
        "copied": {
            "sentences": copied,
            "words": int(sum(beamed["copied"])),
            "rate": copied / max(1, len(test)),
        },
        "examples": [
            {"source": p.source, "translation": t, "references": list(p.references)}
            for p, t in zip(test[:SHOWN], beamed["translation"])
        ],
    }


def format_report(report: dict) -> str:
    lines = [
        f"{report['sentences']} test sentences of {report['data']} ({report['direction']}); "
        f"beam width {report['beam']}",
        f"{'model':<20}{'BLEU':>8}{'chrF':>8}{'exact':>8}",
    ]
    for name, found in report["models"].items():
        lines.append(
            f"{name:<20}{found['bleu']:>8.2f}{found['chrf']:>8.2f}{100 * found['exact']:>7.1f}%"
        )
    buckets = list(report["by_length"]["rnn_beam"])
    lines.append("BLEU by source length (words): " + ", ".join(buckets))
    for name, found in report["by_length"].items():
        lines.append(f"  {name:<18}" + "".join(f"{found[b]['bleu']:>8.2f}" for b in buckets))
    copied = report["copied"]
    lines.append(
        f"copied source words for unknown ones: {copied['words']} words in "
        f"{copied['sentences']} sentences ({100 * copied['rate']:.1f}%)"
    )
    rnn, best = (
        report["models"]["rnn_beam"]["bleu"],
        max(v["bleu"] for k, v in report["models"].items() if not k.startswith("rnn")),
    )
    if rnn < best:
        lines.append(
            f"Warning: the RNN's BLEU {rnn:.2f} is below the best baseline's {best:.2f}: train "
            "longer or with a larger preset (tiny only shows the pieces working)"
        )
    return "\n".join(lines)


def headline(report: dict) -> str:
    """One line for ``make demo``'s summary: the model against its baselines."""
    models = report["models"]
    return (
        f"BLEU {models['rnn_beam']['bleu']:.1f} against word by word's "
        f"{models['word_by_word']['bleu']:.1f} and nearest neighbour's "
        f"{models['nearest_neighbour']['bleu']:.1f} (higher is better)"
    )
