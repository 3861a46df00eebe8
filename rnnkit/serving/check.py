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

Each check gives a ``Check``; ``passed(checks)`` is the verdict.
"""

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnnkit.errors import first_line
from rnnkit.serving.layout import (
    BATCHING_FILE,
    MAX_WARMUP_RECORDS,
    WARMUP_FILE,
    read_warmup,
    version_folders,
)
from rnnkit.serving.ops import forbidden_ops, graph_ops

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


def batching_parameters_class():
    """TF Serving's ``BatchingParameters`` message (session_bundle_config.proto, which
    tensorflow-serving-api does not ship), built from its field numbers and types."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="rnnkit_batching.proto",
        package="tensorflow.serving",
        dependency=["google/protobuf/wrappers.proto"],
        syntax="proto3",
    )
    message = file.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind) in enumerate(
        [
            ("max_batch_size", ".google.protobuf.Int64Value"),
            ("batch_timeout_micros", ".google.protobuf.Int64Value"),
            ("max_enqueued_batches", ".google.protobuf.Int64Value"),
            ("num_batch_threads", ".google.protobuf.Int64Value"),
            ("thread_pool_name", ".google.protobuf.StringValue"),
        ],
        start=1,
    ):
        message.field.add(
            name=name, number=number, type=F.TYPE_MESSAGE, type_name=kind, label=F.LABEL_OPTIONAL
        )
    message.field.add(
        name="allowed_batch_sizes", number=6, type=F.TYPE_INT64, label=F.LABEL_REPEATED
    )
    message.field.add(
        name="pad_variable_length_inputs", number=7, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL
    )
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


def check_batching(path: Path) -> Check:
    """``batching.config`` parses as ``BatchingParameters`` with sane sizes."""
    from google.protobuf import text_format

    try:
        params = text_format.Parse(path.read_text(), batching_parameters_class()())
    except (text_format.ParseError, UnicodeDecodeError) as e:
        return Check(path.name, "parses", False, f"not a BatchingParameters: {e}")
    size = params.max_batch_size.value if params.HasField("max_batch_size") else None
    if size is not None and size < 1:
        return Check(path.name, "parses", False, "max_batch_size must be at least 1")
    allowed = list(params.allowed_batch_sizes)
    if allowed and (allowed != sorted(allowed) or (size is not None and allowed[-1] != size)):
        return Check(
            path.name,
            "parses",
            False,
            "allowed_batch_sizes must increase and end at max_batch_size",
        )
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


def check_version(path: str | os.PathLike, subject: str | None = None) -> list[Check]:
    """Every check of one version folder: ops, session loading, signatures, warmup."""
    path = Path(path)
    subject = subject or str(path)
    pb = path / "saved_model.pb"
    missing = _missing(path)
    if missing:
        return [Check(subject, "complete", False, f"missing {', '.join(missing)}")]
    checks = []
    try:
        ops, xla = graph_ops(pb)
    except Exception as e:  # a truncated or foreign file
        return [Check(subject, "saved_model.pb", False, f"unreadable: {e}")]
    bad = forbidden_ops(ops)
    for op, why in sorted(bad.items()):
        checks.append(Check(subject, "ops", False, f"{op}: {why}"))
    if xla:
        checks.append(
            Check(
                subject,
                "ops",
                False,
                f"_XlaMustCompile on {sorted(xla)[:3]}: jit_compile functions need XLA, "
                "which a stock TF Serving build lacks",
            )
        )
    if not bad and not xla:
        checks.append(Check(subject, "ops", True, f"{len(ops)} op types, all in stock TF Serving"))

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
        return Check(subject, "warmup", False, f"unreadable records: {type(records).__name__}")
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
