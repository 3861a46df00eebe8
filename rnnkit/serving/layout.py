"""TF Serving's folder layout, read and written in one place.

``BASE/models.config`` lists the models; ``BASE/<model>/<integer version>/``
holds each SavedModel, with its warmup requests in
``assets.extra/tf_serving_warmup_requests``; ``BASE/batching.config`` holds
the server's batching settings. ``rnnkit.export`` writes this layout and
``rnnkit.serving.check`` reads it; neither imports the other's layout code.
TensorFlow is imported only by the functions that read or write records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rnnkit.files import write_text

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
# What marks a version as written by rnnkit.export (TF Serving ignores it):
# only such versions make a folder a model of models.config.
MARKER_FILE = Path("assets.extra") / "rnnkit.json"
MAX_WARMUP_RECORDS = 1000
MODELS_CONFIG = "models.config"

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


def version_folders(model_dir: str | os.PathLike) -> tuple[list[int], list[str]]:
    """The integer version folders (as TF Serving parses them), ascending, and the other entries."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return [], []
    numbers, others = [], []
    for entry in sorted(model_dir.iterdir()):
        if entry.is_dir() and entry.name.isdigit():
            numbers.append(int(entry.name))
        else:
            others.append(entry.name)
    return sorted(numbers), others


def versions(model_dir: str | os.PathLike) -> list[int]:
    """The integer version folders under ``model_dir``, ascending."""
    return version_folders(model_dir)[0]


def latest(model_dir: str | os.PathLike) -> Path | None:
    """The highest version folder, the one TF Serving serves by default."""
    found = versions(model_dir)
    return Path(model_dir) / str(found[-1]) if found else None


def version(path: str | os.PathLike) -> Path | None:
    """``path`` when it is a version folder (holds ``saved_model.pb``), else its latest version."""
    path = Path(path)
    return path if (path / "saved_model.pb").exists() else latest(path)


def write_marker(version: str | os.PathLike, model_name: str) -> None:
    path = Path(version) / MARKER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps({"model": model_name, "written_by": "rnnkit.export"}) + "\n")


def is_rnnkit_version(version: str | os.PathLike) -> bool:
    """A complete version that rnnkit exported: ``saved_model.pb``, ``variables/``, the marker."""
    version = Path(version)
    return (
        (version / "saved_model.pb").is_file()
        and (version / "variables").is_dir()
        and (version / MARKER_FILE).is_file()
    )


def tensor_proto(value):
    import tensorflow as tf

    array = np.asarray(value)
    if array.dtype.kind == "U":
        array = np.char.encode(array, "utf-8")
    return tf.make_tensor_proto(array)


def write_warmup(path: Path, model_name: str, requests: Mapping[str, Sequence[Mapping]]) -> int:
    """Writes ``{signature: [inputs, ...]}`` as TF Serving warmup records; returns their count."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
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
                count += 1
    return count


def read_warmup(path: str | os.PathLike) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The ``(signature, inputs)`` of every warmup record in a file."""
    import tensorflow as tf
    from google.protobuf.message import DecodeError
    from tensorflow_serving.apis import prediction_log_pb2

    from rnnkit.errors import InputError, first_line

    out = []
    try:
        for record in tf.data.TFRecordDataset(str(path)):
            log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
            request = log.predict_log.request
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            out.append((request.model_spec.signature_name or "serving_default", inputs))
    except (tf.errors.OpError, DecodeError, ValueError, TypeError) as e:
        raise InputError(f"{path} holds damaged warmup records: {first_line(e)}") from None
    return out


def replay_warmup(loaded, path: str | os.PathLike) -> list[dict[str, np.ndarray]]:
    """Runs every warmup request in ``path`` through the loaded SavedModel's signature."""
    import tensorflow as tf

    results = []
    for signature, inputs in read_warmup(path):
        outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
        results.append({k: v.numpy() for k, v in outputs.items()})
    return results


def write_models_config(base_dir: str | os.PathLike) -> Path:
    """``base_dir/models.config``: every folder holding a complete version rnnkit exported.

    Other folders beside them (``photos/2019``) are not models, whatever
    their subfolders are called.

    For TF Serving's ``--model_config_file``. Paths are absolute on this
    machine; mount ``base_dir`` at the same path in the server's container,
    or edit ``base_path``. Writes ``batching.config`` too, unless the user
    has one.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2 as config_pb2

    base_dir = Path(base_dir).resolve()
    config = config_pb2.ModelServerConfig()
    for model_dir in sorted(p for p in base_dir.iterdir() if p.is_dir()):
        if any(is_rnnkit_version(model_dir / str(v)) for v in versions(model_dir)):
            entry = config.model_config_list.config.add()
            entry.name = model_dir.name
            entry.base_path = str(model_dir)
            entry.model_platform = "tensorflow"
    path = base_dir / MODELS_CONFIG
    write_text(path, text_format.MessageToString(config))
    if not (base_dir / BATCHING_FILE).exists():  # the user's own settings stay
        write_text(base_dir / BATCHING_FILE, BATCHING_CONFIG)
    return path
