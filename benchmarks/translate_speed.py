"""Speed of translate's exported SavedModel: sentences per second, greedy and beam search.

Times the SavedModel as TF Serving would run it (loaded back, called through
its signatures, text in, text out): ``greedy`` and ``serving_default`` (beam
search of the exported width, 4 in the presets) at batch 1 and batch 32, on
held-out test sentences of the embedded data. Without ``--saved-model`` it
exports an untrained model of the preset's size and vocabulary first: an
untrained decoder rarely writes ``</s>``, so each translation runs to its
length limit (1.5 times the source plus 5 words), an upper bound on a
trained model's time. The variants alternate within each round; the figures
are medians over the rounds.

    python benchmarks/translate_speed.py [--saved-model PATH] [--preset quick] [--rounds 5] [--json]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.translate import config as cfg
from apps.translate import data
from apps.translate.export import TranslatorModule
from apps.translate.model import build_model
from apps.translate.train import vocabularies
from rnnkit.serving import layout
from rnnkit.testing.bench import (
    print_speeds,
    rotating_runner,
    signature_medians,
    speed_figures,
    speed_parser,
)
from rnnkit.testing.serving import save_unchecked

BATCHES = (1, 32)


def _saved_model(given, preset: str, parts) -> Path:
    if given:
        return layout.version(given)
    config = cfg.PRESETS[preset]
    train = parts["train"]
    source, target = vocabularies(train, config.data)
    model = build_model(config.model, len(source), len(target), seed=0)
    module = TranslatorModule(model, source, target, config.model.beam, config.model.length_penalty)
    signatures = {"serving_default": module.serve, "greedy": module.greedy}
    return save_unchecked(module, signatures, "translate-bench-")


def main() -> None:
    parser = speed_parser(__doc__, cfg.PRESETS)
    parser.add_argument("--saved-model", help="a version folder or a TF Serving base path")
    args = parser.parse_args()

    parts = data.load("embedded", "de-en", phrases=False)
    loaded = tf.saved_model.load(str(_saved_model(args.saved_model, args.preset, parts)))
    sentences = [p.source for p in parts["test"][: max(BATCHES) * 4]]
    words = float(np.mean([len(s.split()) for s in sentences]))
    run = rotating_runner(loaded, sentences, "text", "translation", BATCHES)

    medians = signature_medians(run, ("greedy", "serving_default"), BATCHES, args.rounds)
    results = {
        "preset": args.preset,
        "rounds": args.rounds,
        "trained": bool(args.saved_model),
        "mean_source_words": round(words, 1),
        **speed_figures(medians),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_speeds(medians, "sentence", args.rounds, "text in, translation out")


if __name__ == "__main__":
    main()
