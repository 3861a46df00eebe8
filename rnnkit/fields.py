"""Config fields that carry their own help, checks and command-line flag.

A setting is written once, as a field of an app's frozen config dataclass::

    units: int = setting(256, "Units per recurrent layer.", flag=True, min=1)

From that one line rnnkit checks the value whenever a config is made
(``check``, called by ``Config.__post_init__``), builds the ``--units``
option of ``train`` (``rnnkit.options.field_options``), and parses ``--set
model.units=384`` (``parse``). A field without ``flag`` is still reachable
through ``--set``. Every check raises ``ValueError`` in Keras's wording
(what was expected, what was received); the CLI turns it into a one-line
usage error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Iterator
from typing import Any

_KEY = "rnnkit"


@dataclasses.dataclass(frozen=True)
class Spec:
    """What ``setting`` records about a field (``field.metadata["rnnkit"]``).

    Attributes:
        help: one line for ``--help``.
        flag: the option's name (``"--units"``), True (named after the field), or
            None: reachable by ``--set`` only.
        off: the negative flag of a boolean (``"--offline"``; default ``--no-NAME``).
        choices: the allowed values.
        min, max, min_open, max_open: the allowed range of a number.
        metavar: the option's metavar in ``--help``.
        path: a path option (``click.Path``): ``"file"`` (an existing file) or
            ``"dir"`` (a folder).
    """

    help: str
    flag: str | bool | None = None
    off: str | None = None
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    metavar: str | None = None
    path: str | None = None


def setting(
    default: Any,
    help: str,
    *,
    flag: bool | str = False,
    **spec: Any,
) -> Any:
    """A dataclass field with its help, checks and flag (see ``Spec``).

    ``flag=True`` names the option after the field (``weight_dropout`` ->
    ``--weight-dropout``); a string names it (``"--locked-dropout"``).
    """
    return dataclasses.field(
        default=default, metadata={_KEY: Spec(help, flag=flag or None, **spec)}
    )


RATE = {"min": 0, "max": 1, "max_open": True}  # ``setting(..., **RATE)``: a dropout rate


class Config:
    """Base of the apps' config dataclasses: every field is checked when a config is made.

    A subclass with checks of its own (two fields together) defines
    ``__post_init__`` and calls ``super().__post_init__()`` first.
    """

    def __post_init__(self) -> None:
        check(self)

    def replace(self, **changes: Any):
        """A copy with ``changes`` (``dataclasses.replace``), checked again."""
        return dataclasses.replace(self, **changes)


# -- types ---------------------------------------------------------------------------------


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def unwrap(kind: Any) -> tuple[Any, bool]:
    """``(type, optional)``: ``int | None`` -> ``(int, True)``."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        return (args[0] if len(args) == 1 else kind), len(args) < len(typing.get_args(kind))
    return kind, False


