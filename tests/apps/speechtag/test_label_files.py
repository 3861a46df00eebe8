"""speechtag's label files from other tools: a final silence past the end is clipped."""

from apps.speechtag import data, label_files
from rnnkit.testing import cli as rcli


def _overrun(path, by: int, label: str) -> None:
    """A final segment ``label`` that ends ``by`` samples past the WAV's end."""
    samples = len(data.read_wav(path)[0])
    for suffix in (".PHN", ".WRD"):
        tier = path.with_suffix(suffix)
        rows = tier.read_text().splitlines()
        last_end = int(rows[-1].split()[1])
        tier.write_text("\n".join([*rows, f"{last_end} {samples + by} {label}"]) + "\n")


def test_a_trailing_silence_past_the_end_is_clipped_and_counted(tmp_path, write_labelled, capsys):
    folder = tmp_path / "aligned"
    for k in range(4):
        write_labelled(folder, f"u{k}", ["one", "two"])
    for k in (1, 3):  # 120 ms over, as aligners and TTS systems write
        _overrun(folder / f"u{k}.wav", 1920, "pau")
    utterances = label_files.read_folder(folder)
    assert len(utterances) == 4
    warning = capsys.readouterr().err.strip().splitlines()
    assert warning == [
        f"Warning: 2 of 4 label files in {folder} end with silence past the end of the audio "
        "(the first: u1.wav); clipped to the audio"
    ]
    # The clipped silence is silence: the words are those of an untouched file.
    assert (
        utterances[1].tiers["words"] == label_files.read_labelled(folder / "u0.wav").tiers["words"]
    )


def test_speech_past_the_end_is_still_an_error(tmp_path, write_labelled):
    folder = tmp_path / "aligned"
    for k in range(3):
        write_labelled(folder, f"u{k}", ["one", "two"])
    _overrun(folder / "u2.wav", 1920, "three")
    result = rcli.invoke("speechtag", "train", "--preset", "tiny", "--data", f"dir:{folder}")
    rcli.usage_error(result, "segment 'three' ends at sample", "past the end of the audio")
