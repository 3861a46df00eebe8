"""What a SavedModel would run, read from ``saved_model.pb`` before anything of it runs.

A SavedModel from elsewhere is untrusted: loading it runs its init op and
variable restore, and serving it runs its signatures. ``static_check``
reads the proto alone (no op needs to be registered, nothing is executed)
and walks from everything a loader or a client runs (every signature, the
init and main ops, the variable restore, the functions ``tf.saved_model.load``
restores) through the graph's inputs and every function those nodes call
(``StatefulPartitionedCall``'s ``f``, ``While``'s body, ``If``'s branches, a
function called as an op). Every op reached must be in ``allowed_ops.txt``
(see ``rnnkit.serving.allowlist``); ``RestoreV2`` only inside the restore.
The checkpoint's own save function is never reached, so its ``SaveV2`` is no
problem; the same op in a signature is.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from pathlib import Path

from rnnkit.errors import InputError

ALLOWED_FILE = Path(__file__).with_name("allowed_ops.txt")
# Loaders feed the variables' checkpoint path to this op: allowed there only.
RESTORE_OPS = frozenset({"RestoreV2"})
# Why some ops outside the allowlist are refused, for the message.
WHY = {
    "PyFunc": "a Python function (tf.py_function / tf.numpy_function): the server has no Python",
    "PyFuncStateless": "a Python function: the server has no Python",
    "EagerPyFunc": "a Python function: the server has no Python",
    "ReadFile": "reads files on the server",
    "WriteFile": "writes files on the server",
    "SaveV2": "writes files on the server",
    "RestoreV2": "reads files on the server",
    "MergeV2Checkpoints": "writes files on the server",
    "PrintV2": "prints on the server for every request",
    "Print": "prints on the server for every request",
}
WHY_PREFIX = {
    "Rnnkit": "an rnnkit native kernel: a stock server does not have the library",
    "CudnnRNN": "a cuDNN-only kernel: no CPU server can run it",
}
INIT_SIGNATURE = "__saved_model_init_op"
INIT_COLLECTIONS = ("saved_model_main_op", "legacy_init_op", "table_initializer")


@functools.cache
def allowed_ops() -> frozenset[str]:
    lines = ALLOWED_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def why(op: str) -> str:
    for prefix, reason in WHY_PREFIX.items():
        if op.startswith(prefix):
            return reason
    return WHY.get(op, "not an op of rnnkit's allowlist of stock TF ops")


@dataclasses.dataclass(frozen=True)
class Use:
    """An op type reached from ``root``, in ``function`` (None: the top-level graph)."""

    op: str
    function: str | None
    root: str

    def line(self) -> str:
        where = f"function `{self.function}`" if self.function else "the graph"
        return f"{self.op} in {where}, run by {self.root}: {why(self.op)}"


def read_saved_model(pb: Path):
    """The ``SavedModel`` proto; ``InputError`` for a cut or foreign file."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        proto = saved_model_pb2.SavedModel.FromString(pb.read_bytes())
    except (DecodeError, ValueError, RuntimeError) as e:
        raise InputError(f"{pb} is not a SavedModel proto (cut short?): {e}") from None
    if not proto.meta_graphs:
        raise InputError(f"{pb} holds no graph (cut short?)")
    return proto


def _called(attrs) -> Iterator[str]:
    """The functions a node's (or function's) attributes name."""
    for value in attrs.values():
        if value.HasField("func"):
            yield value.func.name
        if value.HasField("list"):
            yield from (f.name for f in value.list.func)


