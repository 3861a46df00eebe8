"""speechtag's data: WAV files at any rate, TIMIT and TextGrid labels, bad folders."""

import numpy as np
import pytest

from apps.speechtag import data, label_files
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("speechtag")


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


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturbation_moves_pitch_length_and_labels_together(factor):
    rate = data.SAMPLE_RATE
    t = np.arange(rate) / rate  # one second: a 440 Hz tone, then silence
    audio = np.where(t < 0.5, np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    u = data.Utterance("a", audio, {"phones": [(0, 8000, "a")], "words": [(0, 8000, "one")]})
    out = data.speed_perturbed(u, factor)
    assert len(out.audio) == pytest.approx(rate / factor, abs=2)
    spectrum = np.abs(np.fft.rfft(out.audio, n=rate))  # 1 Hz bins
    assert np.argmax(spectrum) == pytest.approx(440 * factor, abs=2)
    end = out.tiers["phones"][0][1]
    assert end == pytest.approx(8000 / factor, abs=1)
    # The labels still cover the tone and nothing after it.
    assert np.abs(out.audio[: end - 200]).max() > 0.9
    assert np.abs(out.audio[end + 200 :]).max() < 0.05
    assert data.speed_perturbed(u, 1.0) is u


def test_timit_and_textgrid_readers_give_the_same_utterance(tmp_path, write_labelled):
    timit = label_files.read_labelled(write_labelled(tmp_path / "a", "u", ["one", "two"]))
    grid = label_files.read_labelled(
        write_labelled(tmp_path / "b", "u", ["one", "two"], textgrid=True)
    )
    assert timit.tiers == grid.tiers
    assert timit.tiers["words"] == [(1600, 4800, "one"), (6400, 9600, "two")]
    assert [s[2] for s in timit.tiers["phones"]] == ["o", "e", "t", "o"]
    np.testing.assert_allclose(timit.audio, grid.audio)


def test_any_rate_depth_and_channels_are_read_at_16k(tmp_path, write_labelled):
    ref = label_files.read_labelled(write_labelled(tmp_path / "a", "u", ["one"]))
    for rate, width, channels in ((8_000, 2, 1), (44_100, 4, 2), (22_050, 1, 1)):
        if width == 1:
            continue  # 8-bit WAV is unsigned; covered by read_wav below
        u = label_files.read_labelled(
            write_labelled(tmp_path / f"r{rate}", "u", ["one"], rate, width, channels)
        )
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


def test_bad_labels_and_folders_are_usage_errors(tmp_path, write_labelled):
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
        result = invoke(
            "train", "--preset", "tiny", "--data", f"dir:{path}", "--run-dir", tmp_path / "run"
        )
        assert result.exit_code == 2, (path, result.output)
        assert message in result.output, (path, result.output)
        assert "Traceback" not in result.output
        assert not (tmp_path / "run").exists()
    result = invoke(
        "train",
        "--preset",
        "tiny",
        "--data",
        f"dir:{grid}",
        "--word-tier",
        "lexicon",
        "--run-dir",
        tmp_path / "run",
    )
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


def test_each_epoch_draws_its_own_speeds():
    from apps.speechtag.train import perturbed

    audio = np.zeros(16_000, np.float32)
    utterances = [data.Utterance(str(i), audio, {"phones": [], "words": []}) for i in range(60)]
    lengths = [len(u.audio) for u in perturbed(utterances, 0.1, seed=3)]
    assert sorted(set(lengths)) == [14_546, 16_000, 17_778]  # 1.1, 1.0 and 0.9 times the speed
    assert lengths == [len(u.audio) for u in perturbed(utterances, 0.1, seed=3)]
    assert lengths != [len(u.audio) for u in perturbed(utterances, 0.1, seed=4)]
