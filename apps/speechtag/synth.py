"""The embedded data set: spoken digit strings from eSpeak NG, generated on first use.

``corpus(settings)`` returns the train / validation / test utterances of a
generated corpus, building it first when its cache folder is missing or
damaged. The cache lives in ``$RNNKIT_CACHE/speechtag/<hash of the
settings>/`` (default ``~/.cache/rnnkit``) and is built in a temporary folder
that is renamed when complete, so a half-generated cache is never used; a
``manifest.json`` lists every file with its size, and a cache whose files do
not match it is rebuilt.

The synthesizer (GPL-3) runs in child processes (``apps.speechtag.espeak``)
that write WAV and label files; this module reads those, then adds the
variety eSpeak does not give (random leading and trailing silence, gain,
additive noise at a random SNR) and resamples to 16 kHz. Everything follows
from the settings' seed, so the same settings give the same bytes.

The split is by voice; ``apps.speechtag.voicebank`` says which voices each
split hears.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import click
import numpy as np

from apps.speechtag.data import (
    SAMPLE_RATE,
    SILENCE,
    Utterance,
    espeak_phone,
    read_wav,
    resample,
    wav_bytes,
)
from apps.speechtag.label_files import read_timit
from apps.speechtag.voicebank import FAMILIES, MIX_PREFIX, SPLITS, voices
from rnnkit.errors import InputError

VERSION = 5  # bump when the generator's output changes
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh")


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the generated corpus depends on (its cache key)."""

    train: int = 2000
    validation: int = 200
    test: int = 300
    families: int = 300  # utterances of each held-out voice family
    seed: int = 0
    max_words: int = 7
    rate: tuple[int, int] = (130, 230)  # words per minute
    pitch: tuple[int, int] = (25, 75)
    range: tuple[int, int] = (20, 80)
    silence: tuple[float, float] = (0.05, 0.5)  # seconds, each end
    snr_db: tuple[float, float] = (10.0, 40.0)
    clean_fraction: float = 0.2  # no noise at all
    peak: tuple[float, float] = (0.05, 0.95)
    # The share of training utterances spoken by a mixed voice: a variant made
    # for the utterance from the training variants' settings (voicebank.mixed_variant).
    mixed: float = 0.0

    def key(self) -> str:
        fields = dataclasses.asdict(self)
        if not self.mixed:  # a corpus without mixed voices keeps the key it had
            del fields["mixed"]
        text = json.dumps({"version": VERSION, **fields}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_root() -> Path:
    return Path(os.environ.get("RNNKIT_CACHE") or Path.home() / ".cache" / "rnnkit") / "speechtag"


def plan(settings: Settings) -> list[dict]:
    """Every utterance to synthesize: id, split, text, voice and prosody, from the seed."""
    jobs = []
    for split_index, split in enumerate(SPLITS):
        rng = np.random.default_rng([settings.seed, split_index])
        # Mixed voices draw from their own generator, so the rest of the corpus
        # stays as it is without them.
        mix = np.random.default_rng([settings.seed, split_index, 1])
        names = voices(split)
        count = settings.families if split in FAMILIES else getattr(settings, split)
        for k in range(count):
            words = rng.choice(DIGITS, size=int(rng.integers(1, settings.max_words + 1)))
            job = {
                "id": f"{split}-{k:05d}",
                "split": split,
                "text": " ".join(words),
                "voice": str(names[int(rng.integers(len(names)))]),
                "rate": int(rng.integers(*settings.rate, endpoint=True)),
                "pitch": int(rng.integers(*settings.pitch, endpoint=True)),
                "range": int(rng.integers(*settings.range, endpoint=True)),
                "gap": int(rng.integers(0, 3)),
                "seed": int(rng.integers(2**31)),
            }
            if split == "train" and settings.mixed and mix.uniform() < settings.mixed:
                job["mix"] = int(mix.integers(2**31))
                job["voice"] = f"{job['voice'].split('+')[0]}+{MIX_PREFIX}{job['mix']}"
            jobs.append(job)
    return jobs


def espeak_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("espeakng_loader") is not None


def run_espeak(jobs: list[dict], out_dir: Path, processes: int = 2, progress=None) -> None:
    """Synthesizes ``jobs`` into ``out_dir`` with ``processes`` child processes."""
    if not espeak_available():
        raise InputError(
            "the espeak data source needs eSpeak NG: pip install 'espeakng-loader==0.2.4' "
            "(make venv installs it), or train on your own files with --data dir:PATH"
        )
    children = []
    for i in range(processes):
        part = jobs[i::processes]
        if not part:
            continue
        jobs_file = out_dir / f".jobs-{i}.json"
        jobs_file.write_text(json.dumps(part))
        child = subprocess.Popen(
            [sys.executable, "-m", "apps.speechtag.espeak", str(jobs_file), str(out_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        children.append((child, jobs_file))
    for child, _ in children:
        for line in child.stdout:
            if progress is not None and line.startswith("done"):
                progress(1)
    for child, jobs_file in children:
        errors = child.stderr.read()
        if child.wait() != 0:
            raise RuntimeError(f"the eSpeak NG child process failed: {errors.strip()[-500:]}")
        jobs_file.unlink()


def finish(raw: Path, job: dict, settings: Settings, index: int) -> tuple[bytes, dict]:
    """eSpeak's utterance -> the corpus's: silence, gain, noise, 16 kHz; labels in samples."""
    audio, rate = read_wav(raw / f"{job['id']}.wav")
    rng = np.random.default_rng([settings.seed, 1000 + index])
    lead, trail = (int(rng.uniform(*settings.silence) * rate) for _ in range(2))
    audio = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(trail, np.float32)])
    audio = resample(audio, rate, SAMPLE_RATE)
    audio *= rng.uniform(*settings.peak) / max(float(np.abs(audio).max()), 1e-6)
    if rng.uniform() >= settings.clean_fraction:
        power = float(np.mean(audio**2))
        snr = rng.uniform(*settings.snr_db)
        noise = rng.standard_normal(len(audio)).astype(np.float32)
        if rng.uniform() < 0.5:  # brown-ish noise: most of its power low, like hum and rumble
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(64) / 64, mode="same")
        noise *= np.sqrt(power / 10 ** (snr / 10) / max(float(np.mean(noise**2)), 1e-12))
        audio = audio + noise
    audio = np.clip(audio, -1.0, 1.0)
    scale = SAMPLE_RATE / rate
    labels = {}
    for tier, suffix in (("phones", "PHN"), ("words", "WRD")):
        segments = []
        for start, end, label in read_timit(raw / f"{job['id']}.{suffix}"):
            label = espeak_phone(label) if tier == "phones" else label
            if label != SILENCE:  # what no segment covers is silence
                segments.append((round((start + lead) * scale), round((end + lead) * scale), label))
        labels[tier] = segments
    return wav_bytes(audio), labels


def build(settings: Settings, folder: Path, quiet: bool = False) -> None:
    """Generates the corpus into ``folder`` (which must not exist yet), atomically."""
    jobs = plan(settings)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    raw = tmp / "raw"
    raw.mkdir(parents=True)
    try:
        with click.progressbar(
            length=2 * len(jobs),
            label=f"Generating {len(jobs)} utterances with eSpeak NG",
            file=sys.stderr if not quiet else open(os.devnull, "w"),
        ) as bar:
            run_espeak(jobs, raw, progress=bar.update)
            files = {}
            for index, job in enumerate(jobs):
                wav, labels = finish(raw, job, settings, index)
                for tier, suffix in (("phones", "PHN"), ("words", "WRD")):
                    text = "".join(f"{s} {e} {label}\n" for s, e, label in labels[tier])
                    (tmp / f"{job['id']}.{suffix}").write_text(text)
                (tmp / f"{job['id']}.wav").write_bytes(wav)
                for suffix in ("wav", "PHN", "WRD"):
                    name = f"{job['id']}.{suffix}"
                    files[name] = (tmp / name).stat().st_size
                bar.update(1)
        shutil.rmtree(raw)
        manifest = {
            "settings": dataclasses.asdict(settings),
            "version": VERSION,
            "utterances": [{k: job[k] for k in ("id", "split", "text", "voice")} for job in jobs],
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_cache(folder: Path) -> dict | None:
    """The manifest of a complete cache folder, or None when it is missing or damaged."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        for name, size in manifest["files"].items():
            if (folder / name).stat().st_size != size:
                return None
        return manifest
    except (OSError, ValueError, KeyError):
        return None


def ensure(settings: Settings, quiet: bool = False) -> Path:
    """The cache folder of ``settings``, generated (or rebuilt if damaged) when needed."""
    folder = cache_root() / settings.key()
    if check_cache(folder) is None:
        if folder.exists():
            click.echo(f"Cache {folder} is incomplete or damaged: rebuilding it.", err=True)
            # Move it aside first: a rename is atomic, a removal is not.
            trash = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".old-"))
            os.rename(folder, trash / "cache")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            build(settings, folder, quiet=quiet)
        except OSError:
            if check_cache(folder) is None:
                raise
            # else another process (a second worker) built it meanwhile
    return folder


def corpus(settings: Settings, quiet: bool = False) -> dict[str, list[Utterance]]:
    """``{split: [Utterance]}`` of the generated corpus."""
    folder = ensure(settings, quiet=quiet)
    manifest = check_cache(folder)
    parts: dict[str, list[Utterance]] = {split: [] for split in SPLITS}
    for entry in manifest["utterances"]:
        audio, _ = read_wav(folder / f"{entry['id']}.wav")
        tiers = {
            "phones": read_timit(folder / f"{entry['id']}.PHN"),
            "words": read_timit(folder / f"{entry['id']}.WRD"),
        }
        parts[entry["split"]].append(
            Utterance(name=entry["id"], audio=audio, tiers=tiers, voice=entry["voice"])
        )
    return parts


def utterance(text: str, voice: str, seed: int = 0, **prosody) -> tuple[bytes, dict]:
    """One labelled utterance (WAV bytes at 16 kHz, tiers in samples), for ``synth``."""
    words = text.split()
    unknown = [w for w in words if w not in DIGITS]
    if not words or unknown:
        raise InputError(
            f"the generator speaks digit words only ({', '.join(DIGITS)}); received {text!r}"
        )
    settings = Settings(seed=seed)
    rng = np.random.default_rng(seed)
    job = {
        "id": "utterance",
        "text": " ".join(words),
        "voice": voice,
        "rate": prosody.get("rate") or int(rng.integers(*settings.rate, endpoint=True)),
        "pitch": prosody.get("pitch") or int(rng.integers(*settings.pitch, endpoint=True)),
        "range": prosody.get("range") or int(rng.integers(*settings.range, endpoint=True)),
        "gap": 0,
        "seed": seed,
    }
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run_espeak([job], Path(tmp), processes=1)
        except RuntimeError as e:
            if "no voice" in str(e):
                raise InputError(f"eSpeak NG has no voice {voice!r}") from None
            raise
        wav, labels = finish(Path(tmp), job, dataclasses.replace(settings, clean_fraction=1.0), 0)
    return wav, labels
