"""caption caption and compose, from a run, a SavedModel or TF Serving; bad images."""

import json

import pytest
import tensorflow as tf

from rnnkit.testing import cli as rcli

invoke = rcli.invoker("caption")


def test_compose_then_caption_with_json_and_plot(run_dir, tmp_path):
    result = invoke("compose", "652", "--out", tmp_path / "s.png", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "six five two" in result.output
    out = invoke("caption", run_dir, tmp_path / "s.png", "--json", "--plot", tmp_path / "p.png")
    assert out.exit_code == 0, out.output
    (row,) = json.loads(out.stdout)["captions"]
    # Words, then <end> (or the tiny preset's 3 words and one more step).
    assert row["tokens"][-1] == 2 or len(row["tokens"]) == 4
    assert row["score"] <= 0
    assert tf.io.decode_png((tmp_path / "p.png").read_bytes()).shape[0] > 50


def test_caption_with_the_saved_model_matches_the_run(saved_model, run_dir, tmp_path):
    invoke("compose", "285", "--out", tmp_path / "s.png")
    a = invoke("caption", run_dir, tmp_path / "s.png", "--json")
    b = invoke("caption", saved_model.parent, tmp_path / "s.png", "--json")
    assert a.exit_code == b.exit_code == 0, a.output + b.output
    (x,), (y,) = (json.loads(r.stdout)["captions"] for r in (a, b))
    assert x["caption"] == y["caption"] and x["tokens"] == y["tokens"]
    assert x["score"] == pytest.approx(y["score"], abs=1e-4)
    # A SavedModel's beam width is fixed at export: another one is named and ignored.
    c = invoke("caption", saved_model, tmp_path / "s.png", "--json", "--beam", "5")
    assert c.exit_code == 0 and json.loads(c.stdout)["captions"][0]["caption"] == x["caption"]
    assert "beam search has width 3" in c.stderr


def test_bad_images_are_one_line_usage_errors(run_dir, tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    invoke("compose", "12", "--out", tmp_path / "good.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "good.png").read_bytes()[:60])
    for name, message in [
        ("text.png", "not a PNG, JPEG, GIF or BMP"),
        ("empty.png", "is empty"),
        ("cut.png", "not a PNG, JPEG, GIF or BMP"),
        ("missing.png", "cannot read"),
    ]:
        result = invoke("caption", run_dir, tmp_path / name)
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    result = invoke("caption", run_dir, tmp_path / "good.png", "--beam", "0")
    assert result.exit_code == 2 and "--beam" in result.output


def test_caption_on_tf_serving_gives_the_local_captions(saved_model, tmp_path, StandIn):
    invoke("compose", "4096", "--out", tmp_path / "a.png")
    images = [tmp_path / "a.png", tmp_path / "a.png"]
    for beam in ("1", "3"):  # the greedy and the beam signatures
        local = invoke("caption", saved_model, *images, "--json", "--beam", beam)
        assert local.exit_code == 0, local.output
        with StandIn(saved_model.parent.parent) as server:
            for url in (server.rest_url, server.grpc_url):  # image bytes: b64 in REST
                remote = invoke(
                    "caption", saved_model, *images, "--json", "--beam", beam, "--server", url
                )
                assert remote.exit_code == 0, remote.output
                assert json.loads(remote.stdout) == json.loads(local.stdout)