def spec_of(field: dataclasses.Field) -> Spec:
    return field.metadata.get(_KEY) or Spec(help="")


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One settable field of a nested config: ``model.units``."""

    path: str
    field: dataclasses.Field
    kind: Any  # the annotation, None removed
    optional: bool

    @property
    def spec(self) -> Spec:
        return spec_of(self.field)

    @property
    def flag(self) -> str | None:
        flag = self.spec.flag
        if flag is True:
            return "--" + self.field.name.replace("_", "-")
        return flag


def leaves(cls: type, prefix: str = "") -> Iterator[Leaf]:
    """Every settable field of config class ``cls``, nested configs walked depth first."""
    for field in dataclasses.fields(cls):
        kind, optional = unwrap(hints(cls)[field.name])
        path = f"{prefix}{field.name}"
        if dataclasses.is_dataclass(kind):
            yield from leaves(kind, f"{path}.")
        else:
            yield Leaf(path, field, kind, optional)


def find(cls: type, path: str) -> Leaf:
    """The field at ``path``; a ``ValueError`` naming the close matches when there is none."""
    known = {leaf.path: leaf for leaf in leaves(cls)}
    if path in known:
        return known[path]
    close = difflib.get_close_matches(path, known, n=3, cutoff=0.8)
    if not close:  # a right name at the wrong depth: "units" for "model.units"
        close = [p for p in known if p.rpartition(".")[2] == path.rpartition(".")[2]]
    hint = f": did you mean {' or '.join(close)}?" if close else ""
    raise ValueError(f"unknown setting {path!r}{hint}")


# -- parsing text (``--set``, comma lists) -------------------------------------------------

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_ITEM_NAMES = {int: "integers such as 24,168", float: "numbers such as 0.1,0.5,0.9"}


def parse_list(text: str, item: type) -> tuple:
    """``"24,168"`` -> ``(24, 168)``; ``"a, b"`` -> ``("a", "b")``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("give at least one value" if item is not str else "give at least one name")
    if item is str:
        return tuple(parts)
    try:
        return tuple(item(p) for p in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not a list of {_ITEM_NAMES[item]}") from None


def parse(leaf: Leaf, text: str) -> Any:
    """The value of ``text`` for ``leaf``'s type (``none`` for an optional field)."""
    if leaf.optional and text.strip().lower() in ("none", "null", ""):
        return None
    kind = leaf.kind
    if kind is bool:
        lowered = text.strip().lower()
        if lowered not in _TRUE + _FALSE:
            raise ValueError(f"{text!r} is not a boolean (true or false)")
        return lowered in _TRUE
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        return parse_list(text, args[0])
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise ValueError(f"{text!r} is not {what}") from None
    return text


# -- checks --------------------------------------------------------------------------------


def _range_words(spec: Spec) -> str:
    low = "" if spec.min is None else ("(" if spec.min_open else "[") + f"{spec.min:g}"
    high = "" if spec.max is None else f"{spec.max:g}" + (")" if spec.max_open else "]")
    if low and high:
        return f"in {low}, {high}"
    if low:
        return ("> " if spec.min_open else ">= ") + f"{spec.min:g}"
    return ("< " if spec.max_open else "<= ") + f"{spec.max:g}"


def _in_range(value: float, spec: Spec) -> bool:
    if spec.min is not None and (value <= spec.min if spec.min_open else value < spec.min):
        return False
    return spec.max is None or (value < spec.max if spec.max_open else value <= spec.max)


def check_value(name: str, value: Any, kind: Any, optional: bool, spec: Spec) -> None:
    """Raises ``ValueError`` unless ``value`` fits the field's type, choices and range."""
    if value is None and optional:
        return
    received = f"Received: {name}={value!r}"
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"`{name}` must be one of {tuple(spec.choices)}. {received}")
    ranged = spec.min is not None or spec.max is not None
    if kind is int:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or (ranged and not _in_range(value, spec)):
            if spec.max is None and not spec.min_open and spec.min in (0, 1):
                what = "a positive integer" if spec.min == 1 else "a non-negative integer"
            else:
                what = "an integer" + (f" {_range_words(spec)}" if ranged else "")
            raise ValueError(f"`{name}` must be {what}. {received}")
        return
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"`{name}` must be a number. {received}")
    if kind is bool and not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. {received}")
    if ranged and not _in_range(value, spec):
        raise ValueError(f"`{name}` must be {_range_words(spec)}. {received}")


def check(config: Any) -> None:
    """Checks every field of ``config`` (not nested configs: they checked themselves)."""
    cls = type(config)
    for field in dataclasses.fields(cls):
        kind, optional = unwrap(hints(cls)[field.name])
        if dataclasses.is_dataclass(kind):
            continue
        value = getattr(config, field.name)
        if typing.get_origin(kind) is tuple and isinstance(value, list):
            value = tuple(value)  # from config.json
            object.__setattr__(config, field.name, value)
        check_value(field.name, value, kind, optional, spec_of(field))


def flags(cls: type) -> list[Leaf]:
    """The fields of ``cls`` (nested) that have a flag of their own."""
    return [leaf for leaf in leaves(cls) if leaf.flag]
