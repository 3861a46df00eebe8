"""The README covers every app and every verb that ``rnnkit --help`` lists, and its links work."""

import re
from pathlib import Path

import click
import pytest

from rnnkit.cli import APPS, cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _group(name: str) -> click.Group:
    ctx = click.Context(cli)
    return cli.get_command(ctx, name)


@pytest.mark.parametrize("app", sorted(APPS))
def test_every_app_has_a_section_with_every_verb(app):
    assert re.search(rf"^### {app}: ", README, re.MULTILINE), f"no '### {app}: ...' section"
    group = _group(app)
    for verb in group.commands:
        assert f"rnnkit {app} {verb}" in README, f"`rnnkit {app} {verb}` is not in the README"


def test_every_other_command_is_in_the_readme():
    names = cli.list_commands(click.Context(cli))
    for name in names:
        if name in APPS:
            continue
        command = cli.get_command(click.Context(cli), name)
        verbs = getattr(command, "commands", {None: None})
        for verb in verbs:
            line = f"rnnkit {name}" + (f" {verb}" if verb else "")
            assert line in README, f"`{line}` is not in the README"


def test_relative_links_and_pictures_exist():
    for document in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```", "", document.read_text(), flags=re.DOTALL)
        text = re.sub(r"`[^`]*`", "", text)  # code, not links
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (document.parent / target).exists(), f"{document.name} links to {target}"
