"""Truncated backpropagation through time: k-step windows with carried state.

Long sequences are cut into consecutive windows of ``window`` steps. Each
window is one training step; the recurrent state it ends with is the initial
state of the next window (of the same sequence, or of the same row of the
next batch), but no gradient flows across the cut. This is char-rnn style
training: memory and step time depend on ``window``, not on the sequence.

The model is any callable ``model(inputs, states, training=...) -> (outputs,
new_states)`` where ``states`` is a list of ``[batch, units]`` tensors, or
None for zeros; an rnnkit layer built with ``return_state=True`` passes its
states this way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf


def split_windows(sequences: np.ndarray | tf.Tensor, window: int) -> list:
    """Cuts ``[batch, time, ...]`` into consecutive ``[batch, window, ...]`` pieces.

    The last piece is shorter when ``window`` does not divide ``time``.
    """
    if not isinstance(window, int) or window <= 0:
        raise ValueError(f"`window` must be a positive integer. Received: window={window!r}")
    length = sequences.shape[1]
    return [sequences[:, start : start + window] for start in range(0, length, window)]


def stream_windows(tokens: Sequence[int] | np.ndarray, batch_size: int, window: int):
    """Lays one long token stream out for stateful training, char-rnn style.

    The stream is cut into ``batch_size`` equal rows, each row a contiguous
    part of the stream; window ``n`` holds steps ``n * window`` to
    ``(n + 1) * window`` of every row, so row ``b`` of window ``n + 1``
    continues row ``b`` of window ``n``. Targets are the inputs shifted by one.

    Returns:
        ``(inputs, targets)``, each ``[num_windows, batch_size, window]``.
    """
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"`tokens` must be one-dimensional. Received shape {tokens.shape}")
    row_length = (len(tokens) - 1) // batch_size
    num_windows = row_length // window
    if num_windows == 0:
        raise ValueError(
            f"A stream of {len(tokens)} tokens is too short for batch_size={batch_size} "
            f"and window={window}: it needs at least {batch_size * window + 1} tokens."
        )
    used = batch_size * num_windows * window
    inputs = tokens[:used].reshape(batch_size, num_windows, window)
    targets = tokens[1 : used + 1].reshape(batch_size, num_windows, window)
    return inputs.transpose(1, 0, 2), targets.transpose(1, 0, 2)


class TruncatedBPTT:
    """Trains a state-passing model on consecutive windows, carrying the state.

    Args:
        model: ``model(inputs, states, training=...) -> (outputs, new_states)``,
            a Keras layer or model whose trainable weights are trained.
        window: Steps per window (the truncation length k).
        optimizer: A Keras optimizer.
        loss: ``loss(targets, outputs) -> scalar``.

    Example:

    >>> tbptt = TruncatedBPTT(model, window=20, optimizer=keras.optimizers.Adam(), loss=loss)
    >>> losses, states = tbptt.fit_sequence(inputs, targets)       # one long batch
    >>> losses, states = tbptt.fit_sequence(next_inputs, next_targets, states)
    """

    def __init__(self, model, window: int, optimizer, loss: Callable):
        if not isinstance(window, int) or window <= 0:
            raise ValueError(f"`window` must be a positive integer. Received: window={window!r}")
        self.model = model
        self.window = window
        self.optimizer = optimizer
        self.loss = loss
        self._train_step = tf.function(self._step, reduce_retracing=True)

    def _step(self, inputs, targets, states):
        with tf.GradientTape() as tape:
            outputs, new_states = self.model(inputs, states, training=True)
            loss = self.loss(targets, outputs)
        variables = self.model.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return loss, [tf.stop_gradient(s) for s in new_states]

    def train_window(self, inputs, targets, states=None):
        """One optimizer step on one window; returns ``(loss, new_states)``."""
        states = None if states is None else list(states)
        return self._train_step(tf.convert_to_tensor(inputs), tf.convert_to_tensor(targets), states)

    def fit_sequence(self, inputs, targets, states=None):
        """Trains on every window of ``[batch, time, ...]`` sequences in order.

        Returns ``(losses, final_states)``: the loss of each window and the state
        after the last one, to pass on with the batch that continues these rows.
        """
        losses = []
        for x, y in zip(split_windows(inputs, self.window), split_windows(targets, self.window)):
            loss, states = self.train_window(x, y, states)
            losses.append(float(loss))
        return losses, states

    def fit_stream(self, inputs, targets, epochs: int = 1):
        """Trains on ``stream_windows`` output: windows in order, state carried throughout.

        The state starts at zero at every epoch. Returns the mean loss per epoch.
        """
        history = []
        for _ in range(epochs):
            states, losses = None, []
            for x, y in zip(inputs, targets):
                loss, states = self.train_window(x, y, states)
                losses.append(float(loss))
            history.append(float(np.mean(losses)))
        return history
