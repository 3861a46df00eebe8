"""How an app describes itself to rnnkit, and the commands rnnkit builds from it.

An app gives one ``App`` object: its presets (frozen config dataclasses
whose fields carry their help, checks and flags: ``rnnkit.fields``) and a
few functions (task, model, evaluation, export). ``app_group(app)`` turns it
into a click group with ``train``, ``evaluate`` and ``export``; the app's
``cli.py`` adds only its own verbs.

Every app config is a frozen dataclass with the fields ``data`` (holding a
``source`` string), ``model``, ``train`` (a ``rnnkit.training.TrainConfig``)
and ``seed``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from rnnkit import configs, runs
from rnnkit.errors import RESTART_EXIT_CODE, InputError, first_line
from rnnkit.files import write_json
from rnnkit.options import (
    SET_OPTION,
    CliInputError,
    add_options,
    field_options,
    input_errors,
)
from rnnkit.runs import Run


@dataclasses.dataclass(frozen=True)
class Exported:
    """What ``rnnkit.export.export`` needs from an app."""

    module: Any
    signatures: Mapping[str, Callable]
    warmup: Mapping[str, Sequence[Mapping]]
    check: Callable[[Any], None] | None = None


@dataclasses.dataclass(frozen=True)
class App:
    """One app, as rnnkit's commands see it.

    Attributes:
        name: the command and model name (``textgen``).
        help: the group's help text.
        presets: ``{name: config}``; ``tiny`` for tests, ``quick`` for the
            demo, ``full`` for the best quality.
        default_preset: the preset ``train`` uses without ``--preset``.
        make_task: ``make_task(config, run_dir) -> rnnkit.training.Task``;
            loads the data (raising ``InputError`` on bad input) and writes
            what the model needs besides its weights (a vocabulary, a scaler)
            into the run directory.
        build_model: ``build_model(config, run_dir) -> keras.Model`` for a
            saved run, from its config and what ``make_task`` wrote.
        evaluate: ``evaluate(run, options) -> dict``: the model's quality
            next to the app's baseline.
        format_report: ``format_report(report) -> str``, the evaluation as
            a table.
        export: ``export(run) -> Exported``.
        train_options: ``train`` options that are not config fields (the
            fields with a ``flag`` get their options from the config).
        evaluate_options: the app's own ``evaluate`` options.
        train_warnings: ``train_warnings(best) -> [str]``: what ``train``
            should warn about at the end, given the best epoch's record
            (its ``val_*`` metrics), e.g. a model worse than the baseline.
        assets: the files every export carries in ``assets/``, checked
            before a SavedModel is loaded (``rnnkit.runs.open_model``).
        signatures: the signatures every export has.
    """

    name: str
    help: str
    presets: Mapping[str, Any]
    make_task: Callable[[Any, Path], Any]
    build_model: Callable[[Any, Path], Any]
    evaluate: Callable[[Run, dict], dict]
    format_report: Callable[[dict], str]
    export: Callable[[Run], Exported]
    default_preset: str = "quick"
    train_options: Sequence[click.Option] = ()
    evaluate_options: Sequence[click.Option] = ()
    train_warnings: Callable[[Mapping], Sequence[str]] | None = None
    assets: Sequence[str] = ()
    signatures: Sequence[str] = ("serving_default",)

    @property
    def config_class(self) -> type:
        return type(next(iter(self.presets.values())))

    @classmethod
    def from_package(cls, package: str, help: str, **fields: Any) -> App:
        """The ``App`` of a package laid out as ``docs/adding-an-app.md`` says.

        ``config.PRESETS``, ``train.make_task`` (and ``train.train_warnings``
        when there is one), ``model.build_for_run``, ``evaluate.evaluate``
        and ``evaluate.format_report``, ``export.export``; ``fields`` adds
        or overrides any other field.
        """
        role = {r: importlib.import_module(f"{package}.{r}") for r in _ROLES}
        found = dict(
            name=package.rpartition(".")[2],
            help=help,
            presets=role["config"].PRESETS,
            make_task=role["train"].make_task,
            build_model=role["model"].build_for_run,
            evaluate=role["evaluate"].evaluate,
            format_report=role["evaluate"].format_report,
            export=role["export"].export,
            train_warnings=getattr(role["train"], "train_warnings", None),
        )
        return cls(**{**found, **fields})


# The modules every app has, by role (docs/adding-an-app.md).
_ROLES = ("config", "train", "model", "evaluate", "export")


# -- train, step by step -------------------------------------------------------------------


def resolve_config(app: App, preset: str, given: Mapping[str, Any], settings=()) -> Any:
    """The preset, then every given flag (``{field path: value}``), then ``--set`` items."""
    changes = {path: value for path, value in given.items() if value is not None}
    changes.update(configs.parse_settings(app.config_class, settings))
    return configs.configure(app.presets[preset], changes)


def _check_run_dir(app: App, config, run_dir: Path, resume: str, chief: bool) -> str:
    """Whether to continue the run in ``run_dir``: ``"always"`` or ``"never"``."""
    import tensorflow as tf

    saved = run_dir / "config.json"
    if resume == "never" and saved.exists() and chief:
        raise InputError(
            f"{run_dir} already holds a run: pass --resume to continue it, or another --run-dir"
        )
    if resume == "auto":
        if saved.exists():
            differ = configs.config_differences(config, json.loads(saved.read_text()))
            if differ:
                raise InputError(
                    f"{run_dir} holds a run with another config ({', '.join(differ)} differ): "
                    "pass its options, or another --run-dir"
                )
        resume = "always" if tf.train.latest_checkpoint(str(run_dir / "ckpt")) else "never"
    return resume


def _make_task(app: App, config, run_dir: Path, chief: bool):
    """The app's task; a run folder this made is removed again if the task fails."""
    import keras

    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        keras.utils.set_random_seed(config.seed)
        task = app.make_task(config, run_dir)
    except BaseException:
        if created and chief:
            shutil.rmtree(run_dir, ignore_errors=True)  # no half-made run is left
        raise
    if chief:
        write_json(run_dir / "config.json", configs.config_to_dict(config))
    return task


