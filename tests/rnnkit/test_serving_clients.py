"""TF Serving's REST JSON mapping, and rnnkit's REST and gRPC clients over loopback.

The server in these tests is `tests/serving_standin.py`, a stand-in for TF
Serving that answers its documented routes by calling the SavedModel.
"""

import json
import socket

import numpy as np
import pytest
import tensorflow as tf

from rnnkit import export
from rnnkit.serving import client, rest

# -- the JSON mapping, against the examples of TF Serving's api_rest.md -------------------------

DOC_ROWS = {
    "instances": [
        {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
        {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]},
    ]
}
DOC_COLUMNS = {
    "inputs": {
        "tag": ["foo", "bar"],
        "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
        "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]],
    }
}
DOC_TYPES = {"tag": object, "signal": np.int64, "sensor": np.int64}
DOC_ARRAYS = {
    "tag": np.array([b"foo", b"bar"], dtype=object),
    "signal": np.array([[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]]),
    "sensor": np.array([[[1, 2], [3, 4]], [[4, 5], [6, 8]]]),
}


def _same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for k in a:
        assert np.asarray(a[k]).shape == np.asarray(b[k]).shape, k
        assert np.asarray(a[k]).tolist() == np.asarray(b[k]).tolist(), k


def test_row_and_columnar_requests_match_the_documented_examples():
    assert rest.row_request(DOC_ARRAYS) == DOC_ROWS
    assert rest.columnar_request(DOC_ARRAYS) == DOC_COLUMNS
    for body, row in ((DOC_ROWS, True), (DOC_COLUMNS, False)):
        inputs, is_row = rest.parse_request(json.loads(json.dumps(body)), DOC_TYPES)
        assert is_row is row
        _same(inputs, DOC_ARRAYS)
        assert inputs["signal"].dtype == np.int64 and inputs["tag"].dtype == object
    signed = rest.row_request({"x": np.ones((1, 2), "float32")}, "length")
    assert signed == {"signature_name": "length", "instances": [{"x": [1.0, 1.0]}]}


def test_single_input_bodies_name_no_input():
    inputs, _ = rest.parse_request({"instances": ["foo", "bar", "baz"]}, {"text": object})
    assert inputs["text"].tolist() == [b"foo", b"bar", b"baz"]
    inputs, _ = rest.parse_request({"instances": [[[1, 2]], [[3, 4]]]}, {"x": np.float32})
    assert inputs["x"].shape == (2, 1, 2) and inputs["x"].dtype == np.float32
    inputs, row = rest.parse_request({"inputs": [1.0, 2.0, 5.0]}, {"x": np.float32})
    assert not row and inputs["x"].tolist() == [1.0, 2.0, 5.0]


def test_binary_values_are_b64_objects():
    # api_rest.md's example: {"image": {"b64": "aW1hZ2UgYnl0ZXM="}, "caption": "seaside"}
    body = {
        "instances": [
            {"image": {"b64": "aW1hZ2UgYnl0ZXM="}, "caption": "seaside"},
            {"image": {"b64": "YXdlc29tZSBpbWFnZSBieXRlcw=="}, "caption": "mountains"},
        ]
    }
    inputs, _ = rest.parse_request(body, {"image": object, "caption": object})
    assert inputs["image"].tolist() == [b"image bytes", b"awesome image bytes"]
    assert inputs["caption"].tolist() == [b"seaside", b"mountains"]
    # The client writes bytes that are not UTF-8 as b64, and text as text.
    png = b"\x89PNG\r\n\x1a\n"
    request = rest.row_request({"image": np.array([png], object), "text": np.array(["é"])})
    assert request["instances"][0] == {"image": {"b64": "iVBORw0KGgo="}, "text": "é"}
    # Outputs whose name ends in _bytes are always b64; other strings are text.
    reply = rest.reply({"thumb_bytes": np.array([b"ab"], object), "label": np.array([b"a"])}, True)
    assert reply == {"predictions": [{"thumb_bytes": {"b64": "YWI="}, "label": "a"}]}


def test_replies_in_both_formats():
    # half_plus_three's documented reply: one output, so no names.
    out = rest.parse_reply({"predictions": [3.5, 4.0, 5.5]}, {"y": np.float32})
    assert out["y"].dtype == np.float32 and out["y"].tolist() == [3.5, 4.0, 5.5]
    outputs = {"mean": np.array([[1.5], [2.0]], "float32"), "text": np.array([b"a", b"b"])}
    types = {"mean": np.float32, "text": object}
    for row in (True, False):
        document = json.loads(json.dumps(rest.reply(outputs, row)))
        assert ("predictions" in document) is row
        _same(rest.parse_reply(document, types), outputs)
    # NaN and Infinity are allowed (json reads them)
    document = json.loads('{"outputs": [NaN, Infinity, -Infinity]}')
    assert np.isnan(rest.parse_reply(document, {"y": np.float32})["y"][0])


def test_malformed_bodies_are_refused():
    with pytest.raises(rest.MappingError, match="exactly one of"):
        rest.parse_request({**DOC_ROWS, **DOC_COLUMNS}, DOC_TYPES)
    with pytest.raises(rest.MappingError, match="ragged"):
        rest.parse_request({"inputs": {"signal": [[1, 2], [3]]}}, DOC_TYPES)
    with pytest.raises(rest.MappingError, match="one batch size"):
        rest.row_request({"a": np.ones((2, 3)), "b": np.ones((3,))})
    with pytest.raises(rest.MappingError, match="one batch size"):
        rest.row_request({"a": np.ones((2, 3)), "t": np.float32(0.5)})


