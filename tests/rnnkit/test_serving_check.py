"""`rnnkit serving check`: what TF Serving would refuse, found before a server sees it."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from google.protobuf import text_format

from rnnkit import export
from rnnkit.kernels import native
from rnnkit.serving import check, layout
from rnnkit.serving.batching import batching_parameters_class
from rnnkit.serving.cli import group

H = 3


class Scale(tf.Module):
    """A model with one variable and a string signature, as the apps have."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable([[2.0, -1.0, 0.5]], name="w")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        return {"y": x * self.w}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def length(self, text):
        return {"chars": tf.strings.length(text, unit="UTF8_CHAR")}


GOOD_WARMUP = {
    "serving_default": [{"x": np.ones((2, 3), "float32")}],
    "length": [{"text": np.array(["héllo"])}],
}


def _export(base, module=None, signatures=None, warmup=None, app="model"):
    module = module or Scale()
    signatures = signatures or {"serving_default": module.serve, "length": module.length}
    return export.export(module, signatures, base, app, warmup or GOOD_WARMUP)


def _save_unchecked(base, module, signatures, warmup, app="bad"):
    """A version written as a careless exporter would: no checks."""
    path = base / app / "1"
    tf.saved_model.save(module, str(path), signatures=signatures)
    layout.write_warmup(path / layout.WARMUP_FILE, app, warmup)
    layout.write_marker(path, app)
    layout.write_models_config(base)
    return path


def _failures(base):
    return [c for c in check.check_models_config(base) if c.ok is False]


def _cli(*args):
    return CliRunner().invoke(group, ["check", *map(str, args)])


def test_a_good_export_passes_every_check(tmp_path):
    base = tmp_path / "saved_models"
    _export(base)
    (base / "model" / ".tmp-abandoned").mkdir()  # an export that died: not an integer
    checks = check.check_models_config(base)
    assert check.passed(checks), [c.line() for c in checks]
    kinds = {(c.subject, c.check) for c in checks if c.ok}
    assert {("model/1", k) for k in ("ops", "loads", "signatures", "warmup")} <= kinds
    note = [c for c in checks if c.check == "other folders"]
    assert note and ".tmp-abandoned" in note[0].detail and note[0].ok is None

    result = _cli(base)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "verdict: TF Serving will serve it"
    document = json.loads(_cli(base, "--json").output)
    assert document["ok"] is True
    assert {
        "subject": "model/1",
        "check": "warmup",
        "ok": True,
        "detail": "2 records replayed",
    } in (document["checks"])


def test_only_the_served_versions_load_and_every_integer_folder_must_be_complete(tmp_path):
    base = tmp_path / "saved_models"
    _export(base)
    _export(base)
    (base / "model" / "3").mkdir()  # a half-copied version: the server would pick it
    failed = _failures(base)
    assert [(c.subject, c.check, c.detail) for c in failed] == [
        ("model/3", "complete", "missing saved_model.pb, variables")
    ]
    shutil.rmtree(base / "model" / "3")
    checks = check.check_models_config(base)
    assert check.passed(checks)
    assert {c.subject for c in checks if c.check == "loads"} == {"model/2"}  # latest only


def test_a_missing_variables_folder_fails(tmp_path):
    base = tmp_path / "saved_models"
    path = _export(base)
    shutil.rmtree(path / "variables")
    assert [(c.subject, c.detail) for c in _failures(base)] == [("model/1", "missing variables")]
    result = _cli(base)
    assert result.exit_code == 1
    assert "FAIL  model/1: complete: missing variables" in result.output
    assert result.output.splitlines()[-1].startswith("verdict: TF Serving will not serve it")


def test_a_broken_models_config_fails(tmp_path):
    base = tmp_path / "saved_models"
    _export(base)
    (base / "models.config").write_text("model_config_list { config { name: 'model' ")
    [failed] = _failures(base)
    assert (failed.subject, failed.check) == ("models.config", "parses")
    assert "not a ModelServerConfig" in failed.detail
    (base / "models.config").write_text(
        "model_config_list { config { name: 'model' base_path: '/nowhere/else' }"
        " config { name: 'gone' base_path: '/nowhere/at/all' } }"
    )
    checks = check.check_models_config(base)
    # A base_path of the server's machine: the folder of that name here is checked instead.
    assert any(
        c.subject == "model" and c.ok is None and "/nowhere/else" in c.detail for c in checks
    )
    assert [(c.subject, c.check) for c in checks if c.ok is False] == [("gone", "base_path")]


def test_more_than_1000_warmup_records_fail(tmp_path):
    base = tmp_path / "saved_models"
    path = _export(base)
    warmup = path / layout.WARMUP_FILE
    record = next(iter(tf.data.TFRecordDataset(str(warmup)))).numpy()
    with tf.io.TFRecordWriter(str(warmup)) as writer:
        for _ in range(layout.MAX_WARMUP_RECORDS + 1):
            writer.write(record)
    [failed] = _failures(base)
    assert failed.check == "warmup"
    assert failed.detail == "1001 records; TF Serving reads at most 1000"


