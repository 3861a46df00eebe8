"""Snapshots of what a user sees: every app verb's options, a SavedModel's signatures.

The reshaping of the apps must not change either; the tests compare the
live values with the JSON files under ``tests/snapshots/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

# The keys of ``click.Option.to_info_dict()`` a user depends on: the name,
# its flags, type (with its range or choices), default and arity. The help
# text may be reworded.
_OPTION_KEYS = (
    "opts",
    "secondary_opts",
    "type",
    "required",
    "nargs",
    "multiple",
    "default",
    "is_flag",
    "flag_value",
    "count",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def command_options(command: click.Command) -> dict[str, Any]:
    """``{param name: its user-facing spec}`` for one command."""
    out = {}
    for param in command.params:
        info = param.to_info_dict()
        spec = {k: info[k] for k in _OPTION_KEYS if k in info}
        spec["kind"] = info["param_type_name"]
        out[param.name] = _jsonable(spec)
    return out


def cli_options(apps) -> dict[str, dict[str, Any]]:
    """``{"APP VERB": command_options}`` for every verb of every named app."""
    from rnnkit.cli import cli

    ctx = click.Context(cli)
    found = {}
    for app in apps:
        group = cli.get_command(ctx, app)
        for verb in group.list_commands(ctx):
            found[f"{app} {verb}"] = command_options(group.get_command(ctx, verb))
    return found


def signatures(path) -> dict[str, Any]:
    """``{signature: {"inputs": {name: "dtype[shape]"}, "outputs": ...}}`` of a SavedModel.

    A shape reads ``float32[?,?,64]``: ``?`` for a dimension of any size.
    """
    import tensorflow as tf

    def spec(tensor) -> str:
        dims = ",".join("?" if d is None else str(d) for d in tensor.shape.as_list())
        return f"{tensor.dtype.name}[{dims}]"

    loaded = tf.saved_model.load(str(path))
    out = {}
    for name, function in loaded.signatures.items():
        inputs = function.structured_input_signature[1]
        outputs = function.structured_outputs
        out[name] = {
            "inputs": {k: spec(v) for k, v in sorted(inputs.items())},
            "outputs": {k: spec(v) for k, v in sorted(outputs.items())},
        }
    return out


def dumps(snapshot: dict[str, dict[str, Any]]) -> str:
    """JSON with one line per innermost entry, so a changed option is a one-line diff."""
    lines = ["{"]
    for i, (outer, inner) in enumerate(sorted(snapshot.items())):
        lines.append(f"  {json.dumps(outer)}: {{")
        for j, (key, value) in enumerate(sorted(inner.items())):
            comma = "," if j < len(inner) - 1 else ""
            lines.append(f"    {json.dumps(key)}: {json.dumps(value, sort_keys=True)}{comma}")
        lines.append("  }" + ("," if i < len(snapshot) - 1 else ""))
    return "\n".join([*lines, "}"]) + "\n"


SNAPSHOTS = Path(__file__).resolve().parents[2] / "tests" / "snapshots"


def assert_signatures(app: str, path) -> None:
    """The SavedModel at ``path`` has the signatures ``tests/snapshots/signatures.json`` holds."""
    expected = json.loads((SNAPSHOTS / "signatures.json").read_text())[app]
    assert signatures(path) == expected
