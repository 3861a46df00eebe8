"""Recurrent layers: the fast `Recurrent` layer and its shorthands."""

from rnnkit.layers.elman import Elman
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.recurrent import Recurrent

__all__ = ["GRU", "LSTM", "Elman", "Recurrent"]