def _outcome(app: App, run_dir: Path, error: BaseException, multi: bool) -> tuple[int, str] | None:
    """How ``train`` ends after ``error``: ``(exit code, message)``; None: not ours."""
    import tensorflow as tf

    from rnnkit import recovery, training

    restart = f"Exit code {RESTART_EXIT_CODE}"
    resume = f"rnnkit {app.name} train --resume --run-dir {run_dir}"
    if isinstance(error, KeyboardInterrupt):
        return 130, f"\nInterrupted; checkpoint saved. Continue with: {resume}"
    if isinstance(error, recovery.Preempted):
        return RESTART_EXIT_CODE, (
            f"Preempted: checkpoint saved at step {error.step}. {restart} asks for a restart; "
            "the same command continues from there (--resume auto)."
        )
    if isinstance(error, recovery.WorkerLost):
        return RESTART_EXIT_CODE, (
            f"Error: {error}. {restart}: restart the job to continue from the checkpoint."
        )
    if isinstance(error, tf.errors.OpError) and multi and recovery.is_lost_worker(error):
        return RESTART_EXIT_CODE, (
            f"Error: lost a worker before training started ({first_line(error)}). "
            f"{restart}: restart the job."
        )
    if isinstance(error, training.TrainingDiverged):
        return 1, f"Error: {error}"
    if isinstance(error, FileNotFoundError):
        return 2, f"Error: {error}"
    return None


def _report_done(app: App, run_dir: Path, result) -> None:
    best = result.best or {}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in best.items() if k.startswith("val_"))
    click.echo(f"Done ({result.status}, step {result.step})" + (f"; best {shown}" if shown else ""))
    click.echo(f"TensorBoard: tensorboard --logdir {run_dir / 'tb'}")
    if app.train_warnings is not None and result.best:
        for line in app.train_warnings(result.best):
            click.echo(f"Warning: {line}", err=True)


