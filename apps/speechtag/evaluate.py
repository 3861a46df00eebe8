"""speechtag's ``evaluate``: the RNN, the frame MLP and the majority tag on held-out speech.

Frame tags are decoded into segments (Viterbi with a switch penalty and
start-probability splits, both tuned on the validation utterances), then
scored per tier: frame accuracy, PER/WER and boundary F1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.speechtag import baseline, data, label_files, metrics, plots, voicebank
from apps.speechtag.config import SpeechtagConfig
from apps.speechtag.data import TIERS
from apps.speechtag.decoding import log_probs, predict, run_model, segment, tune_decoding
from apps.speechtag.features import TagSet
from apps.speechtag.train import load_data, tier_names
from rnnkit import figures
from rnnkit.errors import InputError
from rnnkit.runs import Run


def evaluate(run: Run, options: dict) -> dict:
    """The report of ``rnnkit speechtag evaluate RUN``."""
    return score(run.config, run.model, run.path, options)


SCORES = (("frame_accuracy", "frame acc"), ("error_rate", "PER/WER"), ("boundary_f1", "bound. F1"))


def format_report(report: dict) -> str:
    lines = [
        f"{report['utterances']} utterances, {report['frames']} frames of {report['data']}: "
        f"{report['evaluated_on']}" + (" (streaming model)" if report["streaming"] else "")
    ]
    for tier in TIERS:
        lines.append(f"{tier:<10}" + "".join(f"{title:>12}" for _, title in SCORES))
        for name, found in report["models"].items():
            row = "".join(f"{100 * found[tier][key]:>11.1f}%" for key, _ in SCORES)
            lines.append(f"  {name:<8}{row}")
    rnn, mlp = report["models"]["rnn"], report["models"]["mlp"]
    for tier, rate in (("words", "WER"), ("phones", "PER")):
        if rnn[tier]["error_rate"] > mlp[tier]["error_rate"]:
            lines.append(
                f"Warning: the RNN's {rate} {100 * rnn[tier]['error_rate']:.1f}% is worse than "
                f"the frame MLP baseline's {100 * mlp[tier]['error_rate']:.1f}%: train longer or "
                "with a larger preset (tiny only shows the pieces working)"
            )
    return "\n".join(lines)


def score(config: SpeechtagConfig, model, run_dir: Path, options: dict) -> dict:
    """The RNN, the frame MLP and the majority tag on the test voices (or ``--data``)."""
    tagset = TagSet.load(run_dir)
    labels = tagset.labels
    split = options.get("split") or "test"
    if split != "test" and (options.get("data") or config.data.source != "espeak"):
        raise InputError(
            f"--split {split} scores a voice family of the generated corpus: it needs a run "
            "trained on --data espeak, and no evaluate --data"
        )
    if options.get("data"):
        source = options["data"]
        if not source.startswith("dir:"):
            raise InputError(f"evaluate --data takes dir:PATH; received {source!r}")
        utterances = label_files.read_folder(source[4:], tier_names(config.data))
        labels.check(utterances)
        described = f"{len(utterances)} files of {source[4:]}"
    # The run's corpus is needed either way: the MLP trains on its training part
    # and its smoothing is tuned on the validation part.
    parts = load_data(config.data, quiet=True)
    if not options.get("data"):
        source = config.data.source
        utterances = parts[split]
        described = (
            voicebank.describe_split(split) if split != "test" else tagset.test_voices
        ) or "the test files"
    found = data.examples(utterances, labels)
    train_examples = data.examples(parts["train"], labels)
    predicted = {}
    predicted["rnn"], reference = predict(lambda inputs: log_probs(model, inputs), found)
    mlp = baseline.load_or_train_mlp(
        run_dir / MLP_FILE,
        lambda: data.dataset(train_examples, 32),
        config.model.n_mels,
        len(labels.phones),
        len(labels.words),
        seed=config.seed,
    )
    mlp_fn = lambda inputs: baseline.mlp_log_probs(
        mlp, inputs["waveform"], inputs["length"], config.model.n_mels
    )
    # A frame classifier flickers more than the RNN: its smoothing is tuned on
    # the validation utterances, tier by tier, before it is scored.
    val_examples = data.examples(parts["validation"], labels)
    mlp_decoding = tune_decoding(*run_model(mlp_fn, val_examples), labels)
    mlp_rows, _ = run_model(mlp_fn, found)
    predicted["mlp"] = {}
    for tier, how in mlp_decoding.items():
        predicted["mlp"].update(segment(mlp_rows, [tier], how["penalty"], how["use_starts"]))
    predicted["majority"] = {
        tier: [
            [(0, r[-1][1], baseline.majority(train_examples[tier], len(labels.tier(tier))))]
            for r in reference[tier]
        ]
        for tier in TIERS
    }
    models = {name: metrics.score(p, reference, labels) for name, p in predicted.items()}
    writer = tf.summary.create_file_writer(str(run_dir / "tb" / "evaluate"))
    with writer.as_default(step=0):
        figure = plots.confusion_figure(
            np.concatenate([metrics.frame_tags(p) for p in predicted["rnn"]["phones"]]),
            np.concatenate([metrics.frame_tags(r) for r in reference["phones"]]),
            labels.phones,
        )
        tf.summary.image("phones/confusion", figures.image(figure)[None])
    writer.flush()
    return {
        "data": source,
        "evaluated_on": described,
        "split": None if options.get("data") else split,
        "utterances": len(utterances),
        "frames": int(sum(r[-1][1] for r in reference["phones"])),
        "streaming": config.model.streaming,
        "mlp_decoding": mlp_decoding,
        "models": models,
    }


MLP_FILE = "baseline_mlp.weights.h5"


def headline(report: dict) -> str:
    """One line for ``make demo``'s summary: the model against its baseline."""
    rnn, mlp = report["models"]["rnn"], report["models"]["mlp"]
    return (
        f"WER {100 * rnn['words']['error_rate']:.1f}%, "
        f"PER {100 * rnn['phones']['error_rate']:.1f}% "
        f"against the frame MLP's {100 * mlp['words']['error_rate']:.1f}% and "
        f"{100 * mlp['phones']['error_rate']:.1f}% (lower is better)"
    )
