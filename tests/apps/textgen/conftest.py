"""textgen's test fixtures; the shared run and export come from tests/apps/conftest.py."""

import pytest

from apps.textgen import data, export
from apps.textgen.cli import APP
from rnnkit import runs


@pytest.fixture
def model_and_generator(run_dir):
    """The shared run's model and its ``Generator`` (the functions export saves)."""
    run = runs.load_run(APP, run_dir)
    return run.model, export.Generator(run.model, data.Vocab.load(run_dir))
