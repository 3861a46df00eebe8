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

import tensorflow as tf

from rnnkit.serving import layout
from rnnkit.serving.check import check_version


class ExportError(RuntimeError):
    """The SavedModel could not be written or failed its self-check."""


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
    count = sum(len(r) for r in warmup.values())
    if count > layout.MAX_WARMUP_RECORDS:
        raise ExportError(
            f"TF Serving reads at most {layout.MAX_WARMUP_RECORDS} warmup records: {count}"
        )
    app_dir = Path(base_dir) / app
    app_dir.mkdir(parents=True, exist_ok=True)
    tmp = app_dir / f".tmp-{uuid.uuid4().hex}"
    try:
        tf.saved_model.save(module, str(tmp), signatures=dict(signatures))
        layout.write_warmup(tmp / layout.WARMUP_FILE, app, warmup)
        layout.write_marker(tmp, app)
        # What `rnnkit serving check` asks of every version: TF Serving's
        # session loader, its ops, batch-major signatures, the warmup replayed.
        checks = check_version(tmp, app, isolate=False)
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
            target = app_dir / str((layout.versions(app_dir) or [0])[-1] + 1)
            if target.exists() and not target.is_dir():
                raise ExportError(
                    f"{target} is a file, not a version folder: move it away, then export again"
                )
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
    layout.write_models_config(base_dir)
    return target
