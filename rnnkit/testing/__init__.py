"""Test helpers shared by rnnkit's and the apps' tests."""

from rnnkit.testing.reference import (
    ACTIVATIONS,
    elman_step,
    gru_step,
    lstm_step,
    run_reference,
)

__all__ = ["ACTIVATIONS", "elman_step", "gru_step", "lstm_step", "run_reference"]
