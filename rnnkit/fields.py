"""Checks of config dataclass fields, in one wording for every app.

Each raises ``ValueError`` naming the field and the value received; the CLI
turns it into a one-line usage error.
"""

from collections.abc import Iterable


def positive_ints(config, *names: str, optional: bool = False) -> None:
    """Each named field is an integer >= 1 (or None, with ``optional``)."""
    for name in names:
        value = getattr(config, name)
        if optional and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def one_of(config, name: str, choices: Iterable) -> None:
    """The named field is one of ``choices``."""
    value, choices = getattr(config, name), tuple(choices)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")


def rate(config, name: str) -> None:
    """The named field is a rate in [0, 1) (dropout)."""
    value = getattr(config, name)
    if not 0 <= value < 1:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value!r}")
