"""Will TF Serving serve this? The checks behind ``rnnkit serving check``.

TF Serving itself cannot be installed on these machines, so the proof follows
its contract:

- ``models.config`` is a ``ModelServerConfig`` in text format; each entry's
  ``base_path`` holds integer version folders, and the version policy
  (latest by default) picks which of them load;
- a version loads with the TF1 session loader, tag ``serve`` (what TF Serving
  runs; ``tf.saved_model.load`` is more forgiving);
- every signature is batch-major with named inputs and outputs, so the REST
  row format and server-side batching work;
- the graphs use only ops a stock build has;
- the warmup records replay through the loaded session, at most 1000.

A version is untrusted until checked: ``rnnkit.serving.ops`` reads its
``saved_model.pb`` first, and only a version whose every reachable op is on
the allowlist is loaded, in a child process with a time and memory limit.

Each check gives a ``Check``; ``passed(checks)`` is the verdict.
"""

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnnkit.errors import InputError, first_line
from rnnkit.serving.batching import batching_problem
from rnnkit.serving.layout import (
    BATCHING_FILE,
    MAX_WARMUP_RECORDS,
    WARMUP_FILE,
    read_warmup,
    version_folders,
)
from rnnkit.serving.ops import static_check

INIT_OP_SIGNATURE = "__saved_model_init_op"
_UNNAMED = re.compile(r"^(input|output)_\d+$")


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of the report. ``ok`` is None for a note that is neither."""

    subject: str  # "models.config", "textgen", "textgen/3"
    check: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "note"}[self.ok]
        return f"{mark}  {self.subject}: {self.check}: {self.detail}"


def passed(checks: list[Check]) -> bool:
    return bool(checks) and all(c.ok is not False for c in checks)


def _served_versions(entry, numbers: list[int]) -> list[int]:
    """The versions the entry's ``model_version_policy`` loads."""
    policy = entry.model_version_policy
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return numbers
    if kind == "specific":
        return sorted(int(v) for v in policy.specific.versions)
    count = policy.latest.num_versions if kind == "latest" else 1
    return numbers[-max(count, 1) :]


