"""A server's reply is untrusted: every way a server can misbehave is one line and exit 2.

Each case is the stand-in server (``tests/serving_standin.py``) answering
``forecast predict --server`` the wrong way: slowly, hugely, with JSON that
is not a predict reply, by hanging up, or with HTTP where gRPC was asked.
The command must end within its ``--timeout`` (plus the start-up), print one
``Error:`` line, and write no forecast.
"""

import json
import time

import pytest

from rnnkit.serving import client
from rnnkit.testing import cli as rcli

pytestmark = pytest.mark.parametrize("app", ["forecast"])


def _read_request(handler):
    """Reads the request body as a real server does: a socket closed with unread
    bytes sends a TCP reset, which can drop the reply before the client reads it."""
    handler.rfile.read(int(handler.headers.get("Content-Length", 0)))


def _send(handler, body: bytes, length: int | None = None):
    _read_request(handler)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _drip(handler):
    """Headers, then one byte every 50 ms for as long as the client listens."""
    _read_request(handler)
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    try:
        for _ in range(200):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _hang_up(handler):
    handler.close_connection = True  # no status line, no body


def _predict(saved_model, tmp_path, url, *options):
    out = tmp_path / "f.csv"
    result = rcli.invoke(
        "forecast", "predict", saved_model, "--out", out, "--server", url, *options
    )
    assert not out.exists()
    return result


@pytest.mark.parametrize(
    "body, words",
    [
        (b"null", "not a JSON object: null"),
        (b"42", "not a JSON object: 42"),
        (b"[1, 2]", "not a JSON object: [1, 2]"),
        (b'{"predictions": []}', "for a batch of 0, not of 1"),
        (b'{"predictions": [{"mean": 1}]}', "a reply rnnkit cannot read"),
        (b'{"outputs": {"mean": "x"}}', "a reply rnnkit cannot read"),
        (b"<html>busy</html>", "not JSON: '<html>busy</html>'"),
    ],
    ids=["null", "number", "list", "empty", "partial", "string", "html"],
)
def test_a_malformed_reply_is_one_line(app, saved_model, tmp_path, StandIn, body, words):
    with StandIn(saved_model.parent.parent, rest_predict=lambda h: _send(h, body, len(body))) as s:
        rcli.usage_error(_predict(saved_model, tmp_path, s.rest_url), words)


def test_a_slow_reply_stops_at_the_deadline(app, saved_model, tmp_path, StandIn):
    with StandIn(saved_model.parent.parent, rest_predict=_drip) as s:
        start = time.monotonic()
        result = _predict(saved_model, tmp_path, s.rest_url, "--timeout", "0.5")
        took = time.monotonic() - start
    rcli.usage_error(result, "did not answer within 0.5 s")
    assert took < 3, took  # before: as long as the server dripped (10 s), then a traceback


def test_a_huge_reply_is_stopped_as_it_arrives(app, saved_model, tmp_path, StandIn, monkeypatch):
    monkeypatch.setattr(client, "MAX_REPLY_BYTES", 1 << 20)
    huge = json.dumps({"predictions": [0.0] * (1 << 19)}).encode()  # 2.5 MB, no length given
    with StandIn(saved_model.parent.parent, rest_predict=lambda h: _send(h, huge)) as s:
        rcli.usage_error(_predict(saved_model, tmp_path, s.rest_url), "larger than 1 MiB")
    with StandIn(
        saved_model.parent.parent, rest_predict=lambda h: _send(h, b"{}", length=10**11)
    ) as s:  # a 100 GB promise
        rcli.usage_error(_predict(saved_model, tmp_path, s.rest_url), "larger than 1 MiB")


def test_a_server_that_hangs_up_is_named(app, saved_model, tmp_path, StandIn):
    with StandIn(saved_model.parent.parent, rest_predict=_hang_up) as s:
        result = _predict(saved_model, tmp_path, s.rest_url)
    rcli.usage_error(result, "closed the connection before a whole reply")


def test_a_grpc_url_answered_by_http_says_so(app, saved_model, tmp_path, StandIn):
    with StandIn(saved_model.parent.parent) as s:
        wrong = s.rest_url.replace("http://", "grpc://")
        rcli.usage_error(_predict(saved_model, tmp_path, wrong), "answers HTTP/1.x, not gRPC")
