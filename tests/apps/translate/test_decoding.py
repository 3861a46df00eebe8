"""Text in, text out, in one graph: a toy language learnt, and unknown words copied."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.translate import config, decoding, model, train
from apps.translate.data import Pair
from apps.translate.features import Vocabulary

WORDS = "eins zwei drei vier fünf sechs sieben acht".split()
ENGLISH = dict(zip(WORDS, "one two three four five six seven eight".split()))
NAMES = ["Anna", "Berlin", "Zorro", "Kim"]  # names: kept as they are, never in a vocabulary


def _pairs(rng, n):
    pairs = []
    for _ in range(n):
        words = list(rng.choice(WORDS + NAMES, size=rng.integers(2, 6)))
        target = [ENGLISH.get(w, w) for w in words]
        pairs.append(Pair(" ".join(words) + ".", (" ".join(target) + ".",)))
    return pairs


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    pairs = _pairs(rng, 1500)
    source = Vocabulary.build([p.source for p in pairs], 100)
    # The names are not in the target vocabulary: the model must write <unk> for them.
    target = Vocabulary(
        Vocabulary.build([r for p in pairs for r in p.references], 100).words[:4]
        + tuple(ENGLISH.values())
        + (".",)
    )
    src, tgt = train.encode_pairs(pairs, source, target, max_words=8)
    net = model.build_model(
        config.ModelConfig(units=48, embedding=16, attention_units=16, dropout=0.0),
        len(source),
        len(target),
        seed=0,
    )
    optimizer = keras.optimizers.Adam(1e-2)

    @tf.function
    def step(s, t):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(train.per_example_loss(net, {"source": s, "target": t}, True))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return loss

    for _ in range(12):
        for k in range(0, len(src), 64):
            step(src[k : k + 64], tgt[k : k + 64])
    return net, source, target


@pytest.mark.parametrize("beam", [1, 3])
def test_raw_text_is_translated_and_names_are_copied(trained, beam):
    net, source, target = trained
    translator = decoding.Translator(net, source, target, beam=beam)
    texts = ["drei eins vier.", "Anna zwei Berlin.", "sieben Zorro acht eins."]
    out = translator(texts)
    assert out["translation"] == ["three one four.", "Anna two Berlin.", "seven Zorro eight one."]
    assert out["copied"] == [0, 2, 1]
    assert all(s < 0 for s in out["score"])


def test_a_translation_is_no_longer_than_its_limit(trained):
    net, source, target = trained
    translator = decoding.Translator(net, source, target)
    out = decoding.translate(
        net, (source, target), translator.table, tf.constant(["eins", "eins " * 30])
    )
    limits = [1 + 1 // 2 + 5, 30 + 30 // 2 + 5]
    assert all(n <= limit for n, limit in zip(out["length"].numpy(), limits))