def test_a_scalar_input_fails(tmp_path):
    class Temperature(Scale):
        @tf.function(
            input_signature=[
                tf.TensorSpec([None, 3], tf.float32, name="x"),
                tf.TensorSpec([], tf.float32, name="temperature"),
            ]
        )
        def serve(self, x, temperature):
            return {"y": x * self.w / temperature}

    module = Temperature()
    base = tmp_path / "saved_models"
    warmup = {"serving_default": [{"x": np.ones((1, 3), "float32"), "temperature": 0.5}]}
    with pytest.raises(export.ExportError, match="input `temperature` is a scalar"):
        _export(base, module, {"serving_default": module.serve}, warmup)
    assert layout.versions(base / "model") == []

    _save_unchecked(base, module, {"serving_default": module.serve}, warmup)
    [failed] = _failures(base)
    assert failed.detail == "serving_default: input `temperature` is a scalar, not batch-major"


@pytest.mark.parametrize(
    "body, op",
    [
        (lambda x: tf.py_function(lambda v: v * 2, [x], tf.float32), "EagerPyFunc"),
        (lambda x: (tf.print(x), x)[1], "PrintV2"),
        (lambda x: x + tf.strings.to_number(tf.io.read_file("/etc/hostname")), "ReadFile"),
    ],
    ids=["py_function", "print", "read_file"],
)
def test_ops_a_server_should_not_run_fail_the_export(tmp_path, body, op):
    class Leaky(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            y = body(x)
            y.set_shape([None, 3])
            return {"y": y}

    module = Leaky()
    warmup = {"serving_default": [{"x": np.ones((1, 3), "float32")}]}
    with pytest.raises(export.ExportError, match=f"ops: {op} in function"):
        export.export(module, {"serving_default": module.serve}, tmp_path, "leaky", warmup)
    assert layout.versions(tmp_path / "leaky") == []


def test_jit_compiled_functions_fail(tmp_path):
    class Compiled(Scale):
        @tf.function(
            input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")], jit_compile=True
        )
        def serve(self, x):
            return {"y": x * self.w}

    module = Compiled()
    base = tmp_path / "saved_models"
    _save_unchecked(base, module, {"serving_default": module.serve}, GOOD_WARMUP)
    failed = _failures(base)
    assert any("_XlaMustCompile" in c.detail for c in failed), [c.line() for c in failed]


def test_a_native_op_left_in_the_graph_fails(tmp_path):
    assert native.ops() is not None, "the native kernels are built by `make venv`"

    class Native(tf.Module):
        def __init__(self):
            super().__init__()
            self.u = tf.Variable(tf.zeros([H, 4 * H]), name="u")

        @tf.function(input_signature=[tf.TensorSpec([None, None, 4 * H], tf.float32, name="xp")])
        def serve(self, xp):
            h0 = tf.zeros([tf.shape(xp)[0], H])
            empty = tf.zeros([0])
            hs, _, _ = native.ops().rnnkit_lstm_forward(
                tf.transpose(xp, [1, 0, 2]), h0, h0, self.u, empty, empty
            )
            return {"hs": tf.transpose(hs, [1, 0, 2])}

    module = Native()
    warmup = {"serving_default": [{"xp": np.ones((2, 5, 4 * H), "float32")}]}
    with pytest.raises(
        export.ExportError, match="RnnkitLstmForward in function .*: an rnnkit native kernel"
    ):
        export.export(module, {"serving_default": module.serve}, tmp_path / "x", "native", warmup)

    base = tmp_path / "saved_models"
    _save_unchecked(base, module, {"serving_default": module.serve}, warmup)
    failed = _failures(base)
    assert failed[0].detail.startswith("RnnkitLstmForward in function `__inference_serve")
    assert failed[0].detail.endswith(
        "an rnnkit native kernel: a stock server does not have the library"
    )
    result = _cli(base)
    assert result.exit_code == 1 and "FAIL  bad/1: ops: RnnkitLstmForward" in result.output


def test_bad_arguments_are_usage_errors(tmp_path):
    result = _cli(tmp_path / "nowhere")
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "empty").mkdir()
    result = _cli(tmp_path / "empty")
    assert result.exit_code == 1 and "FAIL  models.config: exists" in result.output


def test_the_batching_config_is_written_once_and_checked(tmp_path):
    base = tmp_path / "saved_models"
    _export(base)
    batching = base / layout.BATCHING_FILE
    assert batching.read_text() == layout.BATCHING_CONFIG
    params = batching_parameters_class()()
    text_format.Parse(batching.read_text(), params)
    assert params.max_batch_size.value == 32 and params.pad_variable_length_inputs
    batching.write_text("max_batch_size { value: 8 }\nallowed_batch_sizes: [2, 4]\n")
    _export(base)  # a user's own settings stay
    [failed] = _failures(base)
    assert (failed.subject, failed.detail) == (
        "batching.config",
        "allowed_batch_sizes must increase and end at max_batch_size",
    )
    batching.write_text("max_batch_size: 8")
    assert "not a BatchingParameters" in _failures(base)[0].detail
