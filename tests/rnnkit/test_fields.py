"""rnnkit.fields: the checks every config field gets from its ``setting``, in one wording."""

import dataclasses

import pytest

from rnnkit.fields import RATE, Config, setting


@dataclasses.dataclass(frozen=True)
class Fields(Config):
    units: int = setting(4, "Units.", min=1)
    window: int | None = setting(None, "Window.", min=1)
    cell: str = setting("lstm", "Cell.", choices=("lstm", "gru"))
    dropout: float = setting(0.0, "Dropout.", **RATE)
    lookahead: int = setting(0, "Frames.", min=0)
    height: int = setting(32, "Height.", min=8)


@pytest.mark.parametrize("value", [0, -3, 2.5, "4", True, None])
def test_positive_ints_name_the_field_and_value(value):
    with pytest.raises(ValueError, match=rf"`units` must be a positive integer. .*units={value!r}"):
        Fields(units=value)


def test_optional_fields_may_be_none():
    assert Fields(window=None).window is None
    with pytest.raises(ValueError, match="`window` must be a positive integer"):
        Fields(window=0)


def test_choices_rates_and_ranges():
    with pytest.raises(ValueError, match=r"one of \('lstm', 'gru'\). Received: cell='rnn'"):
        Fields(cell="rnn")
    assert Fields(dropout=0.99).dropout == 0.99
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"`dropout` must be in \[0, 1\)"):
            Fields(dropout=bad)
    with pytest.raises(ValueError, match="`lookahead` must be a non-negative integer"):
        Fields(lookahead=-1)
    with pytest.raises(ValueError, match="`height` must be an integer >= 8. Received: height=4"):
        Fields(height=4)
    assert Fields(height=8).replace(units=2) == Fields(height=8, units=2)
