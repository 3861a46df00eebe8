"""Click plumbing shared by every app: options made from config fields, errors, ``--server``."""

from __future__ import annotations

import typing
from collections.abc import Sequence

import click

from rnnkit import fields
from rnnkit.errors import InputError


class CliInputError(click.ClickException):
    """A usage error: ``Error: MESSAGE`` and exit code 2."""

    exit_code = 2


class input_errors:
    """Turns ``InputError`` (and config validation errors) into click's exit code 2."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if kind is not None and issubclass(kind, InputError):
            raise CliInputError(str(error)) from None
        return False


def add_options(options: Sequence[click.Parameter]):
    """Decorator: adds ready-made ``click.Option`` objects to a command (an app's own verb)."""

    def decorate(f):
        f.__click_params__ = getattr(f, "__click_params__", []) + list(reversed(options))
        return f

    return decorate


# -- options from config fields ------------------------------------------------------------


def _click_type(leaf: fields.Leaf) -> click.ParamType | None:
    spec, kind = leaf.spec, leaf.kind
    if spec.path == "file":
        return click.Path(exists=True, dir_okay=False)
    if spec.path == "dir":
        return click.Path(file_okay=False)
    if spec.choices is not None and all(isinstance(c, str) for c in spec.choices):
        return click.Choice(spec.choices)
    bounds = dict(min=spec.min, max=spec.max, min_open=spec.min_open, max_open=spec.max_open)
    ranged = spec.min is not None or spec.max is not None
    if kind is int:
        return click.IntRange(**bounds) if ranged else click.INT
    if kind is float:
        return click.FloatRange(**bounds) if ranged else click.FLOAT
    return None  # click's STRING; a list is parsed by the option's callback


def _list_callback(item: type):
    def callback(ctx, param, value):
        if value is None:
            return None
        try:
            return fields.parse_list(value, item)
        except ValueError as e:
            raise click.BadParameter(str(e)) from None

    return callback


def field_option(leaf: fields.Leaf) -> click.Option:
    """The ``train`` option of a config field; its value is None when not given."""
    spec = leaf.spec
    if leaf.kind is bool:
        off = spec.off or f"--no-{leaf.flag[2:]}"
        return click.Option([f"{leaf.flag}/{off}"], default=None, help=spec.help)
    callback = None
    if typing.get_origin(leaf.kind) is tuple:
        callback = _list_callback(typing.get_args(leaf.kind)[0])
    return click.Option(
        [leaf.flag],
        type=_click_type(leaf),
        callback=callback,
        metavar=spec.metavar,
        help=spec.help,
    )


def field_options(cls: type, paths: Sequence[str] | None = None) -> dict[str, click.Option]:
    """``{"model.units": --units option, ...}`` for the flagged fields of config class ``cls``.

    ``paths``: only these fields (flagged or not), in this order.
    """
    if paths is None:
        chosen = fields.flags(cls)
    else:
        chosen = [fields.find(cls, p) for p in paths]
    return {leaf.path: field_option(leaf) for leaf in chosen}


SET_OPTION = click.Option(
    ["--set", "settings"],
    multiple=True,
    metavar="KEY=VALUE",
    help="Set any config field, e.g. --set model.units=384 --set train.warmup_steps=100 "
    "(repeatable; applied after the other options; --show-config lists the fields).",
)


# -- TF Serving ----------------------------------------------------------------------------


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


def text_lines(given: Sequence[str], file, name: str) -> list[str]:
    """A verb's texts: the arguments ``given``, then the lines of ``file`` (a path, or
    ``-`` for standard input), blank ones left out; none at all is an ``InputError``
    naming the argument (``name``: ``TEXTS``)."""
    import sys

    if file is not None:
        if str(file) == "-":
            text = sys.stdin.read()
        else:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise InputError(f"cannot read {file}: {e}") from None
        given = [*given, *(line.strip() for line in text.splitlines())]
    found = [t for t in given if t.strip()]
    if not found:
        raise InputError(f"give {name}, or --file PATH (- for standard input), one a line")
    return found
