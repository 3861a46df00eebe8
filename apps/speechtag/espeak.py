"""The eSpeak NG synthesizer, as a program of its own: jobs in, WAV and label files out.

eSpeak NG is GPL-3, so rnnkit never loads it: ``apps.speechtag.synth`` runs
this module in a child process (``python -m apps.speechtag.espeak JOBS OUT``)
and reads only the files it writes. For every job
``{"id", "text", "voice", "rate", "pitch", "range", "gap", "seed"}`` of the JSON
file JOBS it writes, into the folder OUT:

- ``ID.wav``: the utterance as eSpeak makes it (mono, 16-bit, 22050 Hz);
- ``ID.PHN`` and ``ID.WRD``: TIMIT-style label files (``start end label``,
  in samples of that WAV) from eSpeak's phoneme and word events, with
  eSpeak's own phoneme mnemonics (stress marks and pauses as it gives them);
  a word runs from its first phoneme to the end of its last one.

eSpeak seeds its noise generators from the clock; each job's ``seed``
reseeds them, so the same jobs give the same bytes.

A job with ``"mix": SEED`` speaks with a variant made for it
(``voicebank.mixed_variant`` over the training variants' files), its
voice ``ACCENT+mix-SEED``: eSpeak reads variants from its data
folder only, so this process runs eSpeak on a private copy of that folder
(links to every file), removed at the end, and writes each mixed variant
there just before its utterance.

It prints ``done N`` after every utterance, for the parent's progress bar.
Needs the ``espeakng-loader`` wheel (``pip install rnnkit[speech]``).
"""

import ctypes
import json
import shutil
import sys
import tempfile
import wave
from pathlib import Path

from apps.speechtag.data import is_espeak_pause
from apps.speechtag.voicebank import MIX_PREFIX, mixed_variant, training_variants

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_PHONEME = 0, 1, 7
POS_CHARACTER, CHARS_UTF8 = 1, 1
RATE, PITCH, RANGE, WORDGAP = 1, 3, 4, 7


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    # espeak_EVENT in speak_lib.h.
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _Id),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class Synthesizer:
    def __init__(self, data_path: str | None = None):
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.sample_rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            (data_path or espeakng_loader.get_data_path()).encode(),
            INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT,
        )
        if self.sample_rate <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self.libc = ctypes.CDLL(None)
        self._audio: list[bytes] = []
        self._events: list[tuple] = []
        self._callback = _CALLBACK(self._on_audio)  # kept alive for the library
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav, n, events):
        if n > 0:
            self._audio.append(ctypes.string_at(wav, 2 * n))
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type == EVENT_PHONEME:
                self._events.append(("phone", e.sample, e.id.string.decode("utf-8", "replace")))
            elif e.type == EVENT_WORD:
                self._events.append(("word", e.sample, e.text_position, e.length))
            i += 1
        return 0

    def synthesize(self, text, voice, rate=175, pitch=50, range_=50, gap=0, seed=0):
        """``(int16 PCM bytes, phones, words)``; labels as ``(start, end, label)`` in samples."""
        self.lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
        self.libc.srand(ctypes.c_uint(seed))  # older code paths of eSpeak call rand()
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak has no voice {voice!r}")
        for parameter, value in ((RATE, rate), (PITCH, pitch), (RANGE, range_), (WORDGAP, gap)):
            self.lib.espeak_SetParameter(parameter, int(value), 0)
        self._audio, self._events = [], []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        pcm = b"".join(self._audio)
        total = len(pcm) // 2
        marks = [e for e in self._events if e[0] == "phone"]
        phones = []
        for k, (_, start, name) in enumerate(marks):
            end = marks[k + 1][1] if k + 1 < len(marks) else total
            if end > start:
                phones.append((start, min(end, total), name))
        words = []
        starts = [e for e in self._events if e[0] == "word"]
        for k, (_, start, position, length) in enumerate(starts):
            stop = starts[k + 1][1] if k + 1 < len(starts) else total
            own = [p for p in phones if start <= p[0] < stop and not is_espeak_pause(p[2])]
            if own:
                label = data[position - 1 : position - 1 + length].decode("utf-8", "replace")
                words.append((own[0][0], own[-1][1], label))
        return pcm, phones, words


def write_labels(path: Path, segments) -> None:
    path.write_text("".join(f"{s} {e} {label}\n" for s, e, label in segments))


def private_data() -> Path:
    """A private copy of eSpeak's data folder: links to every file, and a variants folder
    of its own for the mixed variants (eSpeak lists at most 349 voices, so each is
    written just before its utterance and removed after it)."""
    import espeakng_loader

    source = Path(espeakng_loader.get_data_path())
    root = Path(tempfile.mkdtemp(prefix="rnnkit-espeak-"))
    (root / "voices" / "!v").mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name != "voices":
            (root / entry.name).symlink_to(entry)
    for entry in (source / "voices").iterdir():
        if entry.name != "!v":
            (root / "voices" / entry.name).symlink_to(entry)
    for entry in (source / "voices" / "!v").iterdir():
        (root / "voices" / "!v" / entry.name).symlink_to(entry)
    return root


def donors() -> dict[str, str]:
    """The training variants' files (name -> text): what mixed variants are made of."""
    import espeakng_loader

    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return {name: (folder / name).read_text(errors="replace") for name in training_variants()}


def main(jobs_file: str, out: str) -> None:
    jobs = json.loads(Path(jobs_file).read_text())
    data = private_data() if any(job.get("mix") is not None for job in jobs) else None
    try:
        run_jobs(Synthesizer(str(data) if data else None), jobs, Path(out), data)
    finally:
        if data is not None:
            shutil.rmtree(data, ignore_errors=True)


def run_jobs(
    synthesizer: Synthesizer, jobs: list[dict], out_dir: Path, data: Path | None = None
) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    made_of = donors() if data is not None else {}
    for n, job in enumerate(jobs, 1):
        variant = None
        if job.get("mix") is not None:
            name = f"{MIX_PREFIX}{job['mix']}"
            variant = data / "voices" / "!v" / name
            variant.write_text(mixed_variant(name, made_of, job["mix"]))
        try:
            pcm, phones, words = synthesizer.synthesize(
                job["text"],
                job["voice"],
                job["rate"],
                job["pitch"],
                job["range"],
                job["gap"],
                job.get("seed", 0),
            )
        finally:
            if variant is not None:
                variant.unlink()
        with wave.open(str(out_dir / f"{job['id']}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(synthesizer.sample_rate)
            w.writeframes(pcm)
        write_labels(out_dir / f"{job['id']}.PHN", phones)
        write_labels(out_dir / f"{job['id']}.WRD", words)
        print(f"done {n}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m apps.speechtag.espeak JOBS.json OUT_DIR")
    main(sys.argv[1], sys.argv[2])
