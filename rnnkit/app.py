"""How an app describes itself to rnnkit, and the commands rnnkit builds from it.

An app gives one ``App`` object: its presets (frozen config dataclasses), the
options of its own, and a few functions (task, model, evaluation, export).
``app_group(app)`` turns it into a click group with ``train``, ``evaluate``
and ``export``; the app's ``cli.py`` adds only its own verb.

Every app config is a frozen dataclass with the fields ``data`` (holding a
``source`` string), ``model``, ``train`` (a ``rnnkit.training.TrainConfig``)
and ``seed``; the shared options write into those fields.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from rnnkit.files import write_json

RUNS_DIR = Path("runs")
RUN_ID_ENV = "RNNKIT_RUN_ID"


# The click type of a dropout rate: [0, 1).
DROPOUT_RATE = click.FloatRange(0, 1, max_open=True)


class InputError(ValueError):
    """Bad input from the user (options, data, paths): a one-line message, exit code 2."""


class _CliInputError(click.ClickException):
    exit_code = 2


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished (or interrupted) training run, loaded back."""

    path: Path
    config: Any
    model: Any
    checkpoint: str


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
        train_options: the app's own ``train`` options (click options whose
            value is None when not given).
        option_fields: ``{option: "field.path"}``, the config field each of
            ``train_options`` sets when given.
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
        evaluate_options: the app's own ``evaluate`` options.
        train_warnings: ``train_warnings(best) -> [str]``: what ``train``
            should warn about at the end, given the best epoch's record
            (its ``val_*`` metrics), e.g. a model worse than the baseline.
    """

    name: str
    help: str
    presets: Mapping[str, Any]
    default_preset: str
    make_task: Callable[[Any, Path], Any]
    build_model: Callable[[Any, Path], Any]
    evaluate: Callable[[Run, dict], dict]
    format_report: Callable[[dict], str]
    export: Callable[[Run], Exported]
    train_options: Sequence[click.Option] = ()
    option_fields: Mapping[str, str] = dataclasses.field(default_factory=dict)
    evaluate_options: Sequence[click.Option] = ()
    train_warnings: Callable[[Mapping], Sequence[str]] | None = None

    @property
    def config_class(self) -> type:
        return type(next(iter(self.presets.values())))


# -- configs -------------------------------------------------------------------------------


def config_to_dict(config) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(cls: type, data: Mapping) -> Any:
    """Rebuilds a (nested) frozen config dataclass from ``config_to_dict``'s output."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown config fields for {cls.__name__}: {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
            value = config_from_dict(kind, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def replace(config, path: str, value) -> Any:
    """``replace(config, "train.epochs", 3)``: a copy with one nested field changed."""
    return replace_all(config, {path: value})


def replace_all(config, changes: Mapping[str, Any]) -> Any:
    """A copy with several nested fields changed at once (``{"model.units": 8, ...}``).

    Each dataclass is rebuilt once with all of its changes, so checks that
    relate two fields see both new values, whatever the order of the changes.
    """
    nested: dict[str, dict[str, Any]] = {}
    direct = {}
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, inner in nested.items():
        direct[head] = replace_all(getattr(config, head), inner)
    return dataclasses.replace(config, **direct)


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


def config_differences(config: Any, saved: Mapping[str, Any]) -> list[str]:
    """The dotted names of the fields where ``config`` and a saved config.json differ."""

    def flat(tree, prefix=""):
        if isinstance(tree, Mapping):
            out = {}
            for key, value in tree.items():
                out.update(flat(value, f"{prefix}{key}."))
            return out
        return {prefix[:-1]: tree}

    ours = flat(json.loads(json.dumps(config_to_dict(config))))
    theirs = flat(saved)
    return sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))


