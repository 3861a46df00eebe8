"""rnnkit translate text: a run and its SavedModel translate alike; bad input is one line."""

import json

from rnnkit.testing import cli as rcli

invoke = rcli.invoker("translate")
SENTENCES = ["Wie spät ist es?", "Anna wohnt in Berlin."]


def test_a_run_and_its_savedmodel_give_the_same_translations(run_dir, saved_model, tmp_path):
    for beam in ("1", "2"):
        local = invoke("text", run_dir, *SENTENCES, "--beam", beam, "--json")
        assert local.exit_code == 0, local.output
        exported = invoke("text", saved_model, *SENTENCES, "--beam", beam, "--json")
        assert exported.exit_code == 0, exported.output
        rows = [json.loads(r.output)["translations"] for r in (local, exported)]
        assert [r["source"] for r in rows[0]] == SENTENCES
        assert [r["translation"] for r in rows[0]] == [r["translation"] for r in rows[1]]
    listed = tmp_path / "sentences.txt"
    listed.write_text("\n".join(SENTENCES) + "\n\n")
    from_file = invoke("text", saved_model, "--file", listed, "--json")
    assert [r["source"] for r in json.loads(from_file.output)["translations"]] == SENTENCES


def test_n_best_lists_and_attention_pictures(run_dir, saved_model, tmp_path):
    from PIL import Image

    lists = []
    for source in (run_dir, saved_model):
        plot = tmp_path / source.name / "attention.png"  # the folder is made
        result = invoke("text", source, *SENTENCES, "--n-best", "2", "--json", "--plot", plot)
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)["translations"]
        for row in rows:
            assert len(row["n_best"]) == 2
            assert row["n_best"][0]["translation"] == row["translation"]
            assert row["n_best"][0]["score"] >= row["n_best"][1]["score"] - 5
        lists.append([[b["translation"] for b in row["n_best"]] for row in rows])
        with Image.open(plot) as picture:
            assert picture.format == "PNG" and picture.height > picture.width / 4
    assert lists[0] == lists[1]
    shown = invoke("text", saved_model, SENTENCES[0], "--n-best", "2")
    assert shown.exit_code == 0 and "\n  2. " in shown.output, shown.output
    rcli.usage_error(
        invoke("text", saved_model, "Hallo.", "--n-best", "3"),
        "more than this model's beam width, 2",
    )
    rcli.usage_error(
        invoke("text", run_dir, "Hallo.", "--n-best", "2", "--beam", "1"), "needs a beam"
    )
    assert invoke("text", run_dir, "Hallo.", "--n-best", "3", "--json").exit_code == 0


def test_the_other_tokens_train_export_and_serve_alike(tiny_runs, run_dir):
    from apps.translate.config import DataConfig
    from apps.translate.features import SOURCE_VOCAB, TARGET_VOCAB, Vocabulary
    from rnnkit.serving.check import check_version

    other = "words" if DataConfig().tokens == "subwords" else "subwords"
    options = ("--tokens", other)
    run = tiny_runs.run("translate", *options, steps=10)
    vocabs = [Vocabulary.load(run / name) for name in (SOURCE_VOCAB, TARGET_VOCAB)]
    assert [v.subwords for v in vocabs] == [other == "subwords"] * 2
    assert Vocabulary.load(run_dir / SOURCE_VOCAB).subwords == (other == "words")
    saved_model = tiny_runs.export("translate", *options)
    found = [
        json.loads(invoke("text", where, *SENTENCES, "--beam", "2", "--json").stdout)
        for where in (run, saved_model)
    ]
    assert found[0] == found[1]
    assert [c.line() for c in check_version(saved_model, "translate") if c.ok is False] == []


def test_bad_input_is_one_line(run_dir, tmp_path):
    rcli.usage_error(invoke("text", run_dir), "give SENTENCES, or --file PATH")
    rcli.usage_error(invoke("text", run_dir, "--file", tmp_path / "none.txt"), "cannot read")
    rcli.usage_error(invoke("text", tmp_path / "nothing", "Hallo."), "no such run or SavedModel")


def test_training_logs_validation_bleu_and_sample_translations(run_dir):
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert all(0 <= h["val_bleu"] <= 100 for h in history)
    events = EventAccumulator(str(run_dir / "tb" / "train"))
    events.Reload()
    [last] = events.Tensors("samples/greedy")[-1:]
    text = last.tensor_proto.string_val[0].decode()
    assert text.startswith("```\n") and text.count("reference: ") == 3
    [picture] = events.Tensors("attention/validation")[-1:]
    assert tf.make_ndarray(picture.tensor_proto)[2][:4] == b"\x89PNG"
    validation = EventAccumulator(str(run_dir / "tb" / "validation"))
    validation.Reload()
    assert "bleu" in validation.Tags()["tensors"]


def test_text_on_tf_serving_gives_the_local_translations(saved_model, StandIn):
    local = invoke("text", saved_model, *SENTENCES, "--n-best", "2", "--json")
    assert local.exit_code == 0, local.output
    with StandIn(saved_model.parent.parent) as server:
        for url in (server.rest_url, server.grpc_url):
            remote = invoke(
                "text", saved_model, *SENTENCES, "--n-best", "2", "--json", "--server", url
            )
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == json.loads(local.stdout)
    request = rcli.invoke(
        "serving", "request", "translate", "--saved-models", saved_model.parent.parent, "--json"
    )
    assert request.exit_code == 0, request.output
    body = json.loads(request.output)["body"]
    assert body["instances"] == [{"text": "Wie spät ist es?"}]  # the first warmup request
