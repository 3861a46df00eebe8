"""textgen's baseline: a character n-gram model with interpolated Kneser-Ney smoothing.

The highest order uses raw counts, the lower ones continuation counts (in
how many contexts a string appears), each with its own absolute discount
``D = n1 / (n1 + 2 n2)`` (Ney et al.); the lowest order is interpolated with
a uniform distribution over the training characters plus one unknown slot,
so every character, seen or not, gets a probability above zero.
"""

import math
from collections import Counter, defaultdict


class KneserNey:
    """Interpolated Kneser-Ney character model.

    Args:
        text: The training text.
        order: The n of the n-grams (5: four characters of context).

    Example:

    >>> lm = KneserNey("abracadabra" * 10, order=3)
    >>> lm.bits_per_char("abracadabra") < 1.0
    True
    """

    def __init__(self, text: str, order: int = 5):
        if order < 1:
            raise ValueError(f"`order` must be at least 1. Received: order={order}")
        self.order = order
        self.vocab_size = len(set(text)) + 1
        # counts[k]: {k-gram: count}; raw counts at the top order, continuation counts below.
        top = Counter(text[i : i + order] for i in range(len(text) - order + 1))
        counts = {order: top}
        for k in range(order - 1, 0, -1):
            counts[k] = Counter(gram[1:] for gram in counts[k + 1])
        self.counts = counts
        self.discount = {}
        self.totals = {}
        self.types = {}
        for k, grams in counts.items():
            n1 = sum(1 for c in grams.values() if c == 1)
            n2 = sum(1 for c in grams.values() if c == 2)
            self.discount[k] = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
            totals, types = defaultdict(int), defaultdict(int)
            for gram, c in grams.items():
                totals[gram[:-1]] += c
                types[gram[:-1]] += 1
            self.totals[k], self.types[k] = dict(totals), dict(types)

    def prob(self, context: str, char: str) -> float:
        """P(char | the last ``order - 1`` characters of ``context``)."""
        p = 1.0 / self.vocab_size
        for k in range(1, self.order + 1):
            if k > 1 and len(context) < k - 1:
                break
            history = context[len(context) - (k - 1) :] if k > 1 else ""
            total = self.totals[k].get(history)
            if not total:
                continue
            d = self.discount[k]
            count = self.counts[k].get(history + char, 0)
            p = max(count - d, 0.0) / total + d * self.types[k][history] / total * p
        return p

    def bits_per_char(self, text: str, start: int = 1, context: str = "") -> float:
        """Mean -log2 P of ``text[start:]``, each character given the ones before it."""
        full = context + text
        offset = len(context)
        total = 0.0
        n = self.order - 1
        for i in range(offset + start, len(full)):
            total -= math.log2(self.prob(full[max(0, i - n) : i], full[i]))
        return total / max(len(full) - offset - start, 1)
