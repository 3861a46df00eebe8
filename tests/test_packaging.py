"""rnnkit installs from its wheel alone: every package file is in it, every import declared.

``pip wheel`` builds the wheel; a fresh virtual environment installs it
without the source tree (no editable install; the native kernels are not in
the wheel, so the XLA loops run) and trains, exports and checks a tiny
textgen model from another folder. The dependencies are the dev
environment's, reached through a ``.pth`` file: their declarations are
checked statically (every third-party import of rnnkit and apps is a
declared requirement, or one of theirs).
"""

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _requirements(distribution: str, extras: tuple[str, ...] = ()) -> set[str]:
    names = set()
    for requirement in importlib.metadata.distribution(distribution).requires or []:
        name, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra and extra.group(1) not in extras:
            continue
        names.add(re.split(r"[ <>=~!\[(]", name.strip(), maxsplit=1)[0].lower())
    return names


def _imported_top_levels() -> set[str]:
    found = set()
    for folder in ("rnnkit", "apps"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"rnnkit", "apps", "__future__"}


def _declared(extras: tuple[str, ...]) -> set[str]:
    """The distributions setup.cfg requires, and those of ``extras``."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += config["options.extras_require"][extra].splitlines()
    return {
        re.split(r"[ <>=~!\[]", line.strip(), maxsplit=1)[0].lower()
        for line in lines
        if line.strip() and not line.strip().startswith("#")
    }


def test_every_third_party_import_is_declared():
    declared = _declared(extras=("speech", "tfds"))
    # What a declared requirement brings with it (TensorFlow: protobuf, grpcio).
    brought = {r for name in declared for r in _requirements(name)}
    owners = importlib.metadata.packages_distributions()
    for module in sorted(_imported_top_levels()):
        distributions = {d.lower() for d in owners.get(module, [])}
        assert distributions, f"`import {module}`: no installed distribution provides it"
        assert distributions & (declared | brought), (
            f"`import {module}` ({distributions}) is not declared"
        )


@pytest.mark.slow
def test_the_wheel_installs_and_trains_exports_and_checks(tmp_path):
    # The tracked files only, as a fresh clone has them (no build/ left from before).
    source = tmp_path / "source"
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    [wheel] = wheels.glob("rnnkit-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The dependencies: the dev environment's site-packages, after the wheel's own files.
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q"]
        + [str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    rnnkit = [str(venv / "bin" / "rnnkit")]

    def run(*args):
        done = subprocess.run(
            [*rnnkit, *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done

    where = subprocess.run(
        [python, "-c", "import rnnkit, apps; print(rnnkit.__file__, apps.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where and site in where  # the wheel's files, not the checkout's
    run("textgen", "train", "--preset", "tiny", "--epochs", "1", "--run-dir", "run", "--quiet")
    run("textgen", "export", "run", "--out", "saved_models/textgen")
    check = run("serving", "check", "saved_models")
    assert "verdict: TF Serving will serve it" in check.stdout
    run("caption", "compose", "123", "--out", "strip.png")  # the shipped MNIST subset
