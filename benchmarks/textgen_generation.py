"""Generation speed of textgen's exported ``serving_default``: ms per generated character.

Times the SavedModel as TF Serving would run it (loaded back, called through
its signature) at batch 1 and batch 32, medians over the rounds; and the
``step`` signature at batch 1 (one character in, its logits and the new state
out, the state fed back), as a client that samples each character itself
calls it: the median ms of a call over ``--chars`` calls a round. Without
``--saved-model`` it exports an untrained model of the preset's size first:
the speed does not depend on the weights.

    python benchmarks/textgen_generation.py [--saved-model saved_models/textgen] [--preset quick]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import json
import statistics
import time
from pathlib import Path

import tensorflow as tf

from apps.textgen import config as cfg
from apps.textgen import data, export
from apps.textgen.export import generate_request
from apps.textgen.model import build_model
from rnnkit.serving import layout
from rnnkit.testing.bench import speed_parser, step_call_ms
from rnnkit.testing.serving import save_unchecked


def _saved_model(args) -> Path:
    if args.saved_model:
        return layout.version(args.saved_model)
    config = cfg.PRESETS[args.preset]
    vocab = data.Vocab.from_text(data.EMBEDDED.read_text(encoding="utf-8"))
    generator = export.Generator(build_model(config.model, len(vocab)), vocab)
    signatures = {"serving_default": generator.generate, "step": generator.step}
    return save_unchecked(generator, signatures, "textgen-bench-")


def main() -> None:
    parser = speed_parser(__doc__, cfg.PRESETS)
    parser.add_argument("--saved-model", help="a version folder or a model base path")
    parser.add_argument("--chars", type=int, default=200, help="characters per request")
    args = parser.parse_args()

    path = _saved_model(args)
    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]
    results = {"saved_model": str(path), "chars": args.chars}
    for batch in (1, 32):
        request = generate_request(["ROMEO:"] * batch, max_new_chars=args.chars)
        request = {k: tf.constant(v) for k, v in request.items()}
        serve(**request)  # trace and warm up
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            serve(**request)["text"].numpy()
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        results[f"batch_{batch}"] = {
            "ms_per_step": 1000 * median / args.chars,
            "ms_per_char": 1000 * median / (args.chars * batch),
            "chars_per_sec": args.chars * batch / median,
        }
    results["step_batch_1_ms"] = _step_ms(loaded.signatures["step"], args.chars, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"SavedModel: {path}; {args.chars} new characters per row, median of {args.rounds}")
    print(f"{'batch':>5} {'ms/step':>9} {'ms/char':>9} {'chars/s':>9}")
    for batch in (1, 32):
        r = results[f"batch_{batch}"]
        step, char, rate = r["ms_per_step"], r["ms_per_char"], r["chars_per_sec"]
        print(f"{batch:>5} {step:>9.3f} {char:>9.4f} {rate:>9.0f}")
    print(f"step signature, batch 1: {results['step_batch_1_ms']:.3f} ms a character")


def _step_ms(step, chars: int, rounds: int) -> float:
    """The median over rounds of the mean ms of a ``step`` call, the state fed back."""
    found = [step_call_ms(step, chars) for _ in range(rounds + 1)]
    return statistics.median(found[1:])  # the first round warms up


if __name__ == "__main__":
    main()
