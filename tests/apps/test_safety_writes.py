"""Writes cannot be redirected: no predictable temporary name, no stray models, no endless export.

Each case plants what an attacker (or an unlucky folder) would, runs the
real command or function, and checks the file system after.
"""

import os
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

from apps.speechtag import baseline, data
from rnnkit import export, recovery
from rnnkit.files import atomic_path, write_text
from rnnkit.serving import layout
from rnnkit.testing import cli as rcli


def _victim(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    return victim


def _plant(link, victim):
    """A symlink where an older rnnkit wrote its temporary file."""
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim)


def test_atomic_writes_never_follow_a_planted_name(tmp_path):
    victim = _victim(tmp_path)
    target = tmp_path / "out" / "file.txt"
    for name in (".file.txt.tmp", ".file.txt.", ".file.txt.tmp.weights.h5"):
        _plant(target.with_name(name), victim)
    write_text(target, "new")
    assert target.read_text() == "new" and victim.read_text() == "precious"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "new"  # the old file stays, the temporary one is gone
    assert sorted(p.name for p in target.parent.iterdir() if not p.is_symlink()) == ["file.txt"]


@pytest.mark.parametrize("app", ["speechtag"])
def test_textgrids_are_not_written_through_a_planted_symlink(run_dir, tmp_path):
    victim = _victim(tmp_path)
    wav = tmp_path / "u.wav"
    wav.write_bytes(data.wav_bytes(0.3 * np.sin(np.arange(8000) / 8.0)))
    grids = tmp_path / "grids"
    _plant(grids / ".u.TextGrid.tmp", victim)
    result = rcli.invoke("speechtag", "tag", run_dir, wav, "--textgrid", grids)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert "IntervalTier" in (grids / "u.TextGrid").read_text()


def test_trimmed_event_files_are_not_written_through_a_planted_symlink(tmp_path):
    victim = _victim(tmp_path)
    folder = tmp_path / "tb" / "train"
    with tf.summary.create_file_writer(str(folder)).as_default():
        for step in range(4):
            tf.summary.scalar("loss", float(step), step=step)
    _plant(folder / f".rnnkit-trim-{os.getpid()}", victim)
    dropped = recovery.trim_events(tmp_path / "tb", lambda path, event: event.step < 2)
    assert dropped == 2 and victim.read_text() == "precious"


def test_the_baseline_weights_are_not_written_through_a_planted_symlink(tmp_path, monkeypatch):
    victim = _victim(tmp_path)
    path = tmp_path / "run" / "baseline_mlp.weights.h5"
    _plant(path.with_name(".baseline_mlp.weights.tmp.weights.h5"), victim)
    # The real save and load; a model built instead of trained keeps it quick.
    built = lambda batches, n_mels, n_phones, n_words, seed=0: baseline.build_mlp(
        (2 * baseline.CONTEXT + 1) * n_mels, n_phones, n_words
    )
    monkeypatch.setattr(baseline, "train_mlp", built)
    model = baseline.load_or_train_mlp(path, lambda: [], 8, 3, 2)
    assert victim.read_text() == "precious" and path.is_file()
    again = baseline.load_or_train_mlp(path, lambda: [], 8, 3, 2)
    for a, b in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


class Doubler(export.ServingModule):
    def __init__(self):
        super().__init__(model=keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]))

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
    def serve(self, x):
        return {"y": self.models["model"](x)}


def _export(base):
    module = Doubler()
    warmup = {"serving_default": [{"x": np.ones([1, 2], np.float32)}]}
    return export.export(module, {"serving_default": module.serve}, base, "doubler", warmup)


def test_models_config_lists_only_folders_of_rnnkit_exports(tmp_path):
    base = tmp_path / "shared"
    (base / "photos" / "2019").mkdir(parents=True)  # someone's photos beside the exports
    (base / "copied" / "1" / "variables").mkdir(parents=True)
    (base / "copied" / "1" / "saved_model.pb").write_bytes(b"")  # not exported by rnnkit
    version = _export(base)
    assert layout.is_rnnkit_version(version)
    config = (base / "models.config").read_text()
    assert "doubler" in config and "photos" not in config and "copied" not in config


def _hang(signum, frame):
    raise TimeoutError("export did not end")


def test_export_ends_with_an_error_when_a_file_holds_the_next_version(tmp_path):
    base = tmp_path / "saved_models"
    _export(base)
    (base / "doubler" / "2").write_text("not a folder")
    before = signal.signal(signal.SIGALRM, _hang)  # an endless loop fails instead of hanging
    signal.alarm(120)
    try:
        with pytest.raises(export.ExportError, match="doubler/2 is a file, not a version"):
            _export(base)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    assert layout.versions(base / "doubler") == [1]
    assert not [p for p in (base / "doubler").iterdir() if p.name.startswith(".tmp-")]
