"""Recurrent layers: the fast `Recurrent` layer, its shorthands, and attention for decoders."""

from rnnkit.layers.bahdanau_attention import BahdanauAttention
from rnnkit.layers.elman import Elman
from rnnkit.layers.gru import GRU
from rnnkit.layers.lstm import LSTM
from rnnkit.layers.recurrent import Recurrent

__all__ = ["GRU", "LSTM", "BahdanauAttention", "Elman", "Recurrent"]