# -- the clients, end to end ----------------------------------------------------------------


class Model(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable([[2.0, -1.0, 0.5]], name="w")

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        return {"y": x * self.w, "total": tf.reduce_sum(x * self.w, -1)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image")])
    def sizes(self, image):
        return {"bytes": tf.strings.length(image), "head_bytes": tf.strings.substr(image, 0, 2)}


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    base = tmp_path_factory.mktemp("serving") / "saved_models"
    for _ in range(2):  # versions 1 and 2: the server loads the latest
        module = Model()
        export.export(
            module,
            {"serving_default": module.serve, "sizes": module.sizes},
            base,
            "model",
            {"serving_default": [{"x": np.ones((1, 3), "float32")}]},
        )
    return base


@pytest.fixture(scope="module")
def server(saved_models, StandIn):
    with StandIn(saved_models) as standin:
        yield standin


INPUTS = {
    "serving_default": {"x": np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], "float32")},
    "sizes": {"image": np.array([b"\x89PNG\r\n\x1a\n\x00", b"ab"], dtype=object)},
}


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_both_protocols_give_what_the_local_saved_model_gives(saved_models, server, protocol):
    local = tf.saved_model.load(str(saved_models / "model" / "2")).signatures
    url = server.rest_url if protocol == "rest" else server.grpc_url
    remote = client.connect(url, "model", timeout=10).signatures
    assert "sizes" in remote and "nothing" not in remote
    for name, inputs in INPUTS.items():
        want = local[name](**{k: tf.constant(v) for k, v in inputs.items()})
        got = remote[name](**inputs)
        assert sorted(got) == sorted(want)
        for k in want:
            assert got[k].dtype == want[k].dtype, k
            np.testing.assert_array_equal(got[k].numpy(), want[k].numpy())
    assert {p for p, _ in server.requests} >= {protocol}
    pinned = client.connect(url, "model", version=2, timeout=10).signatures["serving_default"]
    np.testing.assert_array_equal(pinned(**INPUTS["serving_default"])["total"], [1.5, 0.5])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_failures_are_one_clear_line(server, protocol, StandIn, saved_models):
    url = server.rest_url if protocol == "rest" else server.grpc_url
    x = INPUTS["serving_default"]

    def error(url, model="model", version=None, timeout=10.0):
        with pytest.raises(client.ServingError) as caught:
            client.connect(url, model, version, timeout).signatures["serving_default"](**x)
        message = str(caught.value)
        assert "\n" not in message
        return message

    assert error(url, "other") == (
        f"TF Serving at {url} has no model `other` (Servable not found for request: Latest(other))"
    )
    assert error(url, version=1) == (
        f"TF Serving at {url} has not loaded version 1 of `model` "
        "(Servable not found for request: Specific(model, 1))"
    )
    down = f"{url.split('://')[0]}://127.0.0.1:{_closed_port()}"
    assert error(down) == f"cannot reach TF Serving at {down}: is it running?"
    with StandIn(saved_models, delay=1.5) as slow:
        slow_url = slow.rest_url if protocol == "rest" else slow.grpc_url
        assert error(slow_url, timeout=0.3) == (
            f"TF Serving at {slow_url} did not answer within 0.3 s"
        )
    with pytest.raises(client.ServingError, match="has no signature `nothing`"):
        client.connect(url, "model").signatures["nothing"]
    with pytest.raises(client.ServingError, match="refused the request: .*"):
        client.connect(url, "model").signatures["serving_default"](x=np.ones((1, 4), "float32"))


def test_a_url_of_another_kind_is_refused():
    with pytest.raises(client.ServingError, match="give http://HOST:PORT .* or grpc://HOST:PORT"):
        client.connect("localhost:8501", "model")


def test_the_example_request_is_one_the_server_answers(saved_models, server):
    import shlex

    import requests
    from click.testing import CliRunner

    from rnnkit.serving.cli import group

    result = CliRunner().invoke(
        group,
        ["request", "model", "--saved-models", saved_models, "--server", server.rest_url, "--json"],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["url"] == f"{server.rest_url}/v1/models/model:predict"
    assert document["body"] == {"instances": [{"x": [1.0, 1.0, 1.0]}]}
    curl = shlex.split(document["curl"])
    assert curl[:5] == ["curl", "-s", "-X", "POST", document["url"]]
    assert json.loads(curl[curl.index("-d") + 1]) == document["body"]
    reply = requests.post(document["url"], json=document["body"], timeout=10).json()
    assert reply == {"predictions": [{"y": [2.0, -1.0, 0.5], "total": 1.5}]}
    # float32 values are written as their shortest decimal
    assert rest.to_json(np.float32([0.8, 0.1])) == [0.8, 0.1]

    missing = CliRunner().invoke(
        group, ["request", "model", "--saved-models", saved_models, "--signature", "sizes"]
    )
    assert missing.exit_code == 2
    assert "has no warmup request for `sizes`; it has serving_default" in missing.output
    bare = saved_models.parent / "bare"
    (bare / "model" / "1").mkdir(parents=True)
    result = CliRunner().invoke(group, ["request", "model", "--saved-models", bare])
    assert result.exit_code == 2 and "has no assets.extra/tf_serving_warmup_requests" in (
        result.output
    )
