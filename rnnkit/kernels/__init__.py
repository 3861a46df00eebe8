"""Whole-sequence recurrent kernels with hand-written backward passes.

Each kernel runs the recurrent part of a cell over a time-major sequence whose
input projection (``x @ W + b``) was computed beforehand for all steps at once.
The forward pass is one ``tf.while_loop``; the backward pass is a reverse
``tf.while_loop`` through which only the state gradients flow, and the weight
gradients are a few large matmuls over all time steps after it. Training
graphs run the loops as native ops (``rnnkit.kernels.native``, LSTM and GRU)
or XLA-compiled; inference and export graphs use plain while loops, except
the standard LSTM (tanh / sigmoid), whose inference runs TensorFlow's stock
``BlockLSTMV2`` op over the whole sequence (``lstm_block_sequence``).

All kernels share one calling convention (time-major):

    kernel(xp, states, U, mask=None, rec_mask=None, ...) -> (hs, final_states)

- ``xp``: ``[T, B, G]`` input projection, bias included.
- ``states``: tuple of ``[B, H]`` initial states.
- ``U``: ``[H, G]`` recurrent kernel (a tensor, not a variable).
- ``mask``: ``[T, B, 1]`` float (1 = step is real, 0 = padding) or None. A
  padded step carries every state unchanged.
- ``rec_mask``: ``[B, H]`` recurrent dropout mask applied to ``h`` before
  ``h @ U``, or None.
- ``hs``: ``[T, B, H]`` the (masked) hidden state after every step.
"""

from rnnkit.kernels._loop import training_loops
from rnnkit.kernels.elman import elman_sequence
from rnnkit.kernels.gru import gru_sequence
from rnnkit.kernels.lstm import lstm_sequence

__all__ = ["elman_sequence", "gru_sequence", "lstm_sequence", "training_loops"]
