"""Speed of caption's exported SavedModel: images per second, greedy and beam search.

Times the SavedModel as TF Serving would run it (loaded back, called through
its signatures, PNG bytes in): ``greedy`` and ``serving_default`` (beam
search of the exported width) at batch 1 and batch 32, on held-out digit
strips. Without ``--saved-model`` it exports an untrained model of the
preset's size first: an untrained decoder rarely writes ``<end>``, so every
caption runs to the maximum length (the preset's ``max_length`` words plus
``<end>``), an upper bound on a trained model's time. The variants alternate
within each round; the figures are medians over the rounds.

    python benchmarks/caption_speed.py [--saved-model PATH] [--preset quick] [--rounds 5] [--json]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import json
import time
from pathlib import Path

import tensorflow as tf

from apps.caption import config as cfg
from apps.caption import data, strips
from apps.caption.export import Captioner
from apps.caption.model import build_model
from rnnkit.serving import layout
from rnnkit.testing.bench import (
    print_speeds,
    signature_medians,
    speed_figures,
    speed_parser,
)
from rnnkit.testing.serving import save_unchecked

BATCHES = (1, 32)


def _saved_model(given, preset: str) -> Path:
    if given:
        return layout.version(given)
    config = cfg.PRESETS[preset]
    vocab = data.Vocabulary([*data.SPECIAL, *strips.WORDS])
    module = Captioner(
        build_model(config.model, len(vocab), seed=0), vocab, config, config.model.beam
    )
    signatures = {"serving_default": module.serve, "greedy": module.greedy}
    return save_unchecked(module, signatures, "caption-bench-")


def main() -> None:
    parser = speed_parser(__doc__, cfg.PRESETS)
    parser.add_argument("--saved-model", help="a version folder or a TF Serving base path")
    args = parser.parse_args()

    loaded = tf.saved_model.load(str(_saved_model(args.saved_model, args.preset)))
    made = strips.strips("test", max(BATCHES), seed=11)
    images = tf.constant([strips.png_bytes(s.image) for s in made])

    def run(signature, batch):
        fn = loaded.signatures[signature]
        start = time.perf_counter()
        fn(image=images[:batch])["caption"].numpy()
        return 1000 * (time.perf_counter() - start) / batch  # ms per image

    medians = signature_medians(run, ("greedy", "serving_default"), BATCHES, args.rounds)
    results = {
        "preset": args.preset,
        "rounds": args.rounds,
        **speed_figures(medians),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_speeds(medians, "image", args.rounds, "PNG bytes in, caption out")


if __name__ == "__main__":
    main()