def check_models_config(base_dir: str | os.PathLike) -> list[Check]:
    """Every check for ``base_dir/models.config`` and the versions it serves."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2 as config_pb2

    base_dir = Path(base_dir)
    path = base_dir / "models.config"
    if not path.is_file():
        return [Check("models.config", "exists", False, f"no {path}")]
    try:
        config = text_format.Parse(path.read_text(), config_pb2.ModelServerConfig())
    except (text_format.ParseError, UnicodeDecodeError) as e:
        return [Check("models.config", "parses", False, f"not a ModelServerConfig: {e}")]
    entries = list(config.model_config_list.config)
    if not entries:
        return [Check("models.config", "parses", False, "it lists no model")]
    checks = [
        Check(
            "models.config",
            "parses",
            True,
            f"{len(entries)} model(s): {', '.join(e.name for e in entries)}",
        )
    ]
    if (base_dir / BATCHING_FILE).exists():
        checks.append(check_batching(base_dir / BATCHING_FILE))
    for entry in entries:
        checks += _check_entry(entry, base_dir)
    return checks


def check_batching(path: Path) -> Check:
    """``batching.config`` parses as ``BatchingParameters`` with sane sizes."""
    problem, size = batching_problem(path)
    if problem:
        return Check(path.name, "parses", False, problem)
    return Check(path.name, "parses", True, f"BatchingParameters, max_batch_size {size}")


def _check_entry(entry, base_dir: Path) -> list[Check]:
    name = entry.name or "(no name)"
    if not entry.name:
        return [Check(name, "name", False, "a model entry has no name")]
    if entry.model_platform not in ("", "tensorflow"):
        return [Check(name, "platform", False, f"model_platform {entry.model_platform!r}")]
    base = Path(entry.base_path)
    if not entry.base_path or not base.is_dir():
        # The server reads base_path on its own machine: note where a
        # same-named folder sits here, which is what a mount would give.
        local = base_dir / entry.name
        if local.is_dir():
            checks = [
                Check(
                    name,
                    "base_path",
                    None,
                    f"{entry.base_path or '(empty)'} is not here; checking {local}, the folder "
                    "of that name beside models.config (mount it at base_path in the server)",
                )
            ]
            base = local
        else:
            return [Check(name, "base_path", False, f"{entry.base_path or '(empty)'} is no folder")]
    else:
        checks = [Check(name, "base_path", True, str(base))]
    numbers, others = version_folders(base)
    ignored = [o for o in others if (base / o).is_dir()]
    if ignored:
        checks.append(
            Check(name, "other folders", None, f"{ignored}: not integers, TF Serving skips them")
        )
    if not numbers:
        return checks + [Check(name, "versions", False, "no integer version folder")]
    incomplete = set()
    for number in numbers:
        missing = _missing(base / str(number))
        if missing:
            incomplete.add(number)
            checks.append(
                Check(f"{name}/{number}", "complete", False, f"missing {', '.join(missing)}")
            )
    served = _served_versions(entry, numbers)
    absent = [v for v in served if v not in numbers]
    if absent:
        checks.append(Check(name, "versions", False, f"the policy asks for absent {absent}"))
    served = [v for v in served if v in numbers]
    checks.append(Check(name, "versions", True, f"{numbers}; served: {served}"))
    for number in served:
        if number not in incomplete:
            checks += check_version(base / str(number), f"{name}/{number}")
    return checks


def _shape(info) -> list[int] | None:
    if info.tensor_shape.unknown_rank:
        return None
    return [d.size for d in info.tensor_shape.dim]


def _signature_problems(name: str, signature) -> list[str]:
    problems = []
    for kind, tensors in (("input", signature.inputs), ("output", signature.outputs)):
        if not tensors:
            problems.append(f"{name} has no {kind}s")
        for key, info in tensors.items():
            shape = _shape(info)
            if _UNNAMED.match(key):
                problems.append(f"{name}: {kind} `{key}` has no name of its own")
            if shape is None:
                if kind == "input":
                    problems.append(f"{name}: input `{key}` has an unknown rank")
            elif not shape:
                problems.append(f"{name}: {kind} `{key}` is a scalar, not batch-major")
            elif shape[0] != -1:
                problems.append(
                    f"{name}: {kind} `{key}` has a fixed first dimension {shape[0]} "
                    "(batch-major means any batch size: None)"
                )
    return problems


def _missing(version: Path) -> list[str]:
    """What a version folder lacks of the files TF Serving loads."""
    return [f for f in ("saved_model.pb", "variables") if not (version / f).exists()]


# A version is loaded and replayed in a child process under these limits.
TIME_LIMIT_S = 300
MEMORY_LIMIT_GIB = 8


def check_version(
    path: str | os.PathLike, subject: str | None = None, *, isolate: bool = True
) -> list[Check]:
    """Every check of one version folder: ops, session loading, signatures, warmup.

    The ops are read from ``saved_model.pb`` first; the version is loaded
    only when they all pass, and with ``isolate`` (the default: the version
    is someone else's) in a child process under ``TIME_LIMIT_S`` and
    ``MEMORY_LIMIT_GIB``. ``export`` checks its own fresh export in-process.
    """
    path = Path(path)
    subject = subject or str(path)
    missing = _missing(path)
    if missing:
        return [Check(subject, "complete", False, f"missing {', '.join(missing)}")]
    try:
        static = static_check(path)
    except InputError as e:
        return [Check(subject, "saved_model.pb", False, str(e))]
    if static.problems:
        checks = [Check(subject, "ops", False, p) for p in static.problems]
        return checks + [Check(subject, "loads", None, "not loaded: it failed the static check")]
    checks = [Check(subject, "ops", True, f"{static.op_types} op types, all on the allowlist")]
    if not isolate:
        return checks + load_checks(path, subject)
    return checks + _load_in_child(path, subject)


def _load_in_child(path: Path, subject: str) -> list[Check]:
    """``load_checks`` in ``python -m rnnkit.serving.check``, limited in time and memory."""
    import json
    import subprocess
    import sys

    def limit_memory():
        import resource

        size = MEMORY_LIMIT_GIB << 30
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    command = [sys.executable, "-m", "rnnkit.serving.check", str(path), subject]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_S,
            preexec_fn=limit_memory,
            check=False,
        )
    except subprocess.TimeoutExpired:
        why = f"loading and replaying took over {TIME_LIMIT_S} s; stopped"
        return [Check(subject, "loads", False, why)]
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        why = (
            f"the loading process ended with code {done.returncode} (memory limit "
            f"{MEMORY_LIMIT_GIB} GiB): {tail}"
        )
        return [Check(subject, "loads", False, why)]
    return [Check(**c) for c in json.loads(lines[-1])]


def load_checks(path: Path, subject: str) -> list[Check]:
    """Session loading, signatures and warmup replay of a version that passed the static check."""
    checks = []
    records = _read_warmup(path)
    graph = tf.Graph()
    logger, level = tf.get_logger(), tf.get_logger().level
    with tf.compat.v1.Session(graph=graph) as session:
        try:
            logger.setLevel("ERROR")  # the TF1 loader's deprecation notice
            meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(path))
        except Exception as e:
            why = f"the session loader failed: {first_line(e)}"
            checks.append(Check(subject, "loads", False, why))
            return checks
        finally:
            logger.setLevel(level)
        signatures = dict(meta.signature_def)
        checks.append(
            Check(
                subject,
                "loads",
                True,
                "session loader, tag serve; signatures "
                f"{sorted(set(signatures) - {INIT_OP_SIGNATURE})}",
            )
        )
        if "serving_default" not in signatures:
            checks.append(Check(subject, "signatures", False, "no serving_default"))
        signatures.pop(INIT_OP_SIGNATURE, None)  # the loader runs it; no client calls it
        problems = [p for n, s in sorted(signatures.items()) for p in _signature_problems(n, s)]
        if problems:
            checks += [Check(subject, "signatures", False, p) for p in problems]
        else:
            checks.append(
                Check(subject, "signatures", True, "named, batch-major inputs and outputs")
            )
        checks.append(_check_warmup(records, session, signatures, subject))
    return checks


def _read_warmup(path: Path):
    """``layout.read_warmup``'s records; None without a file, or the error."""
    if not (path / WARMUP_FILE).is_file():
        return None
    try:
        return read_warmup(path / WARMUP_FILE)
    except Exception as e:
        return e


def _check_warmup(records, session, signatures, subject: str) -> Check:
    if records is None:
        return Check(subject, "warmup", None, f"no {WARMUP_FILE}: the first requests are slow")
    if isinstance(records, Exception):
        return Check(subject, "warmup", False, f"unreadable records: {records}")
    if len(records) > MAX_WARMUP_RECORDS:
        return Check(
            subject,
            "warmup",
            False,
            f"{len(records)} records; TF Serving reads at most {MAX_WARMUP_RECORDS}",
        )
    for i, (name, inputs) in enumerate(records):
        if name not in signatures:
            return Check(subject, "warmup", False, f"record {i} names no signature `{name}`")
        signature = signatures[name]
        if set(inputs) != set(signature.inputs):
            return Check(
                subject,
                "warmup",
                False,
                f"record {i} gives {sorted(inputs)}, `{name}` takes {sorted(signature.inputs)}",
            )
        feed = {signature.inputs[k].name: v for k, v in inputs.items()}
        fetch = {k: v.name for k, v in signature.outputs.items()}
        try:
            outputs = session.run(fetch, feed_dict=feed)
        except Exception as e:
            why = f"record {i} ({name}) failed: {first_line(e)}"
            return Check(subject, "warmup", False, why)
        for key, value in outputs.items():
            value = np.asarray(value)
            if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                why = f"record {i} ({name}) gave non-finite `{key}`"
                return Check(subject, "warmup", False, why)
    return Check(subject, "warmup", True, f"{len(records)} records replayed")


if __name__ == "__main__":  # the child process of check_version
    import json
    import sys

    found = load_checks(Path(sys.argv[1]), sys.argv[2])
    print(json.dumps([dataclasses.asdict(c) for c in found]))
