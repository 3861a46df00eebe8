"""The ops a SavedModel's graphs use, read from ``saved_model.pb`` without running it.

``graph_ops`` reads the graph and every function of the library, so an op
that is not registered in this process is still seen; ``forbidden_ops``
names those a stock TF Serving cannot or should not run.
"""

from __future__ import annotations

from pathlib import Path

# Ops a stock TF Serving binary lacks (no custom-op library, no GPU-only
# kernels on a CPU server, no Python) or should not run for a client.
FORBIDDEN_OPS = {
    "PyFunc": "a Python function (tf.py_function / tf.numpy_function): the server has no Python",
    "PyFuncStateless": "a Python function: the server has no Python",
    "EagerPyFunc": "a Python function: the server has no Python",
    "ReadFile": "reads files on the server",
    "WriteFile": "writes files on the server",
    "PrintV2": "prints on the server for every request",
    "Print": "prints on the server for every request",
}


FORBIDDEN_PREFIXES = {
    "Rnnkit": "an rnnkit native kernel: a stock server does not have the library",
    "CudnnRNN": "a cuDNN-only kernel: no CPU server can run it",
}


def graph_ops(saved_model_pb: Path) -> tuple[set[str], set[str]]:
    """The op types in every graph and function of a SavedModel, and those
    marked ``_XlaMustCompile`` (read from the proto: no op needs to be registered)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString(saved_model_pb.read_bytes())
    ops, xla = set(), set()
    for meta in proto.meta_graphs:
        nodes = list(meta.graph_def.node)
        for function in meta.graph_def.library.function:
            nodes += list(function.node_def)
            if function.attr.get("_XlaMustCompile") and function.attr["_XlaMustCompile"].b:
                xla.add(function.signature.name)
        for node in nodes:
            ops.add(node.op)
            if "_XlaMustCompile" in node.attr and node.attr["_XlaMustCompile"].b:
                xla.add(node.name)
    return ops, xla


def forbidden_ops(ops: set[str]) -> dict[str, str]:
    """``{op: why}`` for the ops a stock TF Serving should not or cannot run."""
    found = {op: FORBIDDEN_OPS[op] for op in ops if op in FORBIDDEN_OPS}
    for op in ops:
        for prefix, why in FORBIDDEN_PREFIXES.items():
            if op.startswith(prefix):
                found[op] = why
    return found
