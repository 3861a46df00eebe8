"""``make demo``'s plan and summary (rnnkit.demo), on a real tiny run and export."""

import json
import shutil

import pytest

from rnnkit import demo
from rnnkit.testing import cli as rcli


def test_the_plan_names_every_app_and_the_time():
    text = demo.plan(["textgen", "forecast", "speechtag", "caption", "translate", "classify"])
    assert text.splitlines()[0] == "make demo: 6 app(s), about 46-51 minutes on two cores"
    assert all(f"  {app}" in text for app in demo.PLAN)
    assert demo.main(["plan", "nope"]) == 2


@pytest.mark.parametrize("app", ["textgen"])
def test_the_summary_reads_the_evaluation_and_finds_the_export(
    app, run_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    run = shutil.copytree(run_dir, demo.run_dir("textgen", "STAMP"))
    result = rcli.invoke("textgen", "evaluate", run, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rcli.export("textgen", run, tmp_path / "saved_models" / "textgen")
    assert demo.main(["summary", "--stamp", "STAMP", "textgen"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[
        1
    ] == f"  textgen    {report['bits_per_char']:.3f} bits/char against the n-gram " + (
        f"baseline's {report['baseline_bits_per_char']:.3f} "
        f"({report['ratio_to_baseline']:.3f}x; lower is better)"
    )
    assert "SavedModel saved_models/textgen/1" in lines[2] and f"--logdir {run}/tb" in lines[2]