def uses(meta) -> list[Use]:
    """Every op type reached from what a loader or client runs, with where it was first seen."""
    library = {f.signature.name: f for f in meta.graph_def.library.function}
    nodes = {n.name: n for n in meta.graph_def.node}
    found: dict[tuple[str, str | None, str], Use] = {}

    def walk(label: str, seen: set, tensors=(), functions=()) -> None:
        graph_stack = [t.lstrip("^").split(":")[0] for t in tensors]
        function_stack = list(functions)
        while graph_stack or function_stack:
            if graph_stack:
                name = graph_stack.pop()
                if ("node", name) in seen or name not in nodes:
                    continue
                seen.add(("node", name))
                where, body = None, [nodes[name]]
                graph_stack += [i.lstrip("^").split(":")[0] for i in nodes[name].input]
            else:
                where = function_stack.pop()
                if ("function", where) in seen or where not in library:
                    continue
                seen.add(("function", where))
                body = library[where].node_def
            for node in body:
                found.setdefault((node.op, where, label), Use(node.op, where, label))
                function_stack += [node.op] if node.op in library else []
                function_stack += list(_called(node.attr))

    seen: set = set()
    for name, signature in sorted(meta.signature_def.items()):
        label = "the init op" if name == INIT_SIGNATURE else f"signature `{name}`"
        walk(label, seen, tensors=[t.name for t in signature.outputs.values()])
    for key in INIT_COLLECTIONS:
        if key in meta.collection_def:
            walk(f"the {key}", seen, tensors=meta.collection_def[key].node_list.value)
    for function in sorted(meta.object_graph_def.concrete_functions):
        walk("tf.saved_model.load (it restores it as a callable)", seen, functions=[function])
    # Its own seen set: a function that both a signature and the restore
    # reach is checked without RESTORE_OPS for the one, with them for the other.
    if meta.saver_def.restore_op_name:
        walk(RESTORE, set(), tensors=[meta.saver_def.restore_op_name])
    return list(found.values())


RESTORE = "the variable restore"


def refused(found: list[Use]) -> list[Use]:
    """The ``uses`` of ops outside the allowlist, one per op type and root, sorted."""
    allowed = allowed_ops()
    bad = {}
    for use in found:
        if use.op in allowed or (use.root == RESTORE and use.op in RESTORE_OPS):
            continue
        bad.setdefault((use.op, use.root), use)
    return [bad[k] for k in sorted(bad)]


def xla_functions(meta) -> list[str]:
    """Functions and nodes marked ``_XlaMustCompile`` (jit_compile): a stock server lacks XLA."""
    marked = []
    for function in meta.graph_def.library.function:
        if function.attr.get("_XlaMustCompile") and function.attr["_XlaMustCompile"].b:
            marked.append(function.signature.name)
        marked += [n.name for n in function.node_def if _must_compile(n)]
    marked += [n.name for n in meta.graph_def.node if _must_compile(n)]
    return sorted(marked)


def _must_compile(node) -> bool:
    return "_XlaMustCompile" in node.attr and node.attr["_XlaMustCompile"].b


def asset_problems(meta, version: Path) -> list[str]:
    """Asset file names that are absolute or lead outside ``version/assets``."""
    from rnnkit.files import inside

    problems = []
    for asset in meta.asset_file_def:
        try:
            inside(version / "assets", asset.filename, f"asset `{asset.tensor_info.name}`")
        except InputError as e:
            problems.append(str(e))
    return problems


@dataclasses.dataclass(frozen=True)
class Static:
    """What the static check found: ``problems`` (one line each; none when the
    SavedModel may be loaded) and how many op types it runs, for the report."""

    problems: list[str]
    op_types: int


def static_check(version: str | Path) -> Static:
    """Why the SavedModel at ``version`` must not be loaded, from ``saved_model.pb`` alone.

    A cut or foreign file is an ``InputError``; the problems are an op
    outside the allowlist (named with the function it is in and what runs
    it), a ``jit_compile`` function, an asset name that leads outside the folder.
    """
    version = Path(version)
    proto = read_saved_model(version / "saved_model.pb")
    problems, ops = [], set()
    for meta in proto.meta_graphs:
        found = uses(meta)
        ops |= {use.op for use in found}
        problems += [use.line() for use in refused(found)]
        xla = xla_functions(meta)
        if xla:
            problems.append(
                f"_XlaMustCompile on {xla[:3]}: jit_compile functions need XLA, "
                "which a stock TF Serving build lacks"
            )
        problems += asset_problems(meta, version)
    return Static(list(dict.fromkeys(problems)), len(ops))
