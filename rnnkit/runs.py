"""Run directories: where a run goes, and a finished run or an export loaded back."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any

from rnnkit.configs import config_from_dict
from rnnkit.errors import InputError, first_line
from rnnkit.files import write_json

RUNS_DIR = Path("runs")
RUN_ID_ENV = "RNNKIT_RUN_ID"


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished (or interrupted) training run, loaded back."""

    path: Path
    config: Any
    model: Any
    checkpoint: str


def new_run_dir(app: str, root: str | os.PathLike = RUNS_DIR) -> Path:
    """``runs/<app>/<timestamp>/``; every worker of one ``rnnkit launch`` gets the same one."""
    name = os.environ.get(RUN_ID_ENV) or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / app / name
    if os.environ.get(RUN_ID_ENV):
        return path
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{name}-{n}")
    return candidate


def load_config(app, run_dir: str | os.PathLike) -> Any:
    """The config a run of ``app`` (an ``rnnkit.app.App``) saved in ``config.json``."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise InputError(f"{run_dir} is not a {app.name} run directory: it has no config.json")
    try:
        return config_from_dict(app.config_class, json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise InputError(f"{path} is not a valid {app.name} config: {e}") from None


def load_run(app, run_dir: str | os.PathLike) -> Run:
    """The run's config and model, with the best checkpoint's weights (else the latest)."""
    import tensorflow as tf

    run_dir = Path(run_dir)
    config = load_config(app, run_dir)
    checkpoint = tf.train.latest_checkpoint(str(run_dir / "ckpt" / "best"))
    checkpoint = checkpoint or tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if checkpoint is None:
        raise InputError(f"{run_dir} holds no checkpoint yet: train it first")
    from rnnkit.recovery import damage

    why = damage(checkpoint)
    if why is not None:
        raise InputError(f"the run's checkpoint is damaged: {why}")
    model = app.build_model(config, run_dir)
    status = tf.train.Checkpoint(model=model).restore(checkpoint).expect_partial()
    try:
        status.assert_existing_objects_matched()  # every weight of the model was restored
    except AssertionError as e:
        # One line: TensorFlow's message lists each unmatched variable's values.
        raise InputError(
            f"{checkpoint} does not fit this model (trained with other settings or another "
            f"version of the app? train it again): {first_line(e)}"
        ) from None
    return Run(path=run_dir, config=config, model=model, checkpoint=checkpoint)


# -- a model to run: a run folder, an export, or the export on TF Serving -------------------


@dataclasses.dataclass(frozen=True)
class Opened:
    """The model an app verb runs (``open_model``); exactly one of ``run`` and ``signatures``.

    Attributes:
        path: the run folder or the SavedModel's version folder.
        assets: where the model's files besides its weights lie (a
            vocabulary, a scaler): the run folder, or the SavedModel's ``assets/``.
        run: the training run, loaded with its best checkpoint.
        signatures: the SavedModel's signatures, run here or on TF Serving;
            ``signatures[name](**inputs)`` returns ``{output: tensor}``.
    """

    path: Path
    assets: Path
    run: Run | None = None
    signatures: Any = None


def open_model(
    app,
    source: str | os.PathLike,
    *,
    server: str | None = None,
    model_name: str | None = None,
    model_version: int | None = None,
    timeout: float = 30.0,
) -> Opened:
    """The model at ``source``: a run folder, a SavedModel, or a TF Serving base path.

    A base path means its newest version. With ``server`` the signatures run
    on TF Serving and ``source`` must be the exported SavedModel the server
    serves (its assets are read here). A SavedModel must hold every file of
    ``app.assets`` and every signature of ``app.signatures``.
    """
    from rnnkit.serving import layout

    source = Path(source)
    if not source.exists():
        raise InputError(f"no such run or SavedModel: {source}")
    version = layout.version(source)
    if version is not None and version != source and not (version / "saved_model.pb").exists():
        # TF Serving would try this version too: name it rather than serve an older one.
        raise InputError(f"{version}, the newest version of {source}, has no saved_model.pb")
    source = version or source
    if not (source / "saved_model.pb").exists():
        if server is not None:
            raise InputError(
                "--server runs the exported model: give its SavedModel (or TF Serving base "
                f"path) as SOURCE, not {source}"
            )
        return Opened(path=source, assets=source, run=load_run(app, source))
    for name in app.assets:
        if not (source / "assets" / name).is_file():
            raise InputError(f"{source} is not a {app.name} SavedModel: it has no assets/{name}")
    if server is None:
        signatures = _load_checked(source)
    else:
        from rnnkit.serving.client import connect

        signatures = connect(server, model_name or app.name, model_version, timeout).signatures
    missing = [name for name in app.signatures if name not in signatures]
    if missing:
        raise InputError(f"{source} is not a {app.name} SavedModel: it has no `{missing[0]}`")
    return Opened(path=source, assets=source / "assets", signatures=signatures)


def _load_checked(source: Path):
    """The signatures of a SavedModel from anywhere, loaded only once its ops are checked.

    ``tf.saved_model.load`` runs the model's init op and restores its
    variables: ``static_check`` reads ``saved_model.pb`` first and
    refuses any op outside the allowlist before anything of it runs.
    """
    from rnnkit.serving.ops import static_check

    if not (source / "variables" / "variables.index").is_file():
        raise InputError(f"{source} is an incomplete SavedModel: no variables/variables.index")
    problems = static_check(source).problems
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError(f"{source} was not loaded: {problems[0]}{more}")
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(source)).signatures
    except Exception as e:  # a cut variables file, a graph this TF cannot import
        raise InputError(f"cannot load the SavedModel {source}: {first_line(e)}") from None


class RunFile:
    """Mixin for a frozen dataclass kept as JSON in a run folder and in an export's assets.

    The subclass names its file and its app (for the message when the file
    is missing): ``class SeriesInfo(RunFile, file="series.json", app="forecast")``.
    """

    FILE: str
    APP: str

    def __init_subclass__(cls, file: str, app: str, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.FILE, cls.APP = file, app

    def save(self, folder: str | os.PathLike) -> Path:
        return write_json(Path(folder) / self.FILE, dataclasses.asdict(self))

    @classmethod
    def load(cls, folder: str | os.PathLike):
        path = Path(folder) / cls.FILE
        if not path.is_file():
            raise InputError(f"{folder} has no {cls.FILE}: not a {cls.APP} run or SavedModel")
        raw = json.loads(path.read_text())
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
