"""speechtag end to end: the generator, readers, model, metrics, CLI and SavedModel."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.speechtag import config as cfg
from apps.speechtag import data, evaluate, features, metrics, synth
from apps.speechtag.cli import APP
from apps.speechtag.features import frame_counts, widen_starts
from apps.speechtag.model import SpeechTagger, build_model
from rnnkit import runs
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing import snapshot
from rnnkit.testing.distribute import train_mirrored
from rnnkit.testing.serving import saved_model_cli_run

TINY_CORPUS = synth.Settings(train=6, validation=2, test=2, max_words=3)


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """Every test's generated corpus goes to a cache of its own, never the user's."""
    root = tmp_path_factory.mktemp("cache")
    before = os.environ.get("RNNKIT_CACHE")
    os.environ["RNNKIT_CACHE"] = str(root)
    yield root
    if before is None:
        os.environ.pop("RNNKIT_CACHE")
    else:
        os.environ["RNNKIT_CACHE"] = before


invoke = rcli.invoker("speechtag")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return rcli.train("speechtag", tmp_path_factory.mktemp("speechtag") / "run", steps=12)


@pytest.fixture(scope="module")
def streaming_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("speechtag") / "stream"
    return rcli.train("speechtag", path, "--streaming", "--lookahead", "3")


@pytest.fixture(scope="module")
def saved_model(streaming_run, tmp_path_factory):
    return rcli.export("speechtag", streaming_run, tmp_path_factory.mktemp("saved") / "speechtag")


def write_labelled(folder, name, words, rate=16_000, sampwidth=2, channels=1, textgrid=False):
    """A WAV with a tone per word and silence between, and its labels (TIMIT or TextGrid)."""
    folder.mkdir(parents=True, exist_ok=True)
    segment, gap = int(0.2 * rate), int(0.1 * rate)
    audio, phones, wrd = [np.zeros(gap)], [], []
    at = gap
    for k, word in enumerate(words):
        t = np.arange(segment) / rate
        audio += [0.5 * np.sin(2 * np.pi * (300 + 200 * k) * t), np.zeros(gap)]
        half = segment // 2
        phones += [(at, at + half, word[0]), (at + half, at + segment, word[-1])]
        wrd.append((at, at + segment, word))
        at += segment + gap
    signal = np.concatenate(audio)
    if channels == 2:
        signal = np.stack([signal, signal], axis=1)
    import wave

    with wave.open(str(folder / f"{name}.wav"), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(sampwidth)
        w.setframerate(rate)
        scale = 2 ** (8 * sampwidth - 1) - 1
        w.writeframes((signal * scale).astype(f"<i{sampwidth}").tobytes())
    if textgrid:
        from praatio import textgrid as tg

        grid = tg.Textgrid()
        for tier, segs in (("phones", phones), ("words", wrd)):
            entries = [(s / rate, e / rate, label) for s, e, label in segs]
            grid.addTier(tg.IntervalTier(tier, entries, 0, len(signal) / rate))
        grid.save(
            str(folder / f"{name}.TextGrid"), format="short_textgrid", includeBlankSpaces=True
        )
    else:
        (folder / f"{name}.PHN").write_text("".join(f"{s} {e} {lab}\n" for s, e, lab in phones))
        (folder / f"{name}.WRD").write_text("".join(f"{s} {e} {lab}\n" for s, e, lab in wrd))
    return folder / f"{name}.wav"


# -- the generator -------------------------------------------------------------------------


def test_generated_labels_line_up_with_the_audio():
    wav, labels = synth.utterance("three oh one four", "en-us+f2", seed=1)
    audio, rate = data.read_wav(wav)
    assert rate == data.SAMPLE_RATE
    assert [w for _, _, w in labels["words"]] == ["three", "oh", "one", "four"]
    first, last = labels["words"][0][0], labels["words"][-1][1]
    assert np.abs(audio[: first - 160]).max() < 1e-3  # leading silence is silent
    # The trailing one too, after at most 100 ms of a quiet release (breathy variants).
    assert np.abs(audio[last + 1600 :]).max() < 1e-3
    assert np.abs(audio[last : last + 1600]).max() < 0.1 * np.abs(audio[first:last]).max()
    for start, end, word in labels["words"]:
        rms = np.sqrt(np.mean(audio[start:end] ** 2))
        assert rms > 0.02, word  # every word's segment holds speech
    phones = labels["phones"]
    assert phones[0][0] == first and phones[-1][1] == last
    assert all(p[2] == data.espeak_phone(p[2]) and "'" not in p[2] for p in phones)


def test_the_corpus_is_deterministic_cached_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "a"))
    folder = synth.ensure(TINY_CORPUS, quiet=True)
    manifest = json.loads((folder / "manifest.json").read_text())
    splits = {u["split"]: set() for u in manifest["utterances"]}
    for u in manifest["utterances"]:
        splits[u["split"]].add(u["voice"])
    assert not (splits["train"] & (splits["validation"] | splits["test"]))
    assert all(v.startswith("en-us-nyc") or v.split("+")[-1] in synth.TEST_VARIANTS
               for v in splits["test"])  # fmt: skip
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "b"))
    again = synth.ensure(TINY_CORPUS, quiet=True)
    for name in manifest["files"]:
        assert (folder / name).read_bytes() == (again / name).read_bytes(), name
    # Reused: nothing is generated again.
    monkeypatch.setattr(synth, "run_espeak", lambda *a, **k: pytest.fail("regenerated"))
    assert synth.ensure(TINY_CORPUS, quiet=True) == again
    monkeypatch.undo()
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "b"))
    wav = next(n for n in manifest["files"] if n.endswith(".wav"))
    original = (again / wav).read_bytes()
    (again / wav).write_bytes(original[:100])  # a damaged cache
    assert synth.ensure(TINY_CORPUS, quiet=True) == again
    assert (again / wav).read_bytes() == original
    assert not [p for p in again.parent.iterdir() if p.name.startswith(".")]


def test_another_seed_gives_another_corpus():
    jobs = synth.plan(TINY_CORPUS)
    other = synth.plan(synth.Settings(**{**TINY_CORPUS.__dict__, "seed": 1}))
    assert [j["text"] for j in jobs] != [j["text"] for j in other]
    assert synth.plan(TINY_CORPUS) == jobs


# -- audio, labels, frames -----------------------------------------------------------------


@pytest.mark.parametrize("samples", [399, 400, 401, 559, 560, 561, 16_001])
def test_feature_frames_and_label_frames_agree(samples):
    model = build_model(cfg.ModelConfig(units=4, n_mels=8), 3, 2)
    features, frames = model.features(np.zeros([1, samples], np.float32), [samples])
    expected = data.frame_count(samples)
    assert int(frames[0]) == expected == min(features.shape[1], expected)
    assert features.shape[1] == max(expected, 1)  # a padded frame, never real, for short audio
    assert len(data.frame_labels([(0, samples, "x")], expected)) == expected


def test_frame_labels_take_the_label_at_the_frame_centre():
    # Frame i's centre is at i * 160 + 200.
    labels = data.frame_labels([(360, 520, "a"), (520, 680, "b")], 4)
    assert labels == ["sil", "a", "b", "sil"]


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100])
def test_resampling_keeps_duration_and_pitch(rate):
    t = np.arange(rate) / rate
    out = data.resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), rate)
    assert len(out) == data.SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) == pytest.approx(440, abs=1)


def test_timit_and_textgrid_readers_give_the_same_utterance(tmp_path):
    timit = data.read_labelled(write_labelled(tmp_path / "a", "u", ["one", "two"]))
    grid = data.read_labelled(write_labelled(tmp_path / "b", "u", ["one", "two"], textgrid=True))
    assert timit.tiers == grid.tiers
    assert timit.tiers["words"] == [(1600, 4800, "one"), (6400, 9600, "two")]
    assert [s[2] for s in timit.tiers["phones"]] == ["o", "e", "t", "o"]
    np.testing.assert_allclose(timit.audio, grid.audio)


def test_any_rate_depth_and_channels_are_read_at_16k(tmp_path):
    ref = data.read_labelled(write_labelled(tmp_path / "a", "u", ["one"]))
    for rate, width, channels in ((8_000, 2, 1), (44_100, 4, 2), (22_050, 1, 1)):
        if width == 1:
            continue  # 8-bit WAV is unsigned; covered by read_wav below
        u = data.read_labelled(write_labelled(tmp_path / f"r{rate}", "u", ["one"], rate, width,
                                              channels))  # fmt: skip
        assert abs(len(u.audio) - len(ref.audio)) <= 1
        assert u.tiers == ref.tiers
    pcm8 = tmp_path / "u8.wav"
    import wave

    with wave.open(str(pcm8), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 255, 1, 128] * 200))
    audio, rate = data.read_wav(pcm8)
    assert rate == 8000 and audio[:4] == pytest.approx([0.0, 127 / 128, -127 / 128, 0.0])


# -- metrics -------------------------------------------------------------------------------


def test_smoothing_removes_a_one_frame_flicker():
    lp = np.log(np.full([10, 2], 0.1))
    lp[:, 0] = np.log(0.9)
    lp[4] = np.log([0.4, 0.6])  # one frame prefers tag 1, but not by the switch cost
    tags, starts = metrics.smooth(lp)
    assert tags.tolist() == [0] * 10 and not starts.any()
    lp[4:8] = np.log([0.1, 0.9])  # four frames: a real segment
    tags, starts = metrics.smooth(lp)
    assert tags.tolist() == [0] * 4 + [1] * 4 + [0] * 2
    assert not starts.any()  # only splits within a run are marked; tag changes split anyway
    assert metrics.segments([0, 0, 1, 1, 1, 0]) == [(0, 2, 0), (2, 5, 1), (5, 6, 0)]


def test_start_probabilities_split_a_repeated_word():
    # "one one" without a pause: every frame says "one"; the start head peaks at frame 5.
    lp = np.log(np.tile([0.05, 0.95], (10, 1)))
    b = np.full(10, 0.01)
    b[4:7] = [0.7, 0.9, 0.6]
    tags, starts = metrics.smooth(lp, b)
    segs = metrics.segments(tags, starts)
    assert segs == [(0, 5, 1), (5, 10, 1)]
    assert metrics.collapse(segs) == [1, 1]
    b[4:7] = [0.2, 0.4, 0.3]  # an unsure start is not a split
    assert metrics.segments(*metrics.smooth(lp, b)) == [(0, 10, 1)]
    b[4:7] = 0.01
    b[3] = 0.99  # nor one that would leave a piece shorter than five frames
    assert metrics.segments(*metrics.smooth(lp, b)) == [(0, 10, 1)]
    lp[:, :] = np.log([0.95, 0.05])  # silence is never split
    b[5] = 0.99
    assert metrics.segments(*metrics.smooth(lp, b)) == [(0, 10, 0)]


def test_frame_starts_mark_every_segment_also_without_a_pause():
    # Centres at 200, 360, 520, 680, 840: "a" over two frames, "a" again, then silence.
    segments = [(300, 600, "a"), (600, 760, "a")]
    assert data.frame_labels(segments, 5) == ["sil", "a", "a", "a", "sil"]
    assert data.frame_starts(segments, 5).tolist() == [0, 1, 0, 1, 1]


def test_start_targets_are_widened_by_a_frame_for_training():
    starts = tf.constant([[0, 0, 1, 0, 0, 0, -1], [1, 0, 0, 0, 0, 1, 0]])
    widened = widen_starts(starts).numpy().tolist()
    assert widened == [[0, 1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 1, 1, 1]]


def test_error_rates_by_hand():
    # One substitution, one deletion over five reference tokens.
    ref, hyp = [["a", "b", "c"], ["d", "e"]], [["a", "x", "c"], ["d"]]
    assert metrics.error_rate(hyp, ref) == pytest.approx(2 / 5)
    assert metrics.error_rate([["a", "b", "c", "z"]], [["a", "b", "c"]]) == pytest.approx(1 / 3)
    segs = metrics.segments([0, 3, 3, 0, 0, 3, 3, 2, 2, 0], [0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
    assert metrics.collapse(segs) == [3, 3, 3, 2]


def test_boundary_f1_by_hand():
    ref = [metrics.segments([0] * 10 + [1] * 10 + [0] * 10)]  # boundaries at frames 10 and 20
    pred = [metrics.segments([0] * 12 + [1] * 5 + [2] * 3 + [0] * 10)]  # 12 yes, 17 no, 20 yes
    found = metrics.boundary_f1(pred, ref)
    assert found["precision"] == pytest.approx(2 / 3)
    assert found["recall"] == pytest.approx(1.0)
    assert found["f1"] == pytest.approx(0.8)
    late = [metrics.segments([0] * 13 + [1] * 17)]
    assert metrics.boundary_f1(late, [metrics.segments([0] * 10 + [1] * 20)])["f1"] == 0.0


def test_segment_times_meet_halfway_between_frame_centres():
    segs = metrics.segment_times([(0, 3, 0), (3, 5, 1)], ["sil", "a"])
    # Frame 3's centre is at 3 * 10 ms + 12.5 ms; frame 2's at 32.5 ms: they meet at 37.5 ms.
    assert [(s["start"], s["end"]) for s in segs] == [(0.0, 0.0375), (0.0375, 0.0575)]


# -- model ---------------------------------------------------------------------------------


def test_padded_batches_give_the_tags_of_single_utterances():
    model = build_model(cfg.ModelConfig(layers=2, units=8, n_mels=16), 5, 3, seed=0)
    rng = np.random.default_rng(0)
    lengths = [4000, 6130, 2201]
    audio = [rng.normal(0, 0.1, n).astype(np.float32) for n in lengths]
    padded = np.zeros([3, max(lengths)], np.float32)
    for i, a in enumerate(audio):
        padded[i, : len(a)] = a
    batch = model({"waveform": padded, "length": np.array(lengths, np.int32)})
    for i, a in enumerate(audio):
        single = model({"waveform": a[None], "length": np.array([len(a)], np.int32)})
        n = int(single["frames"][0])
        assert int(batch["frames"][i]) == n
        for name in ("phones", "words", "phones_start", "words_start"):
            np.testing.assert_allclose(batch[name][i, :n], single[name][0], atol=1e-5)


def test_spec_augment_masks_only_while_training():
    model = SpeechTagger(cfg.ModelConfig(units=4, n_mels=16, channel_augment=False), 5, 3, seed=0)
    model.build()
    x = tf.ones([4, 50, 16])
    masked = model._augment(x, tf.constant([50, 50, 50, 50]))
    zeros = 1.0 - masked.numpy()
    assert zeros.sum() > 0 and np.isin(masked.numpy(), [0.0, 1.0]).all()
    inputs = {"waveform": np.random.default_rng(0).normal(0, 0.1, [2, 3000]).astype(np.float32),
              "length": np.array([3000, 3000], np.int32)}  # fmt: skip
    a, b = model(inputs)["phones"], model(inputs)["phones"]
    np.testing.assert_array_equal(a, b)


def test_channel_augment_noise_and_cuts_only_while_training():
    model = build_model(cfg.ModelConfig(layers=1, units=8, n_mels=16), 5, 3, seed=0)
    audio = tf.constant(np.random.default_rng(0).normal(0, 0.1, [64, 8000]).astype(np.float32))
    length = tf.fill([64], 8000)
    plain = model.features(audio, length)[0].numpy()
    np.testing.assert_array_equal(plain, model.features(audio, length)[0].numpy())
    assert np.abs(model.features(audio, length, training=True)[0].numpy() - plain).mean() > 0.1
    spectrum = tf.signal.stft(audio, data.WINDOW, data.HOP, fft_length=512)
    out = model._corrupt(spectrum, tf.fill([64], tf.shape(spectrum)[1])).numpy()
    power = lambda z: (np.abs(z) ** 2).mean(axis=(1, 2))  # noqa: E731
    hertz = np.linspace(0, 8000, 257)
    cut = power(out[:, :, hertz > 7000]) == 0  # cut rows: nothing above the cut
    assert 8 <= cut.sum() <= 36
    for row in np.flatnonzero(cut):
        kept = hertz[power(out[row : row + 1].transpose(2, 1, 0)) > 0]
        assert 3000 <= kept.max() <= 7000
    added = power(out[~cut]) / power(spectrum.numpy()[~cut]) - 1  # noise power / signal power
    noisy = added > 1e-3
    assert 0.3 < noisy.mean() < 0.7
    assert ((added[noisy] > 0.008) & (added[noisy] < 1.3)).all()  # 0-20 dB SNR


@pytest.mark.parametrize("cell, lookahead", [("lstm", 0), ("gru", 0), ("lstm", 7), ("gru", 60)])
def test_streaming_chunks_give_the_whole_utterance_tags(cell, lookahead):
    """Chunks, then ``flush``: the tags of the whole utterance (lookahead 60 > its 31 frames)."""
    config = cfg.ModelConfig(
        cell=cell, layers=2, units=8, n_mels=16, streaming=True, lookahead=lookahead
    )
    model = build_model(config, 5, 3, seed=0)
    model.feature_mean.assign(np.full(16, -5.0, np.float32))
    model.feature_std.assign(np.full(16, 3.0, np.float32))
    audio = np.random.default_rng(1).normal(0, 0.1, [2, 5321]).astype(np.float32)
    whole = model({"waveform": audio, "length": np.array([5321, 5321], np.int32)})
    state = tf.zeros([2, model.state_size])
    got = {"phones": [], "words": [], "words_start": []}
    at = 0
    for size in (320, 100, 77, 1000, 320, 3504):
        logits, frames, state = model.stream(audio[:, at : at + size], state)
        at += size
        for tier in got:
            assert logits[tier].shape[1] == int(frames[0])
            got[tier].append(logits[tier].numpy())
    assert at == 5321
    logits, frames = model.flush(state)
    assert int(frames[0]) == min(lookahead, 31)
    for tier in got:
        assert logits[tier].shape[1] == int(frames[0])
        got[tier].append(logits[tier].numpy())
    for tier in got:
        chunked = np.concatenate(got[tier], axis=1)
        assert chunked.shape == whole[tier].shape
        np.testing.assert_allclose(chunked, whole[tier].numpy(), atol=2e-4)


# -- the CLI, end to end -------------------------------------------------------------------


def test_train_writes_the_run_directory(run_dir):
    for name in ("config.json", "metrics.json", "tagset.json", "examples.npz"):
        assert (run_dir / name).is_file(), name
    tagset = features.TagSet.load(run_dir)
    assert tagset.phones[0] == tagset.words[0] == "sil"
    assert set(synth.DIGITS) >= set(tagset.words[1:])
    assert "en-us-nyc" in tagset.test_voices
    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert {"val_per", "val_wer", "val_phone_accuracy"} <= set(history[-1])


def test_tensorboard_holds_metrics_and_the_utterance_picture(run_dir):
    ea = EventAccumulator(str(run_dir / "tb" / "validation"))
    ea.Reload()
    assert {"loss", "per", "phone_accuracy"} <= set(ea.Tags()["tensors"])
    ea = EventAccumulator(str(run_dir / "tb" / "train"), size_guidance={"tensors": 0})
    ea.Reload()
    image = ea.Tensors("tags/validation")[-1]
    png = tf.make_ndarray(image.tensor_proto)[2]
    assert png[:4] == b"\x89PNG"


def test_evaluate_scores_the_rnn_and_the_baselines(run_dir):
    result = invoke("evaluate", run_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["models"]) == {"rnn", "mlp", "majority"}
    assert report["utterances"] == 12
    assert set(report["mlp_decoding"]) == {"phones", "words"}
    majority = report["models"]["majority"]
    for tier in ("phones", "words"):
        # The majority tag is silence: no segment is found, every reference one is missed.
        assert majority[tier]["error_rate"] == 1.0
        assert majority[tier]["boundary_recall"] == 0.0
        assert report["models"]["mlp"][tier]["frame_accuracy"] > majority[tier]["frame_accuracy"]
    assert (run_dir / evaluate.MLP_FILE).is_file()
    assert json.loads((run_dir / "evaluation.json").read_text()) == report
    ea = EventAccumulator(str(run_dir / "tb" / "evaluate"), size_guidance={"tensors": 0})
    ea.Reload()
    assert "phones/confusion" in ea.Tags()["tensors"]
    table = invoke("evaluate", run_dir)
    assert "mlp" in table.output and "PER/WER" in table.output


def test_evaluate_on_another_folder(run_dir, tmp_path):
    folder = tmp_path / "mine"
    write_labelled(folder, "a", ["one", "two"])
    result = invoke("evaluate", run_dir, "--data", f"dir:{folder}")
    assert result.exit_code == 2
    assert "labels this run was not trained on" in result.output


def test_synth_then_tag_with_textgrid_and_plot(run_dir, tmp_path):
    wav = tmp_path / "x.wav"
    result = invoke("synth", "three one four", "--voice", "en-us-nyc+f4", "--out", wav)
    assert result.exit_code == 0, result.output
    assert wav.with_suffix(".WRD").is_file() and wav.with_suffix(".PHN").is_file()
    result = invoke("tag", run_dir, wav, "--json", "--textgrid", tmp_path / "grids",
                    "--plot", tmp_path / "x.png")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (entry,) = report["files"]
    assert entry["duration"] == pytest.approx(len(data.read_wav(wav)[0]) / 16_000, abs=1e-3)
    for seg in entry["segments"]:
        assert 0 <= seg["start"] < seg["end"] <= entry["duration"] + 0.03
        assert 0 < seg["probability"] <= 1
    from praatio import textgrid

    grid = textgrid.openTextgrid(str(tmp_path / "grids" / "x.TextGrid"), False)
    assert set(grid.tierNames) == {"phones", "words"}
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_streaming_saved_model_signatures(saved_model, streaming_run, tmp_path):
    loaded = tf.saved_model.load(str(saved_model))
    assert set(loaded.signatures) == {"serving_default", "wav", "stream", "flush"}
    run = runs.load_run(APP, streaming_run)
    examples = np.load(streaming_run / features.EXAMPLES_FILE)
    audio = examples["audio_0"]
    out = loaded.signatures["serving_default"](
        waveform=tf.constant(audio[None]), length=tf.constant([len(audio)])
    )
    want = run.model({"waveform": audio[None], "length": np.array([len(audio)], np.int32)})
    np.testing.assert_allclose(
        out["phone_probs"].numpy(), tf.nn.softmax(want["phones"]).numpy(), atol=1e-5
    )
    # The wav signature decodes the same audio in the graph.
    wav = loaded.signatures["wav"](wav=tf.constant([data.wav_bytes(audio)]))
    assert (wav["phones"].numpy() == out["phones"].numpy()).mean() > 0.95
    assert wav["phones"].dtype == tf.string
    with pytest.raises(tf.errors.InvalidArgumentError, match="8000"):
        loaded.signatures["wav"](wav=tf.constant([data.wav_bytes(audio, 8000)]))
    # Streaming in 20 ms chunks with the state held by the client.
    tagset = features.TagSet.load(saved_model / "assets")
    state = tf.zeros([1, run.model.state_size])
    tags = []
    for at in range(0, len(audio), 320):
        step = loaded.signatures["stream"](
            waveform=tf.constant(audio[None, at : at + 320]), state=state
        )
        state = step["state"]
        tags += [t.decode() for t in step["phones"].numpy()[0]]
    tags += [t.decode() for t in loaded.signatures["flush"](state=state)["phones"].numpy()[0]]
    whole = [t.decode() for t in out["phones"].numpy()[0]]
    assert tags == whole
    assert set(whole) <= set(tagset.phones)
    assert 0 <= float(tf.reduce_min(out["word_start_probability"]))
    assert float(tf.reduce_max(out["word_start_probability"])) <= 1


def test_saved_model_warmup_and_saved_model_cli(saved_model):
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert {signature for signature, _ in records} == {"serving_default", "wav", "stream", "flush"}
    loaded = tf.saved_model.load(str(saved_model))
    for outputs in layout.replay_warmup(loaded, saved_model / layout.WARMUP_FILE):
        assert "frames" in outputs
    waveform = "[[" + ",".join(f"{0.1 * np.sin(k / 5):.4f}" for k in range(800)) + "]]"
    out = saved_model_cli_run(saved_model, "serving_default", f"waveform={waveform};length=[800]")
    assert "phones" in out and "frames" in out


def test_tag_with_the_saved_model_matches_the_run(saved_model, streaming_run, tmp_path):
    wav = write_labelled(tmp_path, "u", ["one", "two"])
    a = invoke("tag", streaming_run, wav, "--json", "--tier", "phones")
    b = invoke("tag", saved_model.parent, wav, "--json", "--tier", "phones")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    (x,), (y,) = (json.loads(r.stdout)["files"] for r in (a, b))
    assert [(s["start"], s["end"], s["label"]) for s in x["segments"]] == [
        (s["start"], s["end"], s["label"]) for s in y["segments"]
    ]
    for s, t in zip(x["segments"], y["segments"]):
        assert s["probability"] == pytest.approx(t["probability"], abs=2e-3)


def _bad_files(tmp_path):
    good = write_labelled(tmp_path / "good", "u", ["one"])
    cases = {}
    (tmp_path / "notwav.wav").write_text("hello")
    cases["notwav"] = (tmp_path / "notwav.wav", "not a readable WAV")
    (tmp_path / "empty.wav").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.wav", "not a readable WAV")
    (tmp_path / "trunc.wav").write_bytes(good.read_bytes()[:30])
    cases["truncated"] = (tmp_path / "trunc.wav", "not a readable WAV")
    (tmp_path / "short.wav").write_bytes(data.wav_bytes(np.zeros(200, np.float32)))
    cases["short"] = (tmp_path / "short.wav", "shorter than one 25 ms frame")
    from scipy.io import wavfile

    wavfile.write(tmp_path / "nan.wav", 16_000, np.array([0.0, np.nan] * 400, np.float32))
    cases["nan"] = (tmp_path / "nan.wav", "NaN or infinite")
    return cases


def test_bad_audio_is_a_one_line_usage_error(run_dir, tmp_path):
    for name, (path, message) in _bad_files(tmp_path).items():
        result = invoke("tag", run_dir, path)
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
        assert "Traceback" not in result.output


def test_bad_labels_and_folders_are_usage_errors(tmp_path):
    def folder(name, **changes):
        path = tmp_path / name
        for k in range(3):
            write_labelled(path, f"u{k}", ["one", "two"], textgrid=changes.get("textgrid", False))
        return path

    past = folder("past")
    (past / "u0.WRD").write_text("1600 99999 one\n")
    overlap = folder("overlap")
    (overlap / "u1.PHN").write_text("1600 4000 o\n3000 4800 e\n")
    missing = folder("missing")
    (missing / "u2.PHN").unlink()
    grid = folder("grid", textgrid=True)
    (tmp_path / "nowav").mkdir()
    cases = [
        (past, "past the end of the audio"),
        (overlap, "overlaps"),
        (missing, "has no labels: put NAME.TextGrid or NAME.PHN beside it"),
        (tmp_path / "nowav", "holds no WAV files"),
        (tmp_path / "nothing", "no such folder"),
    ]
    for path, message in cases:
        result = invoke("train", "--preset", "tiny", "--data", f"dir:{path}",
                        "--run-dir", tmp_path / "run")  # fmt: skip
        assert result.exit_code == 2, (path, result.output)
        assert message in result.output, (path, result.output)
        assert "Traceback" not in result.output
        assert not (tmp_path / "run").exists()
    result = invoke("train", "--preset", "tiny", "--data", f"dir:{grid}", "--word-tier", "lexicon",
                    "--run-dir", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 2 and "has no tier 'lexicon'" in result.output
    for args, message in [
        (["train", "--data", "librispeech"], "unknown data source 'librispeech'"),
        (
            ["train", "--preset", "tiny", "--lookahead", "3", "--run-dir", tmp_path / "r"],
            "applies to the streaming model only",
        ),
        (["synth", "three four", "--voice", "xx-nope", "--out", tmp_path / "v.wav"], "no voice"),
        (["synth", "hello", "--out", tmp_path / "v.wav"], "digit words only"),
        (["synth", "one", "--out", tmp_path / "no" / "v.wav"], "its folder does not exist"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    assert not (tmp_path / "v.wav").exists()


def test_training_on_a_folder_of_textgrids(tmp_path):
    path = tmp_path / "data"
    for k in range(5):
        write_labelled(path, f"u{k}", ["one", "two", "three"][: 1 + k % 3], textgrid=True)
    result = invoke("train", "--preset", "tiny", "--data", f"dir:{path}", "--epochs", "1",
                    "--run-dir", tmp_path / "run", "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    tagset = features.TagSet.load(tmp_path / "run")
    assert tagset.words == ("sil", "one", "three", "two")
    assert tagset.phones == ("sil", "e", "o", "t")


def test_mirrored_on_two_cpus_matches_one_replica(run_dir, tmp_path):
    train_mirrored("speechtag", tmp_path / "run")
    one, two = (json.loads((p / "metrics.json").read_text()) for p in (run_dir, tmp_path / "run"))
    for a, b in zip(one["history"], two["history"]):
        for key in ("loss", "val_loss", "val_phone_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key


def test_frame_counts_in_the_graph():
    assert frame_counts(tf.constant([0, 399, 400, 560, 561])).numpy().tolist() == [0, 0, 1, 2, 2]


def test_tag_on_tf_serving_gives_the_local_segments(saved_model, tmp_path, StandIn):
    wav = write_labelled(tmp_path, "u", ["three", "one"])
    local = invoke("tag", saved_model, wav, "--json")
    assert local.exit_code == 0, local.output
    with StandIn(saved_model.parent.parent) as server:
        for url in (server.rest_url, server.grpc_url):
            remote = invoke("tag", saved_model, wav, "--json", "--server", url)
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == json.loads(local.stdout)


def test_export_keeps_the_signatures_of_the_snapshot(saved_model):
    snapshot.assert_signatures("speechtag", saved_model)
