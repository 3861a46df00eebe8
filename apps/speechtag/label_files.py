"""speechtag's label files: TIMIT-style ``.PHN``/``.WRD`` and Praat TextGrids, beside WAVs.

``read_folder`` reads a ``dir:PATH`` source: every WAV under the folder with
its tiers, each name kept inside the folder. Segments must lie inside the
audio and not overlap; a final *silence* that runs past the end (text-to-speech
systems and aligners write these, often 50-150 ms over) is clipped to the
audio's end, and the files where that happened are counted in one warning.
"""

from __future__ import annotations

import sys
from pathlib import Path

from apps.speechtag.data import (
    LABEL_SUFFIXES,
    SAMPLE_RATE,
    SILENCE,
    TIERS,
    WINDOW,
    Utterance,
    normalise_label,
    read_wav,
    resample,
)
from rnnkit.errors import InputError
from rnnkit.files import inside


def read_timit(path: Path) -> list[tuple[int, int, str]]:
    """A TIMIT ``.PHN``/``.WRD`` file: ``start end label`` per line, in samples."""
    segments = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=2)
        try:
            start, end = int(parts[0]), int(parts[1])
            label = parts[2] if len(parts) > 2 else ""
        except (ValueError, IndexError):
            raise InputError(f"{path}:{n}: expected 'start end label', got {line!r}") from None
        segments.append((start, end, label))
    return segments


def read_textgrid(path: Path, tier: str, rate: int) -> list[tuple[int, int, str]]:
    """The intervals of ``tier`` in a Praat TextGrid, in samples at ``rate``."""
    from praatio import textgrid

    try:
        grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    except Exception as e:  # praatio raises assorted errors for bad files
        raise InputError(f"{path} is not a readable TextGrid: {e}") from None
    names = {name.lower(): name for name in grid.tierNames}
    if tier.lower() not in names:
        raise InputError(f"{path} has no tier {tier!r}; its tiers are {list(grid.tierNames)}")
    found = grid.getTier(names[tier.lower()])
    if not isinstance(found, textgrid.IntervalTier):
        raise InputError(f"{path}: tier {tier!r} is a point tier; an interval tier is needed")
    return [(round(start * rate), round(end * rate), label) for start, end, label in found.entries]


def fit_segments(segments, samples: int, rate: int, where: str) -> tuple[list, bool]:
    """The segments, checked: inside the audio (to one frame's tolerance), none overlapping.

    A final silence that runs past the end is clipped to it; returns the
    segments and whether that happened. Speech past the end is an error.
    """
    tolerance = rate * WINDOW // SAMPLE_RATE
    previous_end, fitted, clipped = 0, [], False
    ordered = sorted(segments)
    for k, (start, end, label) in enumerate(ordered):
        if end <= start:
            raise InputError(f"{where}: segment {label!r} ends at {end}, before its start {start}")
        if start < previous_end:
            raise InputError(
                f"{where}: segment {label!r} at {start} overlaps the one ending at {previous_end}"
            )
        last_silence = k == len(ordered) - 1 and normalise_label(label) == SILENCE
        if end > samples + tolerance and last_silence and start < samples:
            end, clipped = samples, True
        elif end > samples + tolerance:
            raise InputError(
                f"{where}: segment {label!r} ends at sample {end} ({end / rate:.3f} s), past the "
                f"end of the audio ({samples} samples, {samples / rate:.3f} s)"
            )
        fitted.append((start, end, label))
        previous_end = end
    return fitted, clipped


def read_labelled(
    wav: Path, tier_names: dict[str, str] | None = None, clipped: list[Path] | None = None
) -> Utterance:
    """A WAV file and its tiers (``NAME.TextGrid``, else ``NAME.PHN`` and ``NAME.WRD``).

    ``tier_names`` maps ``phones``/``words`` to the TextGrid's tier names
    (default: the same names). The audio is resampled to ``SAMPLE_RATE``.
    ``clipped`` collects the files whose final silence was clipped.
    """
    tier_names = {**{t: t for t in TIERS}, **(tier_names or {})}
    audio, rate = read_wav(wav)
    if len(audio) * SAMPLE_RATE // rate < WINDOW:
        raise InputError(f"{wav} is shorter than one 25 ms frame")
    grid = _beside(wav, ".TextGrid")
    tiers = {}
    for tier, suffix in (("phones", ".PHN"), ("words", ".WRD")):
        if grid is not None:
            segments, where = read_textgrid(grid, tier_names[tier], rate), str(grid)
        else:
            path = _beside(wav, suffix)
            if path is None:
                raise InputError(
                    f"{wav} has no labels: put NAME.TextGrid or NAME{suffix} beside it"
                )
            segments, where = read_timit(path), str(path)
        segments, cut = fit_segments(segments, len(audio), rate, where)
        if cut and clipped is not None and wav not in clipped:
            clipped.append(wav)
        scale = SAMPLE_RATE / rate
        named = [(s, e, normalise_label(label)) for s, e, label in segments]
        tiers[tier] = [
            (round(s * scale), round(e * scale), label) for s, e, label in named if label != SILENCE
        ]
    return Utterance(name=wav.stem, audio=resample(audio, rate), tiers=tiers)


def _beside(wav: Path, suffix: str) -> Path | None:
    for candidate in (wav.with_suffix(suffix), wav.with_suffix(suffix.lower())):
        if candidate.is_file():
            return candidate
    return None


def read_folder(path: str | Path, tier_names: dict[str, str] | None = None) -> list[Utterance]:
    """Every labelled WAV under ``path`` (recursively), sorted by path."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}")
    wavs = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not wavs:
        raise InputError(f"{folder} holds no WAV files")
    for wav in wavs:  # a symlink that leads out of the folder is refused, labels too
        labels = [wav.with_suffix(s) for s in LABEL_SUFFIXES]
        for path in [wav, *(p for p in labels if p.exists())]:
            inside(folder, str(path.relative_to(folder)), f"{folder}: file")
    clipped: list[Path] = []
    utterances = [read_labelled(wav, tier_names, clipped) for wav in wavs]
    if clipped:
        print(
            f"Warning: {len(clipped)} of {len(wavs)} label files in {folder} end with silence "
            f"past the end of the audio (the first: {clipped[0].name}); clipped to the audio",
            file=sys.stderr,
        )
    for u, wav in zip(utterances, wavs):
        u.name = str(wav.relative_to(folder).with_suffix(""))
    return utterances
