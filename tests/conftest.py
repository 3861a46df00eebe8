import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """The apps' tiny runs and exports, each made once a session (``testing.cli.Runs``)."""
    from rnnkit.testing.cli import Runs

    return Runs(tmp_path_factory)


@pytest.fixture(scope="session")
def StandIn():
    """``tests/serving_standin.py``'s stand-in for TF Serving (a test helper, not installed)."""
    path = Path(__file__).with_name("serving_standin.py")
    spec = importlib.util.spec_from_file_location("serving_standin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.StandIn
