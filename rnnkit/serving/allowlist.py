"""How ``allowed_ops.txt``, the ops a SavedModel from elsewhere may run, is derived.

Regenerate it with ``python -m rnnkit.serving.allowlist > rnnkit/serving/allowed_ops.txt``
after a TensorFlow upgrade; ``tests/rnnkit/test_allowlist.py`` fails until
the file and this derivation agree.

The list is every op of TensorFlow's stock op families that only computes on
tensors (math, arrays, strings, control flow, lookup tables, images, audio,
variables, ...), as registered by the ``gen_<family>`` modules, less the ops
of those families that reach outside the process (files, queues shared
across sessions, the debugger, remote calls) or print. Families that exist to
touch files or run Python (``io_ops``, ``script_ops``, ``summary_ops``,
``debug_ops``, ``dataset_ops``, proto decoding with a descriptor file,
collectives) are not read at all. Every op of rnnkit's own exports falls
inside it. ``RestoreV2`` is allowed only in the variable restore that the
loader runs (``rnnkit.serving.ops.RESTORE_OPS``).
"""

from __future__ import annotations

import importlib
import inspect
import re

# Family -> the ops of that family left out, each with why.
LEFT_OUT = {
    "array_ops": {
        "DebugGradientIdentity": "a debugger hook",
        "DebugGradientRefIdentity": "a debugger hook",
    },
    "audio_ops": {},
    "bitwise_ops": {},
    "control_flow_ops": {"Abort": "ends the server process"},
    "functional_ops": {"RemoteCall": "runs a function on another machine"},
    "image_ops": {},
    "linalg_ops": {},
    "list_ops": {},
    "logging_ops": {
        "Print": "prints on the server for every request",
        "PrintV2": "prints on the server for every request",
    },
    "lookup_ops": {
        "InitializeTableFromTextFile": "reads a file named by a tensor",
        "InitializeTableFromTextFileV2": "reads a file named by a tensor",
    },
    "manip_ops": {},
    "map_ops": {},
    "math_ops": {},
    "nn_ops": {},
    "parsing_ops": {},
    "ragged_array_ops": {},
    "ragged_conversion_ops": {},
    "ragged_math_ops": {},
    "random_ops": {},
    "resource_variable_ops": {},
    "rnn_ops": {},
    "set_ops": {},
    "sparse_ops": {},
    "special_math_ops": {},
    "spectral_ops": {},
    "state_ops": {},
    "stateful_random_ops": {},
    "stateless_random_ops": {},
    "stateless_random_ops_v2": {},
    "string_ops": {},
    # Of data_flow_ops only the per-call containers (TF1 loops' tensor
    # arrays and stacks, partition and stitch): queues, barriers, staging
    # areas and accumulators outlive a request and can block the server.
    "data_flow_ops": {},
}
KEEP_ONLY = {
    "data_flow_ops": re.compile(r"^(TensorArray|Stack|DynamicPartition|(Parallel)?DynamicStitch)"),
    "logging_ops": re.compile(r"^(Assert|Timestamp)$"),
}


def family_ops(family: str) -> set[str]:
    """The op types ``tensorflow.python.ops.gen_<family>`` registers."""
    module = importlib.import_module(f"tensorflow.python.ops.gen_{family}")
    return set(re.findall(r'_apply_op_helper\(\s*"(\w+)"', inspect.getsource(module)))


def derive() -> dict[str, list[str]]:
    """``{family: sorted allowed ops}``."""
    allowed = {}
    for family, left_out in sorted(LEFT_OUT.items()):
        ops = family_ops(family) - set(left_out)
        if family in KEEP_ONLY:
            ops = {op for op in ops if KEEP_ONLY[family].match(op)}
        allowed[family] = sorted(ops)
    return allowed


def render(allowed: dict[str, list[str]]) -> str:
    import tensorflow as tf

    total = len({op for ops in allowed.values() for op in ops})
    lines = [
        "# The op types a SavedModel checked by rnnkit may run, outside the variable restore.",
        f"# Derived by `python -m rnnkit.serving.allowlist` from TensorFlow {tf.__version__};",
        f"# {total} ops. See rnnkit/serving/allowlist.py for what is left out and why.",
    ]
    for family, ops in allowed.items():
        lines += ["", f"# {family} ({len(ops)})", *ops]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(derive()), end="")
