"""The checks every app passes alike, on its shared tiny run and export."""

import json

import numpy as np
import pytest
import tensorflow as tf

from rnnkit import configs
from rnnkit.cli import APPS
from rnnkit.serving import layout
from rnnkit.serving.check import check_version
from rnnkit.testing import snapshot

pytestmark = pytest.mark.parametrize("app", sorted(APPS))


def _app(app):
    import importlib

    return importlib.import_module(f"apps.{app}.cli").APP


def test_train_writes_a_complete_run(app, run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert configs.config_from_dict(_app(app).config_class, config) == _app(app).presets["tiny"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert metrics["best"] in metrics["history"]
    assert tf.train.latest_checkpoint(str(run_dir / "ckpt" / "best"))
    for name in ("train", "validation"):
        assert list((run_dir / "tb" / name).glob("events.out.tfevents.*")), name


def test_export_keeps_the_signatures_of_the_snapshot(app, saved_model):
    snapshot.assert_signatures(app, saved_model)


def test_warmup_records_replay_in_both_loaders(app, saved_model):
    expected = json.loads((snapshot.SNAPSHOTS / "signatures.json").read_text())[app]
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert records and {name for name, _ in records} <= set(expected)
    loaded = tf.saved_model.load(str(saved_model))
    for (name, _), outputs in zip(
        records, layout.replay_warmup(loaded, saved_model / layout.WARMUP_FILE)
    ):
        assert set(outputs) == set(expected[name]["outputs"]), name
        for key, value in outputs.items():
            assert value.dtype.kind != "f" or np.isfinite(value).all(), (name, key)
    # TF Serving's session loader, its ops, the signatures, the records again.
    failed = [c.line() for c in check_version(saved_model, app) if c.ok is False]
    assert failed == []


# The metrics two replicas must reproduce (the same global batches): the
# losses and what each app validates with.
MIRRORED = {
    "textgen": ("val_bits_per_char",),
    "forecast": ("val_mase", "val_raw_coverage"),
    "speechtag": ("val_phone_accuracy",),
    "caption": (),
    "translate": (),
    "classify": ("val_accuracy", "val_temperature"),
}


def test_mirrored_on_two_cpus_matches_one_replica(app, tiny_runs, run_dir):
    one, two = (
        json.loads((p / "metrics.json").read_text()) for p in (run_dir, tiny_runs.mirrored(app))
    )
    for a, b in zip(one["history"], two["history"], strict=True):
        for key in ("loss", "val_loss", *MIRRORED[app]):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key