def load_config(app: App, run_dir: str | os.PathLike) -> Any:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise InputError(f"{run_dir} is not a {app.name} run directory: it has no config.json")
    try:
        return config_from_dict(app.config_class, json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise InputError(f"{path} is not a valid {app.name} config: {e}") from None


def load_run(app: App, run_dir: str | os.PathLike) -> Run:
    """The run's config and model, with the best checkpoint's weights (else the latest)."""
    import tensorflow as tf

    run_dir = Path(run_dir)
    config = load_config(app, run_dir)
    checkpoint = tf.train.latest_checkpoint(str(run_dir / "ckpt" / "best"))
    checkpoint = checkpoint or tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if checkpoint is None:
        raise InputError(f"{run_dir} holds no checkpoint yet: train it first")
    model = app.build_model(config, run_dir)
    status = tf.train.Checkpoint(model=model).restore(checkpoint).expect_partial()
    try:
        status.assert_existing_objects_matched()  # every weight of the model was restored
    except AssertionError as e:
        raise InputError(f"{checkpoint} does not fit this model: {str(e)[:300]}") from None
    return Run(path=run_dir, config=config, model=model, checkpoint=checkpoint)


def locate(source: str | os.PathLike) -> tuple[Path, bool]:
    """``(path, is_saved_model)`` for an app verb's RUN_OR_SAVED_MODEL argument.

    A SavedModel folder, or a TF Serving model base path (its newest
    version), or else a run directory.
    """
    from rnnkit import export

    source = Path(source)
    if not source.exists():
        raise InputError(f"no such run or SavedModel: {source}")
    if not (source / "saved_model.pb").exists() and export.latest(source) is not None:
        source = export.latest(source)
    return source, (source / "saved_model.pb").exists()


def server_options() -> list[click.Option]:
    """``--server`` and its companions, for every app verb that runs a model."""
    return [
        click.Option(
            ["--server"],
            metavar="URL",
            help="Run the model on TF Serving: http://HOST:8501 (REST) or grpc://HOST:8500. "
            "SOURCE is then the exported SavedModel the server serves (for its assets).",
        ),
        click.Option(
            ["--model-name"], metavar="NAME", help="The model's name on the server (the app's)."
        ),
        click.Option(
            ["--model-version"],
            type=click.IntRange(min=1),
            help="A version the server has loaded (default: its latest).",
        ),
        click.Option(
            ["--timeout"],
            type=click.FloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            help="Seconds to wait for the server.",
        ),
    ]


def serving_signatures(
    path: Path,
    app_name: str,
    server: str | None = None,
    model_name: str | None = None,
    model_version: int | None = None,
    timeout: float = 30.0,
):
    """The signatures of the SavedModel at ``path``: loaded here, or on TF Serving at ``server``.

    Either way ``signatures[name](**inputs)`` returns ``{output: tf.Tensor}``.
    """
    if server is None:
        import tensorflow as tf

        return tf.saved_model.load(str(path)).signatures
    from rnnkit.serving.client import connect

    return connect(server, model_name or app_name, model_version, timeout).signatures


def need_saved_model(is_saved_model: bool, source, server: str | None) -> None:
    """With ``--server``, SOURCE must be the exported SavedModel (its assets are read here)."""
    if server is not None and not is_saved_model:
        raise InputError(
            f"--server runs the exported model: give its SavedModel (or TF Serving base path) "
            f"as SOURCE, not {source}"
        )


# -- commands ------------------------------------------------------------------------------


def add_options(options: Sequence[click.Option]):
    """Decorator: adds ready-made ``click.Option`` objects to a command (an app's own verb)."""

    def decorate(f):
        f.__click_params__ = getattr(f, "__click_params__", []) + list(reversed(options))
        return f

    return decorate


class input_errors:  # noqa: N801 (used as a context manager)
    """Turns ``InputError`` (and config validation errors) into click's exit code 2."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is not None and issubclass(kind, InputError):
            raise _CliInputError(str(error)) from None
        return False


# The config field each shared ``train`` option sets.
_SHARED_FIELDS = {
    "data": "data.source",
    "seed": "seed",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "learning_rate": "train.learning_rate",
}


def _configure(app: App, preset: str, options: dict) -> Any:
    """The preset with every given (non-None) option written into its field."""
    config = app.presets[preset]
    fields = {**_SHARED_FIELDS, **app.option_fields}
    try:
        changes = {fields[o]: v for o, v in options.items() if v is not None}
        return replace_all(config, changes)
    except (ValueError, TypeError) as e:
        raise InputError(str(e)) from None


def app_group(app: App) -> click.Group:
    """The click group of ``app``: ``train``, ``evaluate`` and ``export``."""

    @click.group(name=app.name, help=app.help)
    def group() -> None:
        pass

    @group.command()
    @click.option(
        "--preset",
        type=click.Choice(sorted(app.presets)),
        default=app.default_preset,
        show_default=True,
        help="Model size and training length: tiny (tests), quick (demo), full (best).",
    )
    @click.option("--data", help="Data source (see the app's help); default: the embedded data.")
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
    @click.option("--seed", type=int, help="Random seed (weights, data order, dropout).")
    @click.option("--epochs", type=click.IntRange(min=1), help="Number of epochs.")
    @click.option("--batch-size", type=click.IntRange(min=1), help="Global batch size.")
    @click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), help="Peak LR.")
    @click.option("--quiet", is_flag=True, help="No progress bar.")
    @add_options(app.train_options)
    def train(preset, data, strategy, run_dir, resume, seed, epochs, batch_size, learning_rate,
              quiet, **own):  # fmt: skip
        """Train a model; checkpoints, TensorBoard logs and metrics go to the run directory."""
        import keras
        import tensorflow as tf

        from rnnkit import recovery, training

        try:
            with input_errors():
                try:
                    multi = training.multi_worker_tf_config()
                except ValueError as e:
                    raise InputError(str(e)) from None
                resume = resume or ("auto" if multi else "never")
                if multi and run_dir is None and not os.environ.get(RUN_ID_ENV):
                    raise InputError(
                        "a multi-worker job needs --run-dir: a folder that every worker shares"
                    )
                # The strategy comes first: MultiWorkerMirroredStrategy must be
                # created before any other TensorFlow op runs.
                dist = training.make_strategy(strategy)
                chief = training.is_chief(dist)
                if resume == "always":
                    if run_dir is None:
                        raise InputError("--resume needs the --run-dir of the run to continue")
                    config = load_config(app, run_dir)
                    if epochs is not None:
                        config = replace(config, "train.epochs", epochs)
                else:
                    config = _configure(
                        app,
                        preset,
                        dict(
                            data=data,
                            seed=seed,
                            epochs=epochs,
                            batch_size=batch_size,
                            learning_rate=learning_rate,
                            **own,
                        ),
                    )
                    run_dir = run_dir or new_run_dir(app.name)
                    saved = run_dir / "config.json"
                    if resume == "never" and saved.exists() and chief:
                        raise InputError(
                            f"{run_dir} already holds a run: pass --resume to continue it, "
                            "or another --run-dir"
                        )
                    if resume == "auto":
                        if saved.exists():
                            differ = config_differences(config, json.loads(saved.read_text()))
                            if differ:
                                raise InputError(
                                    f"{run_dir} holds a run with another config "
                                    f"({', '.join(differ)} differ): pass its options, "
                                    "or another --run-dir"
                                )
                        found = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
                        resume = "always" if found else "never"
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
                    write_json(run_dir / "config.json", config_to_dict(config))
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
        except KeyboardInterrupt:
            click.echo(
                f"\nInterrupted; checkpoint saved. Continue with: rnnkit {app.name} train "
                f"--resume --run-dir {run_dir}",
                err=True,
            )
            sys.exit(130)
        except recovery.Preempted as e:
            click.echo(
                f"Preempted: checkpoint saved at step {e.step}. Exit code "
                f"{recovery.RESTART_EXIT_CODE} asks for a restart; the same command continues "
                "from there (--resume auto).",
                err=True,
            )
            sys.exit(recovery.RESTART_EXIT_CODE)
        except recovery.WorkerLost as e:
            click.echo(
                f"Error: {e}. Exit code {recovery.RESTART_EXIT_CODE}: restart the job to "
                "continue from the checkpoint.",
                err=True,
            )
            sys.exit(recovery.RESTART_EXIT_CODE)
        except tf.errors.OpError as e:
            if not (multi and recovery.is_lost_worker(e)):
                raise
            click.echo(
                f"Error: lost a worker before training started ({recovery.first_line(e)}). "
                f"Exit code {recovery.RESTART_EXIT_CODE}: restart the job.",
                err=True,
            )
            sys.exit(recovery.RESTART_EXIT_CODE)
        except training.TrainingDiverged as e:
            raise click.ClickException(str(e)) from None
        except FileNotFoundError as e:
            raise _CliInputError(str(e)) from None
        if chief:
            best = result.best or {}
            shown = ", ".join(f"{k} {v:.4f}" for k, v in best.items() if k.startswith("val_"))
            click.echo(
                f"Done ({result.status}, step {result.step})" + (f"; best {shown}" if shown else "")
            )
            click.echo(f"TensorBoard: tensorboard --logdir {run_dir / 'tb'}")
            if app.train_warnings is not None and result.best:
                for line in app.train_warnings(result.best):
                    click.echo(f"Warning: {line}", err=True)

    @group.command()
    @click.argument("run_dir", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @add_options(app.evaluate_options)
    def evaluate(run_dir, as_json, **options):
        """Quality of a trained run next to the app's baseline."""
        with input_errors():
            run = load_run(app, run_dir)
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
            run = load_run(app, run_dir)
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
