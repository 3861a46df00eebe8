"""``rnnkit APP train``: preparation in named steps, then ``fit``, then one table of outcomes.

The options are ``train``'s own (preset, strategy, run folder, resume), one
per flagged config field (``rnnkit.options.field_options``), the app's
``train_options``, ``--set`` and ``--show-config``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from rnnkit import configs, quiet, runs
from rnnkit.errors import RESTART_EXIT_CODE, InputError, first_line
from rnnkit.files import check_writable, write_json
from rnnkit.options import SET_OPTION, CliInputError, add_options, field_options, input_errors


def resolve_config(app, preset: str, given: Mapping[str, Any], settings=()) -> Any:
    """The preset, then every given flag (``{field path: value}``), then ``--set`` items."""
    changes = {path: value for path, value in given.items() if value is not None}
    changes.update(configs.parse_settings(app.config_class, settings))
    return configs.configure(app.presets[preset], changes)


def _check_run_dir(app, config, run_dir: Path, resume: str, chief: bool) -> str:
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


def _make_task(app, config, run_dir: Path, chief: bool):
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


def _outcome(app, run_dir: Path, error: BaseException, multi: bool) -> tuple[int, str] | None:
    """How ``train`` ends after ``error``: ``(exit code, message)``; None: not ours."""
    import tensorflow as tf

    from rnnkit import recovery, training

    restart = f"Exit code {RESTART_EXIT_CODE}"
    resume = f"rnnkit {app.name} train --resume --run-dir {run_dir}"
    if isinstance(error, KeyboardInterrupt):
        return 130, f"\nInterrupted; checkpoint saved. Continue with: {resume}"
    if isinstance(error, recovery.Preempted):
        # `--resume auto` is the default only under a multi-worker TF_CONFIG.
        again = (
            "the same command continues from there (--resume auto)"
            if multi
            else f"continue with: {resume}"
        )
        return RESTART_EXIT_CODE, (
            f"Preempted: checkpoint saved at step {error.step}. {restart} asks for a restart; "
            f"{again}."
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
    if isinstance(error, (FileNotFoundError, InputError)):
        return 2, f"Error: {error}"
    return None


def _report_done(app, run_dir: Path, result) -> None:
    best = result.best or {}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in best.items() if k.startswith("val_"))
    click.echo(f"Done ({result.status}, step {result.step})" + (f"; best {shown}" if shown else ""))
    click.echo(f"TensorBoard: tensorboard --logdir {run_dir / 'tb'}")
    if app.train_warnings is not None and result.best:
        for line in app.train_warnings(result.best):
            click.echo(f"Warning: {line}", err=True)


def _train_options(app) -> list[click.Option]:
    """``train``'s options that are not config fields (those come from ``field_options``)."""
    return [
        click.Option(
            ["--preset"],
            type=click.Choice(sorted(app.presets)),
            default=app.default_preset,
            show_default=True,
            help="Model size and training length: tiny (tests), quick (demo), full (best).",
        ),
        click.Option(
            ["--strategy"],
            type=click.Choice(["auto", "default", "mirrored", "multiworker"]),
            default="auto",
            show_default=True,
            help="tf.distribute strategy; auto: multiworker under a multi-worker TF_CONFIG.",
        ),
        click.Option(
            ["--run-dir"],
            type=click.Path(file_okay=False, path_type=Path),
            help=f"Where the run goes (default: runs/{app.name}/<timestamp>).",
        ),
        click.Option(
            ["--resume"],
            type=click.Choice(["auto", "always", "never"]),
            is_flag=False,
            flag_value="always",
            help="Continue the run in --run-dir from its last checkpoint. always (`--resume` "
            "alone): with its saved config; auto: when it holds a checkpoint of the same "
            "config, else start it (the default under a multi-worker TF_CONFIG, so a "
            "restarted worker continues); never: start a new run (the default otherwise).",
        ),
        click.Option(["--quiet"], is_flag=True, help="No progress bar."),
        click.Option(
            ["--profile-steps"],
            metavar="A,B",
            callback=_step_range,
            help="Trace training steps A to B with TensorFlow's profiler into RUN/tb/train "
            "(TensorBoard's Profile tab, with tensorboard-plugin-profile).",
        ),
    ]


def _step_range(ctx, param, value) -> tuple[int, int] | None:
    if value is None:
        return None
    first, _, last = value.partition(",")
    try:
        steps = (int(first), int(last))
    except ValueError:
        raise click.BadParameter(f"expected two step numbers A,B, got {value!r}") from None
    if not 1 <= steps[0] <= steps[1]:
        raise click.BadParameter(f"steps count from 1 and A <= B, got {value!r}")
    return steps


SHOW_CONFIG_OPTION = click.Option(
    ["--show-config"],
    is_flag=True,
    help="Print the config these options give (JSON) and exit without training.",
)


def _resume_mode(resume: str | None, run_dir: Path | None) -> tuple[bool, str]:
    """``(multi_worker, resume)``: ``--resume``'s default is auto under a multi-worker TF_CONFIG."""
    from rnnkit import strategies

    try:
        multi = strategies.multi_worker_tf_config()
    except ValueError as e:
        raise InputError(str(e)) from None
    if multi and run_dir is None and not os.environ.get(runs.RUN_ID_ENV):
        raise InputError("a multi-worker job needs --run-dir: a folder that every worker shares")
    return multi, resume or ("auto" if multi else "never")


def _start_run(app, strategy: str, config, run_dir, resume: str, epochs):
    """``(strategy, chief, config, run_dir, resume, task)``: what ``fit`` is given."""
    from rnnkit import strategies

    # The strategy comes first: MultiWorkerMirroredStrategy must be created
    # before any other TensorFlow op runs.
    dist = strategies.make_strategy(strategy)
    quiet.settle()  # TensorFlow's once-a-process lines, after the collectives are set up
    chief = strategies.is_chief(dist)
    if resume == "always":
        if run_dir is None:
            raise InputError("--resume needs the --run-dir of the run to continue")
        config = runs.load_config(app, run_dir)
        if epochs is not None:
            config = configs.replace(config, "train.epochs", epochs)
    else:
        run_dir = run_dir or runs.new_run_dir(app.name)
        resume = _check_run_dir(app, config, run_dir, resume, chief)
    check_writable(run_dir, folder=True)
    return dist, chief, config, run_dir, resume, _make_task(app, config, run_dir, chief)


def train_command(app) -> click.Command:
    """``rnnkit APP train`` for ``app`` (an ``rnnkit.app.App``)."""
    flagged = field_options(app.config_class)
    paths = {option.name: path for path, option in flagged.items()}
    own = [*_train_options(app), *flagged.values(), *app.train_options]

    @click.command()
    @add_options([*own, SET_OPTION, SHOW_CONFIG_OPTION])
    def train(
        preset, strategy, run_dir, resume, quiet, profile_steps, settings, show_config, **given
    ):
        """Train a model; checkpoints, TensorBoard logs and metrics go to the run directory."""
        from rnnkit import training

        with input_errors():
            config = resolve_config(app, preset, {paths[k]: v for k, v in given.items()}, settings)
            if show_config:
                click.echo(json.dumps(configs.config_to_dict(config), indent=2))
                return
            multi, resume = _resume_mode(resume, run_dir)
        try:
            with input_errors():
                dist, chief, config, run_dir, resume, task = _start_run(
                    app, strategy, config, run_dir, resume, given.get("epochs")
                )
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
                profile_steps=profile_steps,
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
