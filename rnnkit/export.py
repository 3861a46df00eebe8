"""SavedModel export in TF Serving's layout, written atomically and checked.

``export(module, signatures, base_dir, app, warmup)`` writes
``base_dir/<app>/<version>/`` where ``version`` is the next free integer:

1. ``tf.saved_model.save`` into a hidden temporary folder next to the
   versions (TF Serving ignores non-integer folders);
2. ``assets.extra/tf_serving_warmup_requests``: a TFRecord of
   ``PredictionLog`` records, one per warmup request;
3. a self-check: ``rnnkit.serving.check.check_version`` (TF Serving's session
   loader, its ops, batch-major signatures, the warmup requests replayed),
   then the app's own ``check(loaded)`` on ``tf.saved_model.load``;
4. a rename to the version folder, which never replaces an existing one;
5. ``base_dir/models.config`` lists every app under ``base_dir``, and
   ``base_dir/batching.config`` holds batching settings for the server.

A failure at any step removes the temporary folder, so no half-written
version is ever visible.
"""

import os
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from rnnkit.files import write_text

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000


class ExportError(RuntimeError):
    """The SavedModel could not be written or failed its self-check."""


def versions(app_dir: str | os.PathLike) -> list[int]:
    """The integer version folders under ``app_dir``, ascending."""
    app_dir = Path(app_dir)
    if not app_dir.is_dir():
        return []
    return sorted(int(p.name) for p in app_dir.iterdir() if p.is_dir() and p.name.isdigit())


def latest(app_dir: str | os.PathLike) -> Path | None:
    """The highest version folder, the one TF Serving serves by default."""
    found = versions(app_dir)
    return Path(app_dir) / str(found[-1]) if found else None


def tensor_proto(value):
    array = np.asarray(value)
    if array.dtype.kind == "U":
        array = np.char.encode(array, "utf-8")
    return tf.make_tensor_proto(array)


def write_warmup(path: Path, model_name: str, requests: Mapping[str, Sequence[Mapping]]) -> int:
    """Writes ``{signature: [inputs, ...]}`` as TF Serving warmup records; returns their count."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    count = sum(len(r) for r in requests.values())
    if count > MAX_WARMUP_RECORDS:
        raise ExportError(f"TF Serving reads at most {MAX_WARMUP_RECORDS} warmup records: {count}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature, inputs_list in requests.items():
            for inputs in inputs_list:
                request = predict_pb2.PredictRequest(
                    model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
                )
                for name, value in inputs.items():
                    request.inputs[name].CopyFrom(tensor_proto(value))
                log = prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
                writer.write(log.SerializeToString())
    return count


def read_warmup(path: str | os.PathLike) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The ``(signature, inputs)`` of every warmup record in a file."""
    from tensorflow_serving.apis import prediction_log_pb2

    out = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        out.append((request.model_spec.signature_name or "serving_default", inputs))
    return out


def replay_warmup(loaded, path: str | os.PathLike) -> list[dict[str, np.ndarray]]:
    """Runs every warmup request in ``path`` through the loaded SavedModel's signature."""
    results = []
    for signature, inputs in read_warmup(path):
        outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        results.append({k: v.numpy() for k, v in outputs.items()})
    return results


def write_models_config(base_dir: str | os.PathLike) -> Path:
    """``base_dir/models.config``: every app folder holding a version, for TF Serving's
    ``--model_config_file``. Paths are absolute on this machine; mount ``base_dir``
    at the same path in the server's container, or edit ``base_path``."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2 as config_pb2

    base_dir = Path(base_dir).resolve()
    config = config_pb2.ModelServerConfig()
    for app_dir in sorted(p for p in base_dir.iterdir() if p.is_dir()):
        if versions(app_dir):
            entry = config.model_config_list.config.add()
            entry.name = app_dir.name
            entry.base_path = str(app_dir)
            entry.model_platform = "tensorflow"
    path = base_dir / "models.config"
    write_text(path, text_format.MessageToString(config))
    if not (base_dir / BATCHING_FILE).exists():  # the user's own settings stay
        write_text(base_dir / BATCHING_FILE, BATCHING_CONFIG)
    return path


# TF Serving's --batching_parameters_file (a BatchingParameters message) for
# --enable_batching: requests that arrive within 2 ms are run as one batch of
# up to 32 rows. Variable-length inputs (speechtag's waveforms, with their
# lengths) are padded to the longest in the batch.
BATCHING_FILE = "batching.config"
BATCHING_CONFIG = """\
max_batch_size { value: 32 }
batch_timeout_micros { value: 2000 }
max_enqueued_batches { value: 100 }
num_batch_threads { value: 2 }
pad_variable_length_inputs: true
"""


class _Untracked:
    """Holds an object out of sight of TensorFlow's object tracking."""

    def __init__(self, value):
        self.value = value


