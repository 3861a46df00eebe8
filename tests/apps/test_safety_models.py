"""SavedModels from elsewhere are checked from ``saved_model.pb`` before anything of theirs runs.

Each model here is built to do harm when loaded or served: write a file
(``WriteFile``, ``SaveV2``, a Python function), read one (``ReadFile``) or
print (``PrintV2``), from a signature, from the init op that every loader
runs, or from a function that the signature reaches only through a
``StatefulPartitionedCall``. ``rnnkit serving check`` and the apps' verbs
must refuse each one, name the op, and leave the file system as it was.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from apps.speechtag import data as speech_data
from rnnkit.serving import allowlist, layout, ops
from rnnkit.testing import cli as rcli
from rnnkit.testing.datafiles import write_images

HARMS = ["WriteFile", "SaveV2", "ReadFile", "PrintV2", "EagerPyFunc"]
PLACES = ["signature", "init", "nested"]


def _harm(op: str, target: Path):
    """An op (or a tensor made by one) that does ``op``'s harm when run."""
    if op == "WriteFile":
        return tf.io.write_file(str(target), "planted")
    if op == "SaveV2":
        return tf.raw_ops.SaveV2(
            prefix=str(target), tensor_names=["x"], shape_and_slices=[""], tensors=[[1.0]]
        )
    if op == "ReadFile":
        return tf.io.read_file("/etc/hostname")
    if op == "PrintV2":
        return tf.print("planted")
    return tf.py_function(lambda: target.write_text("planted") and 0.0, [], tf.float32)


class _Planted(tf.saved_model.experimental.TrackableResource):
    """A resource whose initializer, part of the SavedModel's init op, does the harm."""

    def __init__(self, op, target):
        self.op, self.target = op, target
        super().__init__()

    def _create_resource(self):
        return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="planted")

    def _initialize(self):
        with tf.control_dependencies([_harm(self.op, self.target)]):
            return tf.raw_ops.AssignVariableOp(resource=self.resource_handle, value=1.0)


