"""Inference speed of each cell in the apps' SavedModels: the GRU and Elman against the LSTM.

Exports untrained models of a preset's size with each ``--cells`` cell (the
speed does not depend on the weights), loads them back and calls their
signatures as TF Serving would:

- speechtag ``serving_default`` over 2 s utterances (200 frames) at batch 1
  and 16: ms per call;
- textgen ``prime`` over a 200-character prompt at batch 1 and 32 (the
  whole-sequence read of a prompt): ms per call;
- textgen ``serving_default`` generating 100 characters at batch 1: ms per
  character (the ``step`` loop inside the graph);
- textgen ``step`` at batch 1, the state fed back from Python: ms per call,
  beside the floor: the same call of a signature that only returns its
  inputs (what any call costs in this runtime, before any work).

The cells alternate within every round; the figures are medians over the
rounds, with each one's ratio to the LSTM's. ``--inter-op N`` sets the
inter-op threads (TF Serving's ``--tensorflow_inter_op_parallelism``), to
see what handing ops between threads costs a call.

    python benchmarks/cell_inference.py [--preset quick] [--cells lstm,gru,elman] [--rounds 5]
                                        [--inter-op N]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses
import json
import statistics
import time

import numpy as np
import tensorflow as tf

from apps.speechtag import config as speech_cfg
from apps.speechtag.data import SAMPLE_RATE
from apps.speechtag.export import Tagger
from apps.speechtag.features import TagSet
from apps.speechtag.model import build_model as build_tagger
from apps.textgen import config as text_cfg
from apps.textgen import data as text_data
from apps.textgen.export import Generator, generate_request
from apps.textgen.model import build_model as build_charrnn
from rnnkit.testing.bench import speed_parser, step_call_ms
from rnnkit.testing.serving import save_unchecked

PROMPT_CHARS = 200
NEW_CHARS = 100
STEP_CALLS = 200


class _Floor(tf.Module):
    """A ``step``-shaped signature with no work in it: the runtime's cost of a call."""

    def __init__(self, state_size):
        super().__init__()
        self.step = tf.function(
            lambda ids, state: {"logits": tf.cast(ids, tf.float32), "state": state},
            input_signature=[
                tf.TensorSpec([None], tf.int32, name="ids"),
                tf.TensorSpec([None, state_size], tf.float32, name="state"),
            ],
        )


def _tagger(preset: str, cell: str):
    config = dataclasses.replace(speech_cfg.PRESETS[preset].model, cell=cell, streaming=False)
    phones, words = tuple(f"p{i}" for i in range(27)), tuple(f"w{i}" for i in range(12))
    tagger = Tagger(
        build_tagger(config, 27, 12, seed=0), TagSet(phones=phones, words=words, source="benchmark")
    )
    path = save_unchecked(tagger, {"serving_default": tagger.serve}, f"cells-speechtag-{cell}-")
    return tf.saved_model.load(str(path))


def _generator(preset: str, cell: str):
    config = dataclasses.replace(text_cfg.PRESETS[preset].model, cell=cell)
    vocab = text_data.Vocab.from_text(text_data.EMBEDDED.read_text(encoding="utf-8"))
    generator = Generator(build_charrnn(config, len(vocab)), vocab)
    signatures = {"serving_default": generator.generate, "prime": generator.prime}
    signatures["step"] = generator.step
    path = save_unchecked(generator, signatures, f"cells-textgen-{cell}-")
    return tf.saved_model.load(str(path))


def _ms(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return 1000 * (time.perf_counter() - start)


def _tasks(preset: str, cell: str) -> tuple[dict, int]:
    """``{figure name: a call returning its ms}`` for one cell's models, and the width
    of their ``step`` state."""
    tagger, generator = _tagger(preset, cell), _generator(preset, cell)
    rng = np.random.default_rng(0)
    samples = 2 * SAMPLE_RATE
    audio = {b: tf.constant(rng.normal(0, 0.1, [b, samples]).astype(np.float32)) for b in (1, 16)}
    text = text_data.EMBEDDED.read_text(encoding="utf-8")
    prompts = {b: tf.constant([text[i * 997 :][:PROMPT_CHARS] for i in range(b)]) for b in (1, 32)}
    serve, prime = tagger.signatures["serving_default"], generator.signatures["prime"]
    generate = generator.signatures["serving_default"]
    request = {
        k: tf.constant(v) for k, v in generate_request(["ROMEO:"], max_new_chars=NEW_CHARS).items()
    }
    step = generator.signatures["step"]
    state_size = step.structured_input_signature[1]["state"].shape[-1]
    tasks = {}
    for b in (1, 16):
        length = tf.constant([samples] * b)
        tasks[f"speechtag_batch{b}_ms"] = lambda b=b, length=length: _ms(
            lambda: serve(waveform=audio[b], length=length)["frames"].numpy()
        )
    for b in (1, 32):
        tasks[f"prime_batch{b}_ms"] = lambda b=b: _ms(
            lambda: prime(prompt=prompts[b])["logits"].numpy()
        )
    tasks["generate_batch1_ms_per_char"] = lambda: (
        _ms(lambda: generate(**request)["text"].numpy()) / NEW_CHARS
    )
    tasks["step_batch1_ms"] = lambda: step_call_ms(step, STEP_CALLS)
    return tasks, state_size


def main() -> None:
    parser = speed_parser(__doc__, text_cfg.PRESETS.keys() & speech_cfg.PRESETS.keys())
    parser.add_argument("--cells", default="lstm,gru,elman", help="comma-separated cells")
    parser.add_argument("--inter-op", type=int, default=0, help="inter-op threads (0: TF's)")
    args = parser.parse_args()
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    cells = args.cells.split(",")

    tasks, sizes = {}, {}
    for cell in cells:
        tasks[cell], sizes[cell] = _tasks(args.preset, cell)
    floors = {}
    for cell in cells:
        floor = _Floor(sizes[cell])
        path = save_unchecked(floor, {"step": floor.step}, "cells-floor-")
        floors[cell] = tf.saved_model.load(str(path)).signatures["step"]
    found = {(c, name): [] for c in cells for name in [*tasks[c], "step_floor_ms"]}
    for round_ in range(args.rounds + 1):  # the first round warms up
        for name in tasks[cells[0]]:
            for cell in cells:
                ms = tasks[cell][name]()
                if round_:
                    found[(cell, name)].append(ms)
        for cell in cells:
            ms = step_call_ms(floors[cell], STEP_CALLS)
            if round_:
                found[(cell, "step_floor_ms")].append(ms)
    medians = {key: statistics.median(v) for key, v in found.items()}
    figures = {c: {n: medians[(c, n)] for (cc, n) in medians if cc == c} for c in cells}
    if args.json:
        settings = {"preset": args.preset, "rounds": args.rounds, "inter_op": args.inter_op}
        print(json.dumps({**settings, "cells": figures}))
        return
    names = list(figures[cells[0]])
    print(f"{'figure':<30}" + "".join(f"{c:>16}" for c in cells))
    for name in names:
        row = f"{name:<30}"
        for cell in cells:
            ms, base = figures[cell][name], figures[cells[0]][name]
            row += f"{ms:>9.3f} ({ms / base:.2f}x)"
        print(row)
    print(
        f"(preset {args.preset}, untrained; medians over {args.rounds} rounds; "
        f"ratios to {cells[0]}; inter-op threads {args.inter_op or 'default'})"
    )


if __name__ == "__main__":
    main()
