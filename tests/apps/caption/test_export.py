"""caption export: warmup records, saved_model_cli, images of any size."""

import pytest
import tensorflow as tf

from rnnkit.serving import layout
from rnnkit.testing import cli as rcli
from rnnkit.testing.serving import saved_model_cli_run

invoke = rcli.invoker("caption")


def test_saved_model_warmup_and_saved_model_cli(saved_model, tmp_path):
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert {signature for signature, _ in records} == {"serving_default", "greedy"}
    loaded = tf.saved_model.load(str(saved_model))
    assert set(loaded.signatures) == {"serving_default", "beam", "greedy"}
    for outputs in layout.replay_warmup(loaded, saved_model / layout.WARMUP_FILE):
        assert {"caption", "tokens", "score", "attention", "length"} <= set(outputs)
    assert (saved_model / "assets" / "vocab.txt").is_file()
    invoke("compose", "31", "--out", tmp_path / "s.png")
    # A bytes literal with every byte escaped: no ';' or '=' for saved_model_cli to split on.
    png = "".join(f"\\x{b:02x}" for b in (tmp_path / "s.png").read_bytes())
    out = saved_model_cli_run(saved_model, "greedy", f"image=[b'{png}']")
    assert "caption" in out


def test_mixed_image_sizes_in_one_batch(saved_model, tmp_path):
    invoke("compose", "7", "--out", tmp_path / "a.png")
    invoke("compose", "40918", "--out", tmp_path / "b.png")
    loaded = tf.saved_model.load(str(saved_model))
    images = [(tmp_path / n).read_bytes() for n in ("a.png", "b.png")]
    both = loaded.signatures["serving_default"](image=tf.constant(images))
    for i, image in enumerate(images):
        alone = loaded.signatures["serving_default"](image=tf.constant([image]))
        assert alone["caption"].numpy()[0] == both["caption"].numpy()[i]
        assert alone["score"].numpy()[0] == pytest.approx(both["score"].numpy()[i], abs=1e-4)
