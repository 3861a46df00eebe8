"""speechtag export: the streaming SavedModel's signatures and warmup records."""

import numpy as np
import pytest
import tensorflow as tf

from apps.speechtag import data, features
from apps.speechtag.cli import APP
from rnnkit import runs
from rnnkit.serving import layout
from rnnkit.testing.serving import saved_model_cli_run


def test_streaming_saved_model_signatures(saved_model, streaming_run, tmp_path):
    loaded = tf.saved_model.load(str(saved_model))
    assert set(loaded.signatures) == {"serving_default", "wav", "stream", "flush"}
    run = runs.load_run(APP, streaming_run)
    examples = np.load(streaming_run / features.EXAMPLES_FILE)
    audio = examples["audio_0"]
    out = loaded.signatures["serving_default"](
        waveform=tf.constant(audio[None]), length=tf.constant([len(audio)])
    )
    want = run.model({"waveform": audio[None], "length": np.array([len(audio)], np.int32)})
    np.testing.assert_allclose(
        out["phone_probs"].numpy(), tf.nn.softmax(want["phones"]).numpy(), atol=1e-5
    )
    # The wav signature decodes the same audio in the graph.
    wav = loaded.signatures["wav"](wav=tf.constant([data.wav_bytes(audio)]))
    assert (wav["phones"].numpy() == out["phones"].numpy()).mean() > 0.95
    assert wav["phones"].dtype == tf.string
    with pytest.raises(tf.errors.InvalidArgumentError, match="8000"):
        loaded.signatures["wav"](wav=tf.constant([data.wav_bytes(audio, 8000)]))
    # Streaming in 20 ms chunks with the state held by the client.
    tagset = features.TagSet.load(saved_model / "assets")
    state = tf.zeros([1, run.model.state_size])
    tags = []
    for at in range(0, len(audio), 320):
        step = loaded.signatures["stream"](
            waveform=tf.constant(audio[None, at : at + 320]), state=state
        )
        state = step["state"]
        tags += [t.decode() for t in step["phones"].numpy()[0]]
    tags += [t.decode() for t in loaded.signatures["flush"](state=state)["phones"].numpy()[0]]
    whole = [t.decode() for t in out["phones"].numpy()[0]]
    assert tags == whole
    assert set(whole) <= set(tagset.phones)
    assert 0 <= float(tf.reduce_min(out["word_start_probability"]))
    assert float(tf.reduce_max(out["word_start_probability"])) <= 1


def test_saved_model_warmup_and_saved_model_cli(saved_model):
    records = layout.read_warmup(saved_model / layout.WARMUP_FILE)
    assert {signature for signature, _ in records} == {"serving_default", "wav", "stream", "flush"}
    loaded = tf.saved_model.load(str(saved_model))
    for outputs in layout.replay_warmup(loaded, saved_model / layout.WARMUP_FILE):
        assert "frames" in outputs
    waveform = "[[" + ",".join(f"{0.1 * np.sin(k / 5):.4f}" for k in range(800)) + "]]"
    out = saved_model_cli_run(saved_model, "serving_default", f"waveform={waveform};length=[800]")
    assert "phones" in out and "frames" in out
