"""translate's training job through rnnkit's training loop, on the tiny preset."""

import numpy as np
import tensorflow as tf

from apps.translate import config, train
from apps.translate.data import Pair
from apps.translate.features import (
    END_ID,
    SOURCE_VOCAB,
    SPECIALS,
    START_ID,
    TARGET_VOCAB,
    Vocabulary,
)
from rnnkit import training
from rnnkit.text import WINDOW_BATCHES


def test_every_reference_is_an_example_and_long_pairs_are_left_out():
    pairs = [
        Pair("Wie spät ist es?", ("What time is it?", "What's the time?")),
        Pair("ein sehr sehr sehr langer Satz", ("a very long sentence",)),
    ]
    source = Vocabulary.build([p.source for p in pairs], 50)
    target = Vocabulary.build([r for p in pairs for r in p.references], 50)
    src, tgt = train.encode_pairs(pairs, source, target, max_words=5)
    assert src.shape == (2, 5) and tgt.shape == (2, 7)  # two references, the long pair out
    assert src[0].tolist() == source.ids("Wie spät ist es?")  # five tokens: no padding
    assert tgt[0].tolist() == [START_ID, *target.ids("What time is it?"), END_ID]
    assert tgt[1][:1].tolist() == [START_ID] and END_ID in tgt[1].tolist()
    one, _ = train.encode_pairs(pairs, source, target, 5, every_reference=False)
    assert len(one) == 1


def test_an_epoch_draws_every_example_once_in_windows_sorted_by_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 9, size=300)
    sources = (np.arange(9)[None] < lengths[:, None]).astype(np.int32) * 5
    targets = np.zeros((300, 11), np.int32)
    order = train._length_sorted_windows(sources, targets, batch=4, seed=1)
    assert sorted(order) == list(range(300))
    window = 4 * WINDOW_BATCHES
    for start in range(0, 300, window):
        part = lengths[order[start : start + window]]
        assert list(part) == sorted(part)
    assert list(order) != list(train._length_sorted_windows(sources, targets, 4, seed=2))


def test_the_tiny_preset_trains_and_the_loss_falls(tmp_path):
    preset = config.PRESETS["tiny"]
    task = train.make_task(preset, tmp_path)
    vocab = Vocabulary.load(tmp_path / SOURCE_VOCAB)
    assert vocab.words[:4] == SPECIALS and vocab.subwords
    widths = set()
    for batch in task.train_data(0):
        for name in ("source", "target"):
            ids = batch[name].numpy()
            assert ids.shape[0] == 16
            assert (ids[:, -1] != 0).any()  # cut to the batch's longest row
            widths.add(ids.shape[1])
    assert len(widths) > 2
    result = training.fit(task, preset.train, tmp_path, strategy="default", verbose=False)
    assert result.status == "completed"
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < losses[0]
    assert tf.train.latest_checkpoint(str(tmp_path / "ckpt")) is not None
    assert np.isfinite(result.history[-1]["val_loss"])


def test_the_tiny_run_exports_a_savedmodel_tf_serving_would_serve(tmp_path):
    from apps.translate import export
    from rnnkit import export as rexport
    from rnnkit.runs import Run
    from rnnkit.serving.check import check_version, passed

    preset = config.PRESETS["tiny"]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    task = train.make_task(preset, run_dir)
    result = training.fit(task, preset.train, run_dir, strategy="default", verbose=False)
    run = Run(path=run_dir, config=preset, model=result.model, checkpoint="")
    exported = export.export(run)
    version = rexport.export(
        exported.module,
        exported.signatures,
        tmp_path / "saved_models",
        "translate",
        exported.warmup,
        exported.check,
    )
    checks = check_version(version)  # statically, then loaded in a child, warmup replayed
    assert passed(checks), [c.line() for c in checks]
    assert sorted((version / "assets").iterdir()) == [
        version / "assets" / SOURCE_VOCAB,
        version / "assets" / TARGET_VOCAB,
    ]
    loaded = tf.saved_model.load(str(version))
    out = loaded.signatures["serving_default"](text=tf.constant(["Wie spät ist es?", ""]))
    assert out["translation"].shape == (2,) and out["copied"].dtype == tf.int32


def test_each_epoch_draws_every_sentence_and_a_fresh_share_of_the_phrases(tmp_path):
    preset = config.PRESETS["tiny"]
    d = preset.data.replace(
        phrases=True,
        phrase_share=0.5,
        train_limit=3000,
        max_words=16,
        source_vocab=4000,
        target_vocab=4000,
    )
    task = train.make_task(preset.replace(data=d), tmp_path)
    from apps.translate import data

    pairs = data.load("embedded", "de-en", True)["train"][:3000]
    source = Vocabulary.load(tmp_path / SOURCE_VOCAB)
    target = Vocabulary.load(tmp_path / TARGET_VOCAB)
    kinds = {}
    for kind in ("sentence", "phrase"):
        chosen = [p for p in pairs if p.kind == kind]
        src, tgt = train.encode_pairs(chosen, source, target, d.max_words)
        kinds[kind] = {tuple(s[s != 0]) + (-1,) + tuple(t[t != 0]) for s, t in zip(src, tgt)}
    assert len(kinds["sentence"]) > 50 and len(kinds["phrase"]) > 200

    def epoch(k):
        rows = []
        for batch in task.train_data(k):
            for s, t in zip(batch["source"].numpy(), batch["target"].numpy()):
                rows.append(tuple(s[s != 0]) + (-1,) + tuple(t[t != 0]))
        return rows

    first, second = epoch(0), epoch(1)
    assert len(first) == len(second)
    for rows in (first, second):
        drawn = [r for r in rows if r in kinds["phrase"] and r not in kinds["sentence"]]
        kept = {r for r in rows if r in kinds["sentence"]}
        assert len(kept) >= 0.9 * len(kinds["sentence"])  # all but the last partial batch
        assert 0.4 < len(set(drawn)) / len(kinds["phrase"]) < 0.6
    assert set(first) != set(second)