def _train_command(app: App) -> click.Command:
    flagged = field_options(app.config_class)
    paths = {option.name: path for path, option in flagged.items()}

    @click.command()
    @click.option(
        "--preset",
        type=click.Choice(sorted(app.presets)),
        default=app.default_preset,
        show_default=True,
        help="Model size and training length: tiny (tests), quick (demo), full (best).",
    )
    @click.option(
        "--strategy",
        type=click.Choice(["auto", "default", "mirrored", "multiworker"]),
        default="auto",
        show_default=True,
        help="tf.distribute strategy; auto: multiworker under a multi-worker TF_CONFIG.",
    )
    @click.option(
        "--run-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help=f"Where the run goes (default: runs/{app.name}/<timestamp>).",
    )
    @click.option(
        "--resume",
        type=click.Choice(["auto", "always", "never"]),
        is_flag=False,
        flag_value="always",
        help="Continue the run in --run-dir from its last checkpoint. always (`--resume` "
        "alone): with its saved config; auto: when it holds a checkpoint of the same config, "
        "else start it (the default under a multi-worker TF_CONFIG, so a restarted worker "
        "continues); never: start a new run (the default otherwise).",
    )
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @add_options([*flagged.values(), *app.train_options, SET_OPTION])
    @click.option(
        "--show-config",
        is_flag=True,
        help="Print the config these options give (JSON) and exit without training.",
    )
    def train(preset, strategy, run_dir, resume, quiet, settings, show_config, **given):
        """Train a model; checkpoints, TensorBoard logs and metrics go to the run directory."""
        from rnnkit import strategies, training

        with input_errors():
            config = resolve_config(app, preset, {paths[k]: v for k, v in given.items()}, settings)
            if show_config:
                click.echo(json.dumps(configs.config_to_dict(config), indent=2))
                return
            try:
                multi = strategies.multi_worker_tf_config()
            except ValueError as e:
                raise InputError(str(e)) from None
            resume = resume or ("auto" if multi else "never")
            if multi and run_dir is None and not os.environ.get(runs.RUN_ID_ENV):
                raise InputError(
                    "a multi-worker job needs --run-dir: a folder that every worker shares"
                )
        try:
            with input_errors():
                # The strategy comes first: MultiWorkerMirroredStrategy must be
                # created before any other TensorFlow op runs.
                dist = strategies.make_strategy(strategy)
                chief = strategies.is_chief(dist)
                if resume == "always":
                    if run_dir is None:
                        raise InputError("--resume needs the --run-dir of the run to continue")
                    epochs = given.get("epochs")
                    config = runs.load_config(app, run_dir)
                    if epochs is not None:
                        config = configs.replace(config, "train.epochs", epochs)
                else:
                    run_dir = run_dir or runs.new_run_dir(app.name)
                    resume = _check_run_dir(app, config, run_dir, resume, chief)
                task = _make_task(app, config, run_dir, chief)
        except KeyboardInterrupt:
            click.echo("\nInterrupted before training started; nothing was saved.", err=True)
            sys.exit(130)
        if chief:
            click.echo(f"Run directory: {run_dir}")
        try:
            result = training.fit(
                task,
                config.train,
                run_dir,
                strategy=dist,
                resume=resume == "always",
                verbose=not quiet,
            )
        except (KeyboardInterrupt, Exception) as e:
            outcome = _outcome(app, run_dir, e, multi)
            if outcome is None:
                raise
            code, message = outcome
            if code == 2:
                raise CliInputError(message.removeprefix("Error: ")) from None
            click.echo(message, err=True)
            sys.exit(code)
        if chief:
            _report_done(app, run_dir, result)

    return train


# -- the group -----------------------------------------------------------------------------


def app_group(app: App) -> click.Group:
    """The click group of ``app``: ``train``, ``evaluate`` and ``export``."""

    @click.group(name=app.name, help=app.help)
    def group() -> None:
        pass

    group.add_command(_train_command(app), "train")

    @group.command()
    @click.argument("run_dir", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @add_options(app.evaluate_options)
    def evaluate(run_dir, as_json, **options):
        """Quality of a trained run next to the app's baseline."""
        with input_errors():
            run = runs.load_run(app, run_dir)
            report = app.evaluate(run, options)
        write_json(run.path / "evaluation.json", report)
        click.echo(json.dumps(report, indent=2) if as_json else app.format_report(report))

    @group.command()
    @click.argument("run_dir", type=click.Path(path_type=Path))
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("saved_models") / app.name,
        show_default=True,
        help="The model's TF Serving base path; the next integer version is written under it.",
    )
    def export(run_dir, out):
        """Export a SavedModel for TF Serving; prints the version folder."""
        from rnnkit import export as rexport

        with input_errors():
            run = runs.load_run(app, run_dir)
            exported = app.export(run)
        out = out.resolve()
        try:
            path = rexport.export(
                exported.module,
                exported.signatures,
                out.parent,
                out.name,
                exported.warmup,
                exported.check,
                log=lambda line: click.echo(line, err=True),
            )
        except rexport.ExportError as e:
            raise click.ClickException(str(e)) from None
        click.echo(str(path))

    return group
