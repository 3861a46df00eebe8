"""Native (C++) CPU kernels for the LSTM, GRU and Elman training loops.

``rnn_ops.cc`` holds six TensorFlow ops: the forward and backward passes of
the LSTM, the GRU and the Elman cell over a whole sequence, each one op with the batch split
across the intra-op threads. They replace the XLA-compiled while loops in
training graphs, where they are about twice as fast on the CPU (see
``benchmarks/rnn_throughput.py``). Graphs traced for inference or export never
use them, so a SavedModel holds only stock ops that TF Serving knows.

The library is compiled on the machine that uses it (``-march=native``), by
``python -m rnnkit.kernels.native`` (``make venv`` runs it), against the
installed TensorFlow's headers. A stamp next to it records the TensorFlow
version, the CPU's feature flags and the source's hash; when any of them
differs, or the library is missing, or ``RNNKIT_NATIVE=0`` is set, the kernels
fall back to the XLA loops.

Each step's recurrent matmul is an AVX-512 micro-kernel over the recurrent
kernel packed once per op (Eigen's product on a CPU without AVX-512);
``RNNKIT_BF16=1`` runs it in bfloat16 where the CPU has AVX512_BF16 (``bf16``).
"""

import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import tensorflow as tf

SOURCE = Path(__file__).with_name("rnn_ops.cc")
LIBRARY = Path(__file__).with_name("_rnn_ops.so")
STAMP = Path(__file__).with_name("_rnn_ops.json")


def _cpu_flags():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _fingerprint():
    return {
        "tensorflow": tf.__version__,
        "cpu": hashlib.sha256(_cpu_flags().encode()).hexdigest()[:16],
        "source": hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16],
    }


def enabled():
    """False when ``RNNKIT_NATIVE=0`` turns the native kernels off."""
    return os.environ.get("RNNKIT_NATIVE", "1") != "0"


def is_built():
    """True when a library built for this TensorFlow, CPU and source is present."""
    if not LIBRARY.exists() or not STAMP.exists():
        return False
    try:
        return json.loads(STAMP.read_text()) == _fingerprint()
    except (OSError, ValueError):
        return False


@functools.cache
def _load():
    if not is_built():
        return None
    try:
        return tf.load_op_library(str(LIBRARY))
    except (tf.errors.NotFoundError, OSError) as e:
        warnings.warn(f"rnnkit: cannot load {LIBRARY.name} ({e}); using XLA loops.", stacklevel=3)
        return None


def ops():
    """The loaded op module, or None when the kernels are off, not built, or a GPU is visible.

    The ops run on the CPU only; with a GPU the XLA loops keep the work there.
    """
    if not enabled() or tf.config.list_logical_devices("GPU"):
        return None
    return _load()


@functools.cache
def has_bf16():
    """True when the CPU has AVX512_BF16 (the library is built for this CPU)."""
    return "avx512_bf16" in _cpu_flags().split()


def bf16():
    """True when ``RNNKIT_BF16=1`` asks for bfloat16 recurrent matmuls and the CPU has them.

    Off by default. The ops then round the recurrent kernel and each step's
    state (forward) or state gradient (backward) to bfloat16 for the matmul,
    accumulating in float32; the states, gates and weight gradients stay
    float32. Read when a training graph is traced.
    """
    return os.environ.get("RNNKIT_BF16", "0") == "1" and has_bf16()


def if_usable(pair, xp, activation, recurrent_activation=None):
    """``pair`` when the native ops can run this sequence, else None.

    They cover float32; the LSTM and GRU the default activations (tanh,
    sigmoid), the Elman cell (``recurrent_activation`` None) every fusable one.
    """
    from rnnkit.kernels.activations import FUSABLE

    if recurrent_activation is None:
        known = activation in FUSABLE
    else:
        known = (activation, recurrent_activation) == ("tanh", "sigmoid")
    usable = known and xp.dtype == tf.float32 and ops() is not None
    return pair if usable else None


def optional(x):
    """The ops take an empty tensor for an absent mask."""
    return tf.zeros([0], tf.float32) if x is None else x


def _compile(out, extra):
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        raise FileNotFoundError("no C++ compiler (g++ or c++) on PATH")
    cmd = [
        cxx,
        "-shared",
        "-fPIC",
        "-O3",
        "-march=native",
        *extra,
        "-Wno-deprecated-declarations",
        *tf.sysconfig.get_compile_flags(),
        str(SOURCE),
        "-o",
        str(out),
        *tf.sysconfig.get_link_flags(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True)


def build(force=False):
    """Compiles the library next to this file unless an up-to-date one is there.

    Returns the library's path. Raises ``RuntimeError`` with the compiler's
    errors when compiling fails.
    """
    if is_built() and not force:
        return LIBRARY
    with tempfile.TemporaryDirectory(dir=LIBRARY.parent) as tmp:
        out = Path(tmp) / LIBRARY.name
        # Eigen's AVX512-FP16 code does not compile with GCC 12; the kernels do
        # not need it, so turn it off where the compiler knows the flag.
        result = _compile(out, ["-mno-avx512fp16"])
        if result.returncode != 0:
            result = _compile(out, [])
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "error" in line]
            raise RuntimeError("compiling rnn_ops.cc failed:\n" + "\n".join(errors[:20]))
        os.replace(out, LIBRARY)
    STAMP.write_text(json.dumps(_fingerprint()))
    _load.cache_clear()
    return LIBRARY


def main():
    try:
        path = build(force="--force" in sys.argv[1:])
    except FileNotFoundError as e:
        print(f"rnnkit: native kernels not built ({e}); the XLA loops will be used.")
        return 0
    except RuntimeError as e:
        print(f"rnnkit: {e}", file=sys.stderr)
        return 1
    print(f"rnnkit: native kernels ready: {path}")
    return 0
