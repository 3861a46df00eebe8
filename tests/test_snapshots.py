"""What users see stays as it was: every app verb's options (names, types, defaults, choices).

``tests/snapshots/cli_options.json`` was taken before the apps' settings
moved into their config fields; ``rnnkit.testing.snapshot.dumps`` writes it.
"""

import json

from rnnkit.cli import APPS
from rnnkit.testing.snapshot import SNAPSHOTS, cli_options

# Options added since the snapshot, on purpose: {"APP VERB": {option, ...}}.
ADDED: dict[str, set[str]] = {
    # --set KEY=VALUE reaches every config field; --show-config prints the result;
    # --weight-decay (AdamW) was textgen's only, and the training loop is every app's.
    # --profile-steps traces steps for TensorBoard's Profile tab (issue 26).
    # (translate came later: its snapshot holds them from the start.)
    **{
        f"{app} train": {"settings", "show_config", "weight_decay", "profile_steps"}
        for app in ("forecast", "speechtag", "caption")
    },
    "textgen train": {"settings", "show_config", "profile_steps"},
    # Vocal tract length perturbation (issue 30).
    "speechtag train": {
        "settings",
        "show_config",
        "weight_decay",
        "profile_steps",
        "vtlp",
        "speed_perturb",
    },
    # Dynamic evaluation (issue 30).
    "textgen evaluate": {"dynamic", "dynamic_lr", "dynamic_decay"},
    "textgen generate": {"adapt"},
    # Held-out voice families (issue 30).
    "speechtag evaluate": {"split"},
    # Degraded training strips (issue 30).
    "caption train": {"settings", "show_config", "weight_decay", "profile_steps", "degrade"},
}

# Options changed since the snapshot, on purpose: {"APP VERB": {option: new type name}}.
CHANGED: dict[str, dict[str, str]] = {
    # --data-dir is a directory in every app, as caption's was (issue 26).
    "textgen train": {"data_dir": "directory"},
}


def test_every_verb_offers_the_options_it_offered():
    before = json.loads((SNAPSHOTS / "cli_options.json").read_text())
    now = cli_options(APPS)
    assert sorted(now) == sorted(before)  # the same verbs
    for verb, options in before.items():
        for name, spec in options.items():
            if name in CHANGED.get(verb, {}):
                assert now[verb][name]["type"]["name"] == CHANGED[verb][name], f"{verb}: {name}"
                continue
            assert now[verb].get(name) == spec, f"{verb}: {name}"
        assert set(now[verb]) - set(options) == ADDED.get(verb, set()), verb
