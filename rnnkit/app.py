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
import functools
import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from rnnkit import quiet, runs
from rnnkit.files import check_writable, write_json
from rnnkit.options import add_options, input_errors
from rnnkit.runs import Run
from rnnkit.train_command import train_command


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
        no_tensorflow: the app's own commands that never import TensorFlow.
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
    no_tensorflow: Sequence[str] = ()

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
        # Only the config is imported now: the other roles import TensorFlow,
        # which `rnnkit APP --help` must not wait for.
        found = dict(
            name=package.rpartition(".")[2],
            help=help,
            presets=importlib.import_module(f"{package}.config").PRESETS,
            make_task=_Deferred(f"{package}.train", "make_task"),
            build_model=_Deferred(f"{package}.model", "build_for_run"),
            evaluate=_Deferred(f"{package}.evaluate", "evaluate"),
            format_report=_Deferred(f"{package}.evaluate", "format_report"),
            export=_Deferred(f"{package}.export", "export"),
            train_warnings=_Deferred(f"{package}.train", "train_warnings", missing=()),
        )
        return cls(**{**found, **fields})


class _Deferred:
    """``module.name``, imported on the first call; ``missing`` is returned where the
    module has no such function (an app's optional parts)."""

    _ABSENT = object()

    def __init__(self, module: str, name: str, missing: Any = _ABSENT):
        self.module, self.name, self.missing = module, name, missing

    def __call__(self, *args, **kwargs):
        function = getattr(importlib.import_module(self.module), self.name, None)
        if function is None and self.missing is not self._ABSENT:
            return self.missing
        if function is None:
            raise AttributeError(f"{self.module} has no {self.name}")
        return function(*args, **kwargs)


class TensorFlowGroup(click.Group):
    """A group whose commands run TensorFlow: it is imported (quietly, ``rnnkit.quiet``)
    when one of them runs, not for ``--help``. ``no_tensorflow``: commands that never
    need it (``speechtag synth``, ``caption compose``)."""

    def __init__(self, *args, no_tensorflow: Sequence[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.no_tensorflow = set(no_tensorflow)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(cmd, name)
        if (name or cmd.name) in self.no_tensorflow or cmd.callback is None:
            return
        callback = cmd.callback

        @functools.wraps(callback)
        def run(*args, **kwargs):
            quiet.import_tensorflow()
            return callback(*args, **kwargs)

        cmd.callback = run


# -- the group -----------------------------------------------------------------------------


def app_group(app: App) -> click.Group:
    """The click group of ``app``: ``train``, ``evaluate`` and ``export``."""

    @click.group(name=app.name, help=app.help, cls=TensorFlowGroup, no_tensorflow=app.no_tensorflow)
    def group() -> None:
        pass

    group.add_command(train_command(app), "train")

    @group.command()
    @click.argument("run_dir", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @add_options(app.evaluate_options)
    def evaluate(run_dir, as_json, **options):
        """Quality of a trained run next to the app's baseline."""
        with input_errors():
            run = runs.load_run(app, run_dir)
            check_writable(run.path / "evaluation.json")
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
            check_writable(out, folder=True)
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
