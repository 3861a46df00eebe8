"""rnnkit classify text: a run and its SavedModel classify and explain alike; bad input is one
line."""

import json

import pytest

from rnnkit.testing import cli as rcli

invoke = rcli.invoker("classify")
TEXTS = ["a gorgeous, witty, seductive movie.", "The plot is a mess and the jokes fall flat."]


def test_a_run_and_its_savedmodel_give_the_same_labels_and_explanations(
    run_dir, saved_model, tmp_path
):
    found = []
    for source in (run_dir, saved_model):
        result = invoke("text", source, *TEXTS, "--json", "--explain")
        assert result.exit_code == 0, result.output
        found.append(json.loads(result.stdout))
    local, exported = found
    assert local["classes"] == exported["classes"] == ["negative", "positive"]
    for a, b in zip(local["texts"], exported["texts"], strict=True):
        assert a["label"] == b["label"] and a["words"] == b["words"]
        assert a["probabilities"] == pytest.approx(b["probabilities"], abs=2e-4)
        assert a["weights"] == pytest.approx(b["weights"], abs=2e-4)
        assert sum(a["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        assert a["label"] == max(a["probabilities"], key=a["probabilities"].get)
    assert local["texts"][0]["words"] == ["a", "gorgeous", ",", "witty", ",", "seductive"] + [
        "movie",
        ".",
    ]
    listed = tmp_path / "texts.txt"
    listed.write_text("\n".join(TEXTS) + "\n\n")
    from_file = invoke("text", saved_model, "--file", listed, "--json")
    assert [r["text"] for r in json.loads(from_file.stdout)["texts"]] == TEXTS
    plain = invoke("text", saved_model, TEXTS[0])
    assert plain.exit_code == 0 and plain.output.endswith(f")  {TEXTS[0]}\n"), plain.output


def test_explanations_draw_a_picture(run_dir, saved_model, tmp_path):
    from PIL import Image

    for source in (run_dir, saved_model):
        plot = tmp_path / source.name / "words.png"  # the folder is made
        result = invoke("text", source, *TEXTS, "--plot", plot)
        assert result.exit_code == 0, result.output
        assert "gorgeous(" in result.output  # --plot explains
        with Image.open(plot) as picture:
            assert picture.format == "PNG" and picture.width > 300


def test_gradient_times_input_explains_the_other_poolings(tiny_runs):
    run = tiny_runs.run("classify", "--pooling", "max", steps=16)
    saved = tiny_runs.export("classify", "--pooling", "max")
    found = [
        json.loads(invoke("text", where, *TEXTS, "--json", "--explain").stdout)
        for where in (run, saved)
    ]
    for a, b in zip(found[0]["texts"], found[1]["texts"]):
        assert a["weights"] == pytest.approx(b["weights"], abs=2e-4)
        assert sum(a["weights"]) == pytest.approx(1, abs=2e-3)
        assert len(set(a["weights"])) > 1  # not uniform: gradients differ by word


def test_bad_input_is_one_line(run_dir, tmp_path):
    rcli.usage_error(invoke("text", run_dir), "give TEXTS, or --file PATH")
    rcli.usage_error(invoke("text", run_dir, "--file", tmp_path / "none.txt"), "cannot read")
    rcli.usage_error(invoke("text", tmp_path / "nothing", "fine."), "no such run or SavedModel")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    rcli.usage_error(invoke("text", run_dir, "--file", tmp_path / "binary.txt"), "cannot read")


def test_text_on_tf_serving_gives_the_local_answers(saved_model, StandIn):
    local = invoke("text", saved_model, *TEXTS, "--json", "--explain")
    assert local.exit_code == 0, local.output
    with StandIn(saved_model.parent.parent) as server:
        for url in (server.rest_url, server.grpc_url):
            remote = invoke("text", saved_model, *TEXTS, "--json", "--explain", "--server", url)
            assert remote.exit_code == 0, remote.output
            assert json.loads(remote.stdout) == json.loads(local.stdout)
    request = rcli.invoke(
        "serving", "request", "classify", "--saved-models", saved_model.parent.parent, "--json"
    )
    assert request.exit_code == 0, request.output
    body = json.loads(request.output)["body"]
    assert body["instances"] == [{"text": "A gorgeous, witty, seductive movie."}]


def test_bad_training_files_stop_train_with_one_line_and_no_run(tmp_path):
    cases = {
        "empty.csv": (b"", "is empty"),
        "columns.csv": (b"review,label\nfine,good\n", "no column 'text' (--text-column)"),
        "binary.csv": (b"\x00\x01\x02PK", "binary"),
    }
    for name, (content, words) in cases.items():
        (tmp_path / name).write_bytes(content)
        run = tmp_path / f"run-{name}"
        result = invoke(
            "train", "--preset", "tiny", "--run-dir", run, "--data", f"csv:{tmp_path / name}"
        )
        rcli.usage_error(result, words)
        assert not (run / "ckpt").exists()
