"""speechtag's generated corpus: eSpeak NG labels, the cache, seeds."""

import json

import numpy as np
import pytest

from apps.speechtag import data, synth, voicebank

TINY_CORPUS = synth.Settings(train=6, validation=2, test=2, families=2, max_words=3)


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
    assert set(splits) == set(voicebank.SPLITS)
    assert not (splits["train"] & (splits["validation"] | splits["test"]))
    assert all(
        v.startswith("en-us-nyc") or v.split("+")[-1] in voicebank.TEST_VARIANTS
        for v in splits["test"]
    )
    for family, members in voicebank.FAMILIES.items():  # each held out whole, used only there
        assert all(v.split("+")[-1] in members for v in splits[family])
        for split in ("train", "validation", "test"):
            assert not any(v.split("+")[-1] in members for v in voicebank.voices(split))
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


def _espeak_variant(name: str) -> dict[str, list[str]]:
    """A variant file of eSpeak NG's data: its keywords and their arguments."""
    espeakng_loader = pytest.importorskip("espeakng_loader")
    from pathlib import Path

    path = Path(espeakng_loader.get_data_path()) / "voices" / "!v" / name
    found = voicebank.variant_settings(path.read_text(errors="replace"))
    return {key: line.lower().split()[1:] for key, line in found.items()}


def test_more_training_voices_stay_outside_the_families():
    for variant in voicebank.TRAIN_ONLY_VARIANTS:
        fields = _espeak_variant(variant)
        assert "klatt" not in fields, variant  # eSpeak's Klatt synthesizer: held out
        assert fields.get("gender", [])[:1] != ["female"], variant
        assert int(fields.get("pitch", ["82"])[0]) < 140, variant  # a male base pitch
        assert variant not in voicebank.VARIANTS
        assert all(variant not in members for members in voicebank.FAMILIES.values())
    # The check reads what it should: a family member fails it.
    assert "klatt" in _espeak_variant("klatt3")
    assert _espeak_variant("f2")["gender"][0] == "female"


def test_training_only_voices_change_no_other_split():
    train = voicebank.voices("train")
    for variant in voicebank.TRAIN_ONLY_VARIANTS:
        heard = [v for v in train if v.endswith(f"+{variant}")]
        assert len(heard) == len(voicebank.ACCENTS) - len(voicebank.TEST_ACCENTS)
        for split in voicebank.SPLITS[1:]:
            assert not [v for v in voicebank.voices(split) if v.endswith(f"+{variant}")]


def test_mixed_voices_change_only_the_training_voices():
    mixed = synth.Settings(**{**TINY_CORPUS.__dict__, "train": 40, "mixed": 0.5})
    plain = synth.Settings(**{**mixed.__dict__, "mixed": 0.0})
    assert plain.key() == synth.Settings(**{**plain.__dict__}).key() != mixed.key()
    with_mix, without = synth.plan(mixed), synth.plan(plain)
    changed = [a for a, b in zip(with_mix, without, strict=True) if a != b]
    assert 10 <= len(changed) <= 30 and all(job["split"] == "train" for job in changed)
    for job, before in zip(with_mix, without, strict=True):
        if job in changed:  # the same accent, text and prosody; a voice made for it
            assert job["voice"] == f"{before['voice'].split('+')[0]}+mix-{job['mix']}"
            assert {k: v for k, v in job.items() if k not in ("voice", "mix")} == {
                k: v for k, v in before.items() if k != "voice"
            }


def test_a_mixed_variant_is_made_of_the_donors_settings():
    donors = {
        "a": "language variant\nname a\ngender male\nformant 1 90 100 80\npitch 80 120\n",
        "b": "language variant\nname b\n// a comment\nformant 1 110 70 60\nklatt 0x\ntone 1 2\n",
    }
    made = {seed: voicebank.mixed_variant("m", donors, seed) for seed in range(20)}
    assert made[3] == voicebank.mixed_variant("m", donors, 3)  # the seed decides
    assert len(set(made.values())) > 4
    allowed = set().union(*(voicebank.variant_settings(t).values() for t in donors.values()))
    for text in made.values():
        lines = text.splitlines()
        assert lines[:2] == ["language variant", "name m"]
        assert set(lines[2:]) <= allowed and "gender male" not in lines
        assert len([x for x in lines if x.startswith("formant 1")]) <= 1
    # A line whose keyword is not a word (klatt 0x is one, and is taken as such).
    assert voicebank.variant_settings("klatt 1\n2x 3\n") == {"klatt": "klatt 1"}


def test_mixed_voices_are_synthesized_from_a_private_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    jobs = [j for j in synth.plan(synth.Settings(train=8, mixed=1.0)) if "mix" in j][:2]
    assert len(f"{voicebank.MIX_PREFIX}{2**31}") <= 20  # longer, and eSpeak aborts
    synth.run_espeak(jobs, tmp_path, processes=1)
    for job in jobs:
        audio, _ = data.read_wav(tmp_path / f"{job['id']}.wav")
        assert len(audio) > 2000 and np.abs(audio).max() > 0.05
        assert (tmp_path / f"{job['id']}.WRD").read_text().split()[2] == job["text"].split()[0]
    assert not list((tmp_path / "tmp").iterdir())  # the private folder is gone


def test_the_mixed_voices_setting_reaches_the_corpus():
    from apps.speechtag import config, train

    settings = train.corpus_settings(config.DataConfig(mixed_voices=0.3))
    assert settings.mixed == 0.3
    assert train.corpus_settings(config.DataConfig(mixed_voices=0)).key() == synth.Settings().key()
