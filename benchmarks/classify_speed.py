"""Speed of classify's exported SavedModel: texts per second at batch 1 and 64.

Times the SavedModel as TF Serving would run it (loaded back, called through
its signatures, raw text in, label and probabilities out): ``serving_default``
and ``explain`` (with attention pooling, the same network plus the weights;
with the other poolings a backward pass) at batch 1 and batch 64, on test
snippets of the embedded data. Without ``--saved-model`` it exports an
untrained model of the preset's size and vocabulary first (the time does
not depend on the weights). The variants alternate within each round; the
figures are medians over the rounds. Goal: under 5 ms a text at batch 1.

    python benchmarks/classify_speed.py [--saved-model PATH] [--preset quick] [--rounds 5] [--json]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.classify import config as cfg
from apps.classify import data
from apps.classify.export import ClassifierModule
from apps.classify.features import build_vocabulary, ordered_classes
from apps.classify.model import build_model
from rnnkit.serving import layout
from rnnkit.testing.bench import (
    print_speeds,
    rotating_runner,
    signature_medians,
    speed_figures,
    speed_parser,
)
from rnnkit.testing.serving import save_unchecked

BATCHES = (1, 64)


def _saved_model(given, preset: str, parts) -> Path:
    if given:
        return layout.version(given)
    config = cfg.PRESETS[preset]
    d = config.data
    vocab = build_vocabulary(parts["train"].texts, d.vocab, d.min_count, d.tokens == "subwords")
    classes = ordered_classes(parts["train"].labels)
    model = build_model(config.model, len(vocab), len(classes), seed=0)
    module = ClassifierModule(model, vocab, classes, d.max_words)
    signatures = {"serving_default": module.serve, "explain": module.explain}
    return save_unchecked(module, signatures, "classify-bench-")


def main() -> None:
    parser = speed_parser(__doc__, cfg.PRESETS)
    parser.add_argument("--saved-model", help="a version folder or a TF Serving base path")
    args = parser.parse_args()

    parts = data.load("embedded")
    loaded = tf.saved_model.load(str(_saved_model(args.saved_model, args.preset, parts)))
    texts = list(parts["test"].texts[: max(BATCHES) * 8])
    words = float(np.mean([len(t.split()) for t in texts]))
    run = rotating_runner(loaded, texts, "text", "label", BATCHES)

    medians = signature_medians(run, ("serving_default", "explain"), BATCHES, args.rounds)
    results = {
        "preset": args.preset,
        "rounds": args.rounds,
        "trained": bool(args.saved_model),
        "mean_words": round(words, 1),
        **speed_figures(medians, default="label"),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_speeds(medians, "text", args.rounds, "text in, label out", default="label")


if __name__ == "__main__":
    main()
