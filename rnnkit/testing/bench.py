"""What the speed benchmarks share: their command line, a timed call of a signature."""

import argparse
import time
from collections.abc import Iterable


def speed_parser(doc: str, presets: Iterable[str]) -> argparse.ArgumentParser:
    """``--preset`` (of an untrained model when no SavedModel is given), ``--rounds``, ``--json``.

    Each benchmark adds its own options; ``doc`` is its module docstring.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=sorted(presets))
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    return parser


def signature_medians(run, signatures: Iterable[str], batches: Iterable[int], rounds: int):
    """``{(signature, batch): median ms per item}`` of ``run(signature, batch)`` (which
    returns ms per item), after one untimed call of each; the variants alternate within
    every round, so drift on a noisy machine falls on all of them alike."""
    import numpy as np

    variants = [(s, b) for s in signatures for b in batches]
    for v in variants:  # tracing and graph setup are not what is measured
        run(*v)
    found = {v: [] for v in variants}
    for _ in range(rounds):
        for v in variants:
            found[v].append(run(*v))
    return {v: float(np.median(t)) for v, t in found.items()}


def rotating_runner(loaded, items, input_name: str, output: str, batches: Iterable[int]):
    """``run(signature, batch) -> ms per item`` for ``signature_medians``: each call sends
    the next ``batch`` of ``items`` (strings) as ``input_name``, so no two calls of a batch
    size see the same ones, and waits for ``output``."""
    import tensorflow as tf

    turn = {b: 0 for b in batches}

    def run(signature, batch):
        start_at = (turn[batch] * batch) % (len(items) - batch + 1)
        turn[batch] += 1
        given = tf.constant(items[start_at : start_at + batch])
        fn = loaded.signatures[signature]
        start = time.perf_counter()
        fn(**{input_name: given})[output].numpy()
        return 1000 * (time.perf_counter() - start) / batch

    return run


def step_call_ms(step, calls: int) -> float:
    """Mean ms of a call of a textgen-style ``step`` signature at batch 1 over ``calls``
    calls, each fed the state the last one returned (as a client sampling itself would)."""
    import tensorflow as tf

    state_size = step.structured_input_signature[1]["state"].shape[-1]
    ids = tf.constant([1], tf.int32)
    state = tf.zeros([1, state_size])
    start = time.perf_counter()
    for _ in range(calls):
        out = step(ids=ids, state=state)
        state = out["state"]
    out["logits"].numpy()
    return 1000 * (time.perf_counter() - start) / calls


def print_speeds(medians: dict, unit: str, rounds: int, what: str, default: str = "beam") -> None:
    """One line per (signature, batch): ms per ``unit`` and ``unit``s per second;
    ``serving_default`` is called ``default`` (the decoders' beam search)."""
    for (signature, batch), ms in medians.items():
        name = f"{default} (serving_default)" if signature == "serving_default" else signature
        print(f"{name:<24} batch {batch:>2}: {ms:7.2f} ms per {unit}, {1000 / ms:7.0f} {unit}s/s")
    print(f"(medians over {rounds} rounds; {what})")


def speed_figures(medians: dict, default: str = "beam") -> dict:
    """``{"greedy_batch1_ms": ..., "beam_batch32_ms": ...}`` for ``--json``."""
    return {
        f"{default if s == 'serving_default' else s}_batch{b}_ms": ms
        for (s, b), ms in medians.items()
    }
