"""speechtag evaluate: the RNN and the baselines, on the test voices or a folder."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from apps.speechtag import evaluate
from rnnkit.testing import cli as rcli

invoke = rcli.invoker("speechtag")


def test_evaluate_scores_the_rnn_and_the_baselines(run_dir):
    result = invoke("evaluate", run_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["models"]) == {"rnn", "mlp", "majority"}
    assert report["utterances"] == 12
    assert set(report["mlp_decoding"]) == {"phones", "words"}
    majority = report["models"]["majority"]
    for tier in ("phones", "words"):
        # The majority tag is silence: no segment is found, every reference one is missed.
        assert majority[tier]["error_rate"] == 1.0
        assert majority[tier]["boundary_recall"] == 0.0
        assert report["models"]["mlp"][tier]["frame_accuracy"] > majority[tier]["frame_accuracy"]
    assert (run_dir / evaluate.MLP_FILE).is_file()
    assert json.loads((run_dir / "evaluation.json").read_text()) == report
    ea = EventAccumulator(str(run_dir / "tb" / "evaluate"), size_guidance={"tensors": 0})
    ea.Reload()
    assert "phones/confusion" in ea.Tags()["tensors"]
    table = invoke("evaluate", run_dir)
    assert "mlp" in table.output and "PER/WER" in table.output
    rnn, mlp = report["models"]["rnn"], report["models"]["mlp"]
    worse = rnn["words"]["error_rate"] > mlp["words"]["error_rate"]
    assert ("Warning: the RNN's WER" in table.output) == worse


def test_evaluate_on_another_folder(run_dir, tmp_path, write_labelled):
    folder = tmp_path / "mine"
    write_labelled(folder, "a", ["one", "two"])
    result = invoke("evaluate", run_dir, "--data", f"dir:{folder}")
    assert result.exit_code == 2
    assert "labels this run was not trained on" in result.output


def test_evaluate_scores_a_held_out_voice_family(run_dir, tmp_path, write_labelled):
    from apps.speechtag import voicebank

    test = json.loads(invoke("evaluate", run_dir, "--json").stdout)
    result = invoke("evaluate", run_dir, "--split", "klatt", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["split"] == "klatt" and test["split"] == "test"
    assert "klatt voice family" in report["evaluated_on"]
    assert report["utterances"] == test["utterances"]  # as many as the test voices
    # Other utterances, so other scores.
    assert report["frames"] != test["frames"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"]["source"] == "espeak"
    assert all(name in voicebank.SPLITS for name in ("klatt", "female"))
    folder = tmp_path / "mine"
    write_labelled(folder, "a", ["one", "two"])
    both = invoke("evaluate", run_dir, "--split", "female", "--data", f"dir:{folder}")
    assert both.exit_code == 2 and "--split female scores a voice family" in both.output
