"""Speed of speechtag's exported SavedModels: real-time factor and streaming latency.

Times the SavedModels as TF Serving would run them (loaded back, called
through their signatures): the offline model's ``serving_default`` at batch
1 and batch 16 (real-time factor: seconds of audio per second of
processing), and the streaming model's ``stream`` in 20 ms chunks (latency
per chunk, and its real-time factor). Without ``--offline`` /
``--streaming`` it exports untrained models of the preset's size first
(``PRESET-streaming`` for the streaming one, where it exists): the speed does
not depend on the weights. The variants alternate within each
round; the figures are medians over the rounds.

    python benchmarks/speechtag_speed.py [--offline SAVED_MODEL] [--streaming SAVED_MODEL]
                                         [--preset quick] [--rounds 5] [--json]
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.speechtag import config as cfg
from apps.speechtag.data import SAMPLE_RATE
from apps.speechtag.export import Tagger
from apps.speechtag.features import TagSet
from apps.speechtag.model import build_model
from rnnkit.serving import layout
from rnnkit.testing.bench import speed_parser
from rnnkit.testing.serving import save_unchecked

CHUNK = 320  # 20 ms


def _saved_model(given, preset: str, streaming: bool) -> Path:
    if given:
        return layout.version(given)
    if streaming and f"{preset}-streaming" in cfg.PRESETS:
        config = cfg.PRESETS[f"{preset}-streaming"].model
    else:
        config = dataclasses.replace(cfg.PRESETS[preset].model, streaming=streaming)
    phones, words = tuple(f"p{i}" for i in range(27)), tuple(f"w{i}" for i in range(12))
    tagset = TagSet(phones=phones, words=words, source="benchmark")
    tagger = Tagger(build_model(config, 27, 12, seed=0), tagset)
    signatures = {"serving_default": tagger.serve}
    if streaming:
        signatures["stream"] = tagger.stream
    return save_unchecked(tagger, signatures, "speechtag-bench-")


def main() -> None:
    parser = speed_parser(__doc__, cfg.PRESETS)
    parser.add_argument("--offline", help="offline model: a version folder or a base path")
    parser.add_argument("--streaming", help="streaming model: a version folder or a base path")
    parser.add_argument("--seconds", type=float, default=2.0, help="audio per utterance")
    args = parser.parse_args()

    offline = tf.saved_model.load(str(_saved_model(args.offline, args.preset, False)))
    streaming = tf.saved_model.load(str(_saved_model(args.streaming, args.preset, True)))
    samples = int(args.seconds * SAMPLE_RATE)
    rng = np.random.default_rng(0)
    audio = {b: rng.normal(0, 0.1, [b, samples]).astype(np.float32) for b in (1, 16)}
    state_size = streaming.signatures["stream"].structured_input_signature[1]["state"].shape[1]

    def run_offline(batch):
        serve = offline.signatures["serving_default"]
        waveform, length = tf.constant(audio[batch]), tf.constant([samples] * batch)
        start = time.perf_counter()
        serve(waveform=waveform, length=length)["frames"].numpy()
        return batch * args.seconds / (time.perf_counter() - start)

    def run_streaming():
        stream = streaming.signatures["stream"]
        state = tf.zeros([1, state_size])
        latencies = []
        for at in range(0, samples - CHUNK + 1, CHUNK):
            chunk = tf.constant(audio[1][:, at : at + CHUNK])
            start = time.perf_counter()
            out = stream(waveform=chunk, state=state)
            state = out["state"]
            out["phones"].numpy()
            latencies.append(time.perf_counter() - start)
        return latencies

    # One call of each first: tracing and graph setup are not what is measured.
    run_offline(1), run_offline(16), run_streaming()
    found = {"offline_batch1": [], "offline_batch16": [], "stream_ms": [], "stream_p95_ms": []}
    found["stream_rtf"] = []
    for _ in range(args.rounds):
        found["offline_batch1"].append(run_offline(1))
        found["offline_batch16"].append(run_offline(16))
        latencies = run_streaming()
        found["stream_ms"].append(1000 * float(np.median(latencies)))
        found["stream_p95_ms"].append(1000 * float(np.percentile(latencies, 95)))
        found["stream_rtf"].append(len(latencies) * CHUNK / SAMPLE_RATE / sum(latencies))
    results = {
        "preset": args.preset,
        "seconds_per_utterance": args.seconds,
        "rounds": args.rounds,
        **{k: float(np.median(v)) for k, v in found.items()},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"offline real-time factor: {results['offline_batch1']:.0f}x at batch 1, "
        f"{results['offline_batch16']:.0f}x at batch 16 ({args.seconds:g} s utterances)\n"
        f"streaming, 20 ms chunks: {results['stream_ms']:.2f} ms per chunk (median; p95 "
        f"{results['stream_p95_ms']:.2f} ms), real-time factor {results['stream_rtf']:.0f}x\n"
        f"(medians over {args.rounds} rounds; preset {args.preset})",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
