"""What every app's tests share: the tiny run and export, and a corpus cache of their own.

``run_dir`` and ``saved_model`` belong to the app whose folder the test is
in, or to the ``app`` a test is parametrised with; each is made once a
session (``tiny_runs``).
"""

import os

import pytest

APPS = ("textgen", "forecast", "speechtag", "caption", "translate", "classify")
# The options of each app's shared tiny run, and the step it ends at.
TINY = {
    "textgen": ((), 12),
    "forecast": ((), 8),
    "speechtag": ((), 12),
    "caption": ((), 8),
    "translate": ((), 10),
    "classify": ((), 16),
}
# What saved_model exports, where it is not the run above: the streaming
# tagger, whose SavedModel has the most signatures.
EXPORTED = {"speechtag": ("--streaming", "--lookahead", "3")}


@pytest.fixture(scope="session", autouse=True)
def corpus_cache(tmp_path_factory):
    """Generated corpora (speechtag's speech) go to a cache of the tests' own, never the user's."""
    before = os.environ.get("RNNKIT_CACHE")
    os.environ["RNNKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield os.environ["RNNKIT_CACHE"]
    if before is None:
        os.environ.pop("RNNKIT_CACHE")
    else:
        os.environ["RNNKIT_CACHE"] = before


@pytest.fixture
def app(request) -> str:
    """The app under test: the name of the test's folder (tests/apps/<app>/)."""
    return request.path.parent.name


@pytest.fixture
def run_dir(tiny_runs, app):
    options, steps = TINY[app]
    return tiny_runs.run(app, *options, steps=steps)


@pytest.fixture
def saved_model(tiny_runs, app):
    options = EXPORTED.get(app, TINY[app][0])
    if options == TINY[app][0]:
        tiny_runs.run(app, *options, steps=TINY[app][1])  # checked once, with its step
    return tiny_runs.export(app, *options)
