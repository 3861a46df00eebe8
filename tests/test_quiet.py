"""TensorFlow's start-up noise stays off a command's stderr; anything else still shows.

Real processes: the ``rnnkit`` command as a user runs it, and a stand-in
``tensorflow`` package that writes one noise line and one real error to the
stderr file descriptor while it is imported.
"""

import os
import subprocess
import sys
import textwrap

import pytest

RNNKIT = [sys.executable, "-m", "rnnkit.cli"]


def _run(args, **env):
    return subprocess.run(
        args, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


@pytest.mark.slow
def test_a_command_prints_no_tensorflow_lines_unless_verbose(tmp_path):
    train = [*RNNKIT, "textgen", "train", "--preset", "tiny", "--epochs", "1", "--quiet"]
    quiet = _run([*train, "--run-dir", str(tmp_path / "a")])
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "Done (completed" in quiet.stdout
    loud = _run([*train, "--run-dir", str(tmp_path / "b")], RNNKIT_VERBOSE="1")
    assert loud.returncode == 0, loud.stderr
    assert "oneDNN custom operations are on" in loud.stderr  # the lines are real, and back
    flag = _run([*RNNKIT, "--verbose", "textgen", "generate", str(tmp_path / "nothing")])
    assert flag.returncode == 2 and "oneDNN custom operations are on" in flag.stderr
    assert flag.stderr.rstrip().endswith(f"Error: no such run or SavedModel: {tmp_path}/nothing")


def test_real_errors_during_the_import_are_replayed(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        textwrap.dedent(
            """
            import os
            os.write(2, b"I0000 port.cc:153] oneDNN custom operations are on. You may see\\n")
            os.write(2, b"E0000 loader.cc:1] a real problem with a kernel library\\n")

            class config:
                list_physical_devices = staticmethod(lambda: [])

            constant = lambda value: value
            transpose = lambda x: x
            function = lambda f: f
            """
        )
    )
    code = "from rnnkit import quiet; quiet.import_tensorflow(); print('imported')"
    done = _run([sys.executable, "-c", code], PYTHONPATH=f"{tmp_path}:{os.getcwd()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "imported\n"
    assert done.stderr == "E0000 loader.cc:1] a real problem with a kernel library\n"


def _imports_tensorflow(args) -> tuple[int, bool]:
    """``rnnkit ARGS`` in a fresh process: its exit code, and whether TensorFlow was imported."""
    code = (
        "import sys; from click.testing import CliRunner; from rnnkit.cli import cli; "
        f"r = CliRunner().invoke(cli, {list(map(str, args))!r}); "
        "print(r.exit_code, 'tensorflow' in sys.modules)"
    )
    done = _run([sys.executable, "-c", code])
    exit_code, imported = done.stdout.split()
    return int(exit_code), imported == "True"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["textgen", "--help"], ["forecast", "--help"], ["speechtag", "--help"]]
    + [["caption", "--help"], ["textgen", "train", "--help"], ["serving", "--help"]],
)
def test_help_does_not_import_tensorflow(args):
    assert _imports_tensorflow(args) == (0, False)


def test_drawing_a_strip_and_synthesizing_speech_do_not_import_tensorflow(tmp_path):
    assert _imports_tensorflow(["caption", "compose", "12", "--out", tmp_path / "s.png"]) == (
        0,
        False,
    )
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    synth = ["speechtag", "synth", "one two", "--out", tmp_path / "u.wav"]
    assert _imports_tensorflow(synth) == (0, False)
    assert (tmp_path / "u.WRD").read_text().split()[2::3] == ["one", "two"]
    # A command that needs it still gets it.
    assert _imports_tensorflow(["textgen", "generate", tmp_path / "nothing"]) == (2, True)
