"""Dynamic evaluation (Krause et al., 2018): the model adapts its weights to the text
as it reads it.

The text is read as one stream in segments of ``segment`` characters, the
state carried across them. Each segment is scored first, with the weights
as they are, and then the weights take one gradient step on that segment's
loss, so every character is predicted before anything learns from it. The
step is RMS-normalised: each weight's gradient is divided by the root mean
square of its gradients over training segments, so one learning rate suits
every layer; and a decay pulls each weight back towards the trained one in
proportion to that RMS (the weights the training data moves most may move
most), which keeps a long text from dragging the model away.

``evaluate --dynamic`` reports the bits per character so read beside the
static figure; ``generate --adapt N`` adapts to the prompt with N passes
before it writes.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from apps.textgen.config import DYNAMIC_DECAY as DECAY
from apps.textgen.config import DYNAMIC_LR as LEARNING_RATE
from apps.textgen.config import DYNAMIC_SEGMENT as SEGMENT
from apps.textgen.model import CharRNN
from apps.textgen.train import LN2, per_char_loss

EPSILON = 1e-8
RMS_FLOOR = 0.1  # of the mean RMS of the weight's tensor


class Adapter:
    """The dynamic evaluation of one model; ``restore()`` gives back the trained weights.

    Args:
        model: a built ``CharRNN``; its weights change as texts are read.
        train_ids: training text (ids) whose segments give each weight's gradient
            RMS (about ``rms_segments * segment`` characters from its end).
        segment, learning_rate, decay: the update's settings (module defaults).
    """

    def __init__(
        self,
        model: CharRNN,
        train_ids: np.ndarray,
        segment: int = SEGMENT,
        learning_rate: float = LEARNING_RATE,
        decay: float = DECAY,
        rms_segments: int = 100,
    ):
        self.model, self.segment = model, segment
        self.weights = list(model.trainable_variables)
        self.trained = [tf.constant(w.numpy()) for w in self.weights]
        self.learning_rate = tf.constant(learning_rate, tf.float32)
        num_states = model.num_layers * model.states_per_layer
        spec = [tf.TensorSpec([1, None], tf.int32)] * 2
        spec += [tf.TensorSpec([1, model.units], tf.float32)] * num_states
        self._gradients = tf.function(self._loss_and_gradients, input_signature=spec)
        self._update = tf.function(self._read_and_update, input_signature=spec)
        self._score = tf.function(self._read, input_signature=spec)
        rms = self._gradient_rms(train_ids, rms_segments)
        # A floor per weight tensor: a weight the training segments barely moved
        # (the embedding of a rare character) would otherwise take a huge step
        # the first time the text uses it.
        rms = [np.maximum(r, RMS_FLOOR * r.mean()) for r in rms]
        self.rms = [tf.constant(r) for r in rms]
        mean = np.mean(np.concatenate([r.ravel() for r in rms]))
        # The decay's share per weight, at most 1 (a weight never overshoots
        # the trained value).
        self.pull = [tf.constant(np.minimum(decay * r / mean, 1.0), tf.float32) for r in rms]

    def _loss_and_gradients(self, x, y, *states):
        """A segment's mean loss, its gradients and the states after it."""
        with tf.GradientTape() as tape:
            loss, new_states = self._read(x, y, *states)
        grads = tape.gradient(loss, self.weights)
        return loss, [tf.convert_to_tensor(g) for g in grads], new_states

    def _gradient_rms(self, ids: np.ndarray, count: int) -> list[np.ndarray]:
        ids = ids[-(count * self.segment + 1) :]
        squares = [np.zeros(w.shape, np.float32) for w in self.weights]
        states, n = self.model.zero_states(1), 0
        for x, y in self._segments(ids):
            _, grads, states = self._gradients(x, y, *states)
            for total, g in zip(squares, grads):
                total += np.square(g.numpy())
            n += 1
        return [np.sqrt(s / max(n, 1)) for s in squares]

    def _read(self, x, y, *states):
        """A segment's mean loss (nats a character) and the states after it."""
        logits, new_states = self.model(x, list(states), training=False)
        return tf.reduce_mean(per_char_loss(logits, y)), new_states

    def _read_and_update(self, x, y, *states):
        loss, grads, new_states = self._loss_and_gradients(x, y, *states)
        for w, g, rms, pull, trained in zip(self.weights, grads, self.rms, self.pull, self.trained):
            step = self.learning_rate * g / (rms + EPSILON)
            w.assign(w - step + pull * (trained - w))
        return loss, new_states

    def _segments(self, ids: np.ndarray):
        """``(inputs, targets)`` ``[1, <= segment]`` over ``ids``, in order."""
        for start in range(0, len(ids) - 1, self.segment):
            chunk = ids[start : start + self.segment + 1]
            if len(chunk) < 2:
                break
            yield chunk[None, :-1].astype(np.int32), chunk[None, 1:].astype(np.int32)

    def read(self, ids: np.ndarray, adapt: bool = True, states=None):
        """Reads ``ids`` as one stream: ``(bits per character of ids[1:], states)``;
        with ``adapt`` the weights learn from each segment after scoring it."""
        states = self.model.zero_states(1) if states is None else states
        total, count = 0.0, 0
        run = self._update if adapt else self._score
        for x, y in self._segments(ids):
            loss, states = run(x, y, *states)
            total += float(loss) * y.shape[1]
            count += y.shape[1]
        return total / max(count, 1) / LN2, states

    def restore(self) -> None:
        """The trained weights back."""
        for w, trained in zip(self.weights, self.trained):
            w.assign(trained)
