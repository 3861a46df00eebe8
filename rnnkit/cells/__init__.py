"""Custom Keras RNN cells: the input projection split from the recurrent step."""

from rnnkit.cells.dropout import DropoutMasks
from rnnkit.cells.elman_cell import ElmanCell
from rnnkit.cells.gru_cell import GRUCell
from rnnkit.cells.lstm_cell import LSTMCell
from rnnkit.cells.recurrent_cell import RecurrentCell

__all__ = ["DropoutMasks", "ElmanCell", "GRUCell", "LSTMCell", "RecurrentCell"]
