"""rnnkit.fields: the config checks every app shares."""

import dataclasses

import pytest

from rnnkit import fields


@dataclasses.dataclass(frozen=True)
class Config:
    units: object = 4
    window: object = None
    cell: object = "lstm"
    dropout: object = 0.0


@pytest.mark.parametrize("value", [0, -3, 2.5, "4", True, None])
def test_positive_ints_names_the_field_and_value(value):
    with pytest.raises(ValueError, match=rf"`units` must be a positive integer. .*units={value!r}"):
        fields.positive_ints(Config(units=value), "units")


def test_optional_fields_may_be_none():
    fields.positive_ints(Config(units=1, window=None), "units", "window", optional=True)
    with pytest.raises(ValueError, match="`window`"):
        fields.positive_ints(Config(window=0), "units", "window", optional=True)


def test_one_of_and_rate():
    fields.one_of(Config(), "cell", ("lstm", "gru"))
    with pytest.raises(ValueError, match=r"one of \('lstm', 'gru'\). Received: cell='rnn'"):
        fields.one_of(Config(cell="rnn"), "cell", ("lstm", "gru"))
    fields.rate(Config(dropout=0.99), "dropout")
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
            fields.rate(Config(dropout=bad), "dropout")