def build(path: Path, op: str, place: str, target: Path) -> Path:
    """A SavedModel at ``path`` that runs ``op`` from ``place``."""

    class Harmful(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(2.0)
            if place == "init":
                self.planted = _Planted(op, target)

        @tf.function
        def inner(self, x):
            with tf.control_dependencies([_harm(op, target)]):
                return x * self.w

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            if place == "nested":
                return {"y": self.inner(x)}
            if place == "signature":
                with tf.control_dependencies([_harm(op, target)]):
                    return {"y": x * self.w}
            return {"y": x * self.w}

    module = Harmful()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    layout.write_warmup(
        path / layout.WARMUP_FILE, "bad", {"serving_default": [{"x": np.ones((1, 3), "f")}]}
    )
    return path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("op", HARMS)
def test_serving_check_refuses_before_loading(tmp_path, op, place):
    target = tmp_path / "planted"
    version = build(tmp_path / "models" / "bad" / "1", op, place, target)
    before = _files(tmp_path)
    result = rcli.invoke("serving", "check", version)
    assert result.exit_code == 1, result.output
    refused = [line for line in result.output.splitlines() if f": ops: {op} in" in line]
    assert refused and all(line.startswith("FAIL") for line in refused), result.output
    refused = refused[0]
    if place == "nested":
        assert "function `__inference_inner_" in refused, refused
    if place == "init":
        assert "run by the init op" in refused, refused
    assert "not loaded: it failed the static check" in result.output
    assert "verdict: TF Serving will not serve it" in result.output
    assert _files(tmp_path) == before  # nothing written: no planted file, no checkpoint


def test_the_planted_init_op_does_write_when_loaded_unchecked(tmp_path):
    """The test models are real: ``tf.saved_model.load`` alone runs the init op's write."""
    target = tmp_path / "planted"
    version = build(tmp_path / "bad" / "1", "WriteFile", "init", target)
    assert not target.exists()
    tf.saved_model.load(str(version))
    assert target.read_text() == "planted"


def _verb(app: str, source: Path, tmp_path: Path) -> list:
    """The app's own verb on ``source``, with the input it needs."""
    if app == "textgen":
        return ["generate", source, "--length", "5"]
    if app == "forecast":
        return ["predict", source, "--out", tmp_path / "out.csv"]
    if app == "speechtag":
        wav = tmp_path / "u.wav"
        wav.write_bytes(speech_data.wav_bytes(0.3 * np.sin(np.arange(8000) / 8.0)))
        return ["tag", source, wav]
    [image] = write_images(tmp_path / "images", 1)
    return ["caption", source, tmp_path / "images" / image]


def _with_assets(version: Path, saved_model: Path) -> Path:
    """``version`` given the app's asset files, as a forged export would carry them."""
    shutil.copytree(saved_model / "assets", version / "assets", dirs_exist_ok=True)
    return version


@pytest.mark.parametrize("app", ["textgen", "forecast", "speechtag", "caption"])
def test_app_verbs_refuse_a_harmful_savedmodel_before_loading_it(app, saved_model, tmp_path):
    target = tmp_path / "planted"
    base = tmp_path / "models" / app
    _with_assets(build(base / "1", "WriteFile", "init", target), saved_model)
    args = _verb(app, base, tmp_path)
    before = _files(tmp_path)
    result = rcli.invoke(app, *args)
    rcli.usage_error(result, f"{base / '1'} was not loaded: WriteFile in function", "init op")
    assert _files(tmp_path) == before


@pytest.mark.parametrize("app", ["textgen", "caption"])
def test_app_verbs_name_an_incomplete_newest_version(app, saved_model, tmp_path):
    base = tmp_path / "models" / app
    shutil.copytree(saved_model, base / "1")
    (base / "2" / "variables").mkdir(parents=True)  # a copy cut short: no saved_model.pb
    result = rcli.invoke(app, *_verb(app, base, tmp_path))
    rcli.usage_error(result, f"{base / '2'}, the newest version of {base}, has no saved_model.pb")
    assert rcli.invoke(app, *_verb(app, base / "1", tmp_path)).exit_code == 0


@pytest.mark.parametrize("app", ["textgen", "forecast"])
def test_app_verbs_name_a_cut_savedmodel(app, saved_model, tmp_path):
    cut_pb = shutil.copytree(saved_model, tmp_path / "cut_pb")
    pb = (cut_pb / "saved_model.pb").read_bytes()
    (cut_pb / "saved_model.pb").write_bytes(pb[: len(pb) // 3])
    rcli.usage_error(rcli.invoke(app, *_verb(app, cut_pb, tmp_path)), "cut short?")

    no_vars = shutil.copytree(saved_model, tmp_path / "no_vars")
    shutil.rmtree(no_vars / "variables")
    rcli.usage_error(
        rcli.invoke(app, *_verb(app, no_vars, tmp_path)), "incomplete SavedModel", "variables"
    )

    cut_data = shutil.copytree(saved_model, tmp_path / "cut_data")
    [data_file] = (cut_data / "variables").glob("variables.data-*")
    data_file.write_bytes(data_file.read_bytes()[:100])
    rcli.usage_error(
        rcli.invoke(app, *_verb(app, cut_data, tmp_path)), "cannot load the SavedModel"
    )


def test_the_allowlist_is_derived_and_leaves_out_what_touches_the_world():
    assert ops.ALLOWED_FILE.read_text() == allowlist.render(allowlist.derive())
    allowed = ops.allowed_ops()
    for op in ("ReadFile", "WriteFile", "SaveV2", "RestoreV2", "MergeV2Checkpoints", "PrintV2"):
        assert op not in allowed
    for op in ("PyFunc", "EagerPyFunc", "RemoteCall", "Abort", "InitializeTableFromTextFileV2"):
        assert op not in allowed
    for op in ("FIFOQueueV2", "WriteScalarSummary", "DebugIdentityV2", "MatchingFiles"):
        assert op not in allowed
    # What rnnkit's exports run is in it (each app's export passes `serving check`
    # in test_every_app); a few of those, named:
    assert {"BlockLSTMV2", "DecodeImage", "DecodeWav", "StatelessWhile", "UnicodeDecode"} <= allowed


def test_an_asset_name_that_leads_outside_is_refused(tmp_path):
    version = build(tmp_path / "m" / "1", "ReadFile", "signature", tmp_path / "unused")
    proto = ops.read_saved_model(version / "saved_model.pb")
    proto.meta_graphs[0].asset_file_def.add(filename="../../etc/passwd").tensor_info.name = "a:0"
    assert ops.asset_problems(proto.meta_graphs[0], version) == [
        f"asset `a:0`: '../../etc/passwd' leads outside {version / 'assets'}"
    ]


@pytest.mark.parametrize("app", ["forecast"])
def test_the_loading_child_has_a_time_and_a_memory_limit(app, saved_model, monkeypatch):
    from rnnkit.serving import check

    [passed] = [c for c in check.check_version(saved_model) if c.check == "loads"]
    assert passed.ok, passed.line()  # the same version loads within the limits
    monkeypatch.setattr(check, "TIME_LIMIT_S", 0.5)
    [late] = [c for c in check.check_version(saved_model) if c.check == "loads"]
    assert (late.ok, late.detail) == (False, "loading and replaying took over 0.5 s; stopped")
    monkeypatch.setattr(check, "TIME_LIMIT_S", 300)
    monkeypatch.setattr(check, "MEMORY_LIMIT_GIB", 1)
    [big] = [c for c in check.check_version(saved_model) if c.check == "loads"]
    assert big.ok is False and "(memory limit 1 GiB)" in big.detail, big.line()


@pytest.mark.parametrize("app", ["forecast"])
def test_cut_warmup_records_are_one_line(app, saved_model, tmp_path):
    base = tmp_path / "saved"
    version = shutil.copytree(saved_model, base / "forecast" / "1")
    records = version / layout.WARMUP_FILE
    records.write_bytes(records.read_bytes()[:50])
    result = rcli.invoke("serving", "request", "forecast", "--saved-models", base)
    rcli.usage_error(result, f"{records} holds damaged warmup records")
    result = rcli.invoke("serving", "check", version)
    assert result.exit_code == 1 and "warmup: unreadable records" in result.output
