"""speechtag's test helpers: the streaming run, labelled WAV files written for a test."""

import numpy as np
import pytest


@pytest.fixture
def streaming_run(tiny_runs):
    """The shared tiny run of the streaming tagger (what ``saved_model`` exports)."""
    return tiny_runs.run("speechtag", "--streaming", "--lookahead", "3")


def _write_labelled(folder, name, words, rate=16_000, sampwidth=2, channels=1, textgrid=False):
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


@pytest.fixture
def write_labelled():
    return _write_labelled
