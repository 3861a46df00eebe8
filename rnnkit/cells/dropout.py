"""Dropout masks that stay fixed across the time steps of one sequence."""

import keras
import tensorflow as tf


def _current_graph():
    return None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()


def _inside(graph, owner):
    """True if ``graph`` is ``owner`` or a function/loop body nested in it."""
    while graph is not None:
        if graph is owner:
            return True
        graph = getattr(graph, "outer_graph", None)
    return False


class DropoutMasks:
    """Mixin giving a cell Keras's dropout-mask protocol.

    A mask is drawn once and reused by every step until it is reset, so one
    sequence sees the same units dropped at every time step (variational
    dropout, Gal & Ghahramani 2016). ``rnnkit.layers.Recurrent`` draws the masks
    before its loop and resets them after. Inside ``keras.layers.RNN``, which
    only manages Keras's own cells, the first step (traced outside the loop)
    draws the mask and the loop body reuses it; a mask drawn in another graph
    is never reused, and ``get_initial_state`` starts a fresh one per call.

    The host class sets ``dropout``, ``recurrent_dropout``, ``seed_generator``
    and, for DropConnect on the recurrent kernel, ``weight_dropout``.
    """

    def _masks(self):
        # Not a Layer attribute set in __init__: Keras would try to track it.
        cache = self.__dict__.get("_rnnkit_masks")
        if cache is None:
            cache = {}
            self.__dict__["_rnnkit_masks"] = cache
        return cache

    def _cached_mask(self, kind, like, rate):
        if not rate:
            return None
        cache = self._masks()
        graph = _current_graph()
        entry = cache.get(kind)
        if entry is not None:
            owner, mask = entry
            if (owner is None and graph is None) or (owner is not None and _inside(graph, owner)):
                return mask
        mask = keras.random.dropout(tf.ones_like(like), rate=rate, seed=self.seed_generator)
        cache[kind] = (graph, mask)
        return mask

    def get_dropout_mask(self, step_input):
        """Mask for the input of one step, ``[batch, input_dim]``, or None."""
        return self._cached_mask("input", step_input, self.dropout)

    def get_recurrent_dropout_mask(self, state):
        """Mask for the previous output ``h``, ``[batch, units]``, or None."""
        return self._cached_mask("recurrent", state, self.recurrent_dropout)

    def get_weight_dropout_mask(self, kernel):
        """DropConnect mask for the recurrent kernel, its shape, or None."""
        return self._cached_mask("weights", kernel, getattr(self, "weight_dropout", 0.0))

    def reset_dropout_mask(self):
        self._masks().pop("input", None)

    def reset_recurrent_dropout_mask(self):
        self._masks().pop("recurrent", None)

    def reset_weight_dropout_mask(self):
        self._masks().pop("weights", None)
