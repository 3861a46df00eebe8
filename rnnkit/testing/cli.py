"""The apps' command line, driven in-process the way the apps' tests drive it."""

import functools
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result


def invoke(app: str, *args) -> Result:
    """``rnnkit APP ARGS...`` in-process; exceptions propagate (tracebacks are bugs)."""
    from rnnkit.cli import cli

    return CliRunner().invoke(cli, [app, *map(str, args)], catch_exceptions=False)


def invoker(app: str) -> Callable[..., Result]:
    """``invoke`` for one app: ``invoker("caption")("train", ...)``."""
    return functools.partial(invoke, app)


def train(app: str, path: Path, *options, steps: int | None = None) -> Path:
    """``rnnkit APP train --preset tiny --run-dir PATH --quiet OPTIONS...``, checked.

    ``steps``: the step the run must end at ("Done (completed, step N)").
    """
    result = invoke(app, "train", "--preset", "tiny", *options, "--run-dir", path, "--quiet")
    assert result.exit_code == 0, result.output
    if steps is not None:
        assert f"Done (completed, step {steps})" in result.output, result.output
    return path


def export(app: str, run_dir: Path, out: Path) -> Path:
    """``rnnkit APP export RUN --out OUT``, checked; the version folder it wrote (``OUT/1``)."""
    result = invoke(app, "export", run_dir, "--out", out)
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path == Path(out).resolve() / "1", result.output
    return path


class Runs:
    """Tiny runs and their exports, made once per test session for every test that asks.

    ``runs.run("caption")`` trains ``rnnkit caption train --preset tiny``;
    ``runs.export("caption")`` exports that run (``OUT/1``). Other options
    make another run: ``runs.run("speechtag", "--streaming")``.
    """

    def __init__(self, tmp_path_factory):
        self._factory = tmp_path_factory
        self._made: dict[tuple, Path] = {}

    def run(self, app: str, *options, steps: int | None = None) -> Path:
        key = ("run", app, *options)
        if key not in self._made:
            self._made[key] = train(app, self._factory.mktemp(app) / "run", *options, steps=steps)
        return self._made[key]

    def mirrored(self, app: str) -> Path:
        """The tiny run again under MirroredStrategy on two logical CPUs (its own process)."""
        from rnnkit.testing.distribute import train_mirrored

        key = ("mirrored", app)
        if key not in self._made:
            path = self._factory.mktemp(app) / "mirrored"
            train_mirrored(app, path)
            self._made[key] = path
        return self._made[key]

    def export(self, app: str, *options) -> Path:
        key = ("export", app, *options)
        if key not in self._made:
            out = self._factory.mktemp("saved") / app
            self._made[key] = export(app, self.run(app, *options), out)
        return self._made[key]


def usage_error(result: Result, *words: str) -> str:
    """Checks that a command ended as bad input should: exit code 2 and one ``Error:`` line
    holding every one of ``words``, no traceback. Returns that line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), result.output
    return errors[0]