class ServingModule(tf.Module):
    """A ``tf.Module`` for serving functions over Keras models.

    ``tf.saved_model.save`` of a module that tracks a Keras 3 model writes a
    SavedModel that ``tf.saved_model.load`` reads, but the session-based
    loaders of TF Serving and ``saved_model_cli run`` restore its variables
    into handles the functions never read ("Could not find variable ...";
    keras-team/keras#20095). So this module tracks the models' TensorFlow
    variables themselves and keeps the Keras objects out of its object graph;
    ``self.models[name]`` gives them back.

    Example:

    >>> class Serve(ServingModule):
    ...     def __init__(self, model):
    ...         super().__init__(model=model)
    ...     @tf.function(input_signature=[tf.TensorSpec([None, 3])])
    ...     def serve(self, x):
    ...         return {"y": self.models["model"](x)}
    """

    def __init__(self, **models):
        super().__init__()
        self._held = _Untracked(dict(models))
        self.model_variables = [v.value for m in models.values() for v in m.variables]

    @property
    def models(self) -> dict:
        return self._held.value


def _check_variable_names(module: tf.Module) -> None:
    """TF Serving and ``saved_model_cli run`` load variables by name: names must be unique."""
    seen: dict[str, int] = {}
    for variable in module.variables:
        name = variable.name.split(":")[0]
        seen[name] = seen.get(name, 0) + 1
    duplicates = sorted(name for name, count in seen.items() if count > 1)
    if duplicates:
        raise ExportError(
            f"variables share the names {duplicates}, which TF Serving's loader cannot tell "
            "apart: build each Keras layer inside `keras.name_scope(layer.name)`"
        )


def export(
    module: tf.Module,
    signatures: Mapping[str, Callable],
    base_dir: str | os.PathLike,
    app: str,
    warmup: Mapping[str, Sequence[Mapping]],
    check: Callable[[object], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Writes a new version of ``app`` under ``base_dir`` and returns its folder.

    Args:
        module: a ``tf.Module`` tracking every variable the signatures use.
        signatures: ``{name: tf.function with an input_signature}``; each
            returns a dict of named, batch-major outputs.
        base_dir: the TF Serving model base folder holding one folder per app.
        app: the model name.
        warmup: ``{signature: [inputs, ...]}`` real requests for
            ``assets.extra/tf_serving_warmup_requests``; each is replayed
            before the version is published.
        check: an optional ``check(loaded)`` that raises if the loaded
            SavedModel misbehaves.
        log: called with each line of the serving checks that passed.
    """
    if tf.config.list_logical_devices("GPU"):
        raise ExportError(
            "export in a CPU-only process, so no GPU-only op lands in the graph: "
            'run with CUDA_VISIBLE_DEVICES=""'
        )
    if "serving_default" not in signatures:
        raise ExportError("the signatures need a `serving_default`")
    _check_variable_names(module)
    app_dir = Path(base_dir) / app
    app_dir.mkdir(parents=True, exist_ok=True)
    tmp = app_dir / f".tmp-{uuid.uuid4().hex}"
    try:
        tf.saved_model.save(module, str(tmp), signatures=dict(signatures))
        write_warmup(tmp / WARMUP_FILE, app, warmup)
        # What `rnnkit serving check` asks of every version: TF Serving's
        # session loader, its ops, batch-major signatures, the warmup replayed.
        from rnnkit.serving.check import check_version

        checks = check_version(tmp, app)
        failed = [c for c in checks if c.ok is False]
        if failed:
            reasons = "; ".join(f"{c.check}: {c.detail}" for c in failed)
            raise ExportError(f"TF Serving would not serve it: {reasons}")
        for c in checks:
            if log is not None:
                log(c.line())
        if check is not None:
            loaded = tf.saved_model.load(str(tmp))
            try:
                check(loaded)
            except Exception as e:
                raise ExportError(f"self-check failed: {type(e).__name__}: {e}") from e
        while True:
            target = app_dir / str((versions(app_dir) or [0])[-1] + 1)
            try:
                # A rename never replaces a non-empty folder: if another export
                # took this version meanwhile, take the next one.
                os.rename(tmp, target)
                break
            except OSError:
                if not target.exists():
                    raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_models_config(base_dir)
    return target
