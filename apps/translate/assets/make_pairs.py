"""Writes ``pairs.tsv.xz`` (translate's embedded German-English pairs) from the Ding dictionary.

Debian's ``trans-de-en`` package (GPL-2+) holds the Ding dictionary of TU
Chemnitz as ``/usr/share/trans/de-en``: lines ``de | de2 :: en | en2``, where
``|`` separates aligned sub-entries and ``;`` synonyms, with ``{n}``,
``[tag]``, ``<...>`` and ``(...)`` notes. Fetch and run once:

    apt-get download trans-de-en && dpkg -x trans-de-en_*.deb /tmp/ding
    python apps/translate/assets/make_pairs.py /tmp/ding/usr/share/trans/de-en

Each aligned sub-entry whose two sides are whole sentences (the first German
and English synonyms start with a capital and end in ``.``, ``?`` or ``!``,
not in a placeholder such as ``etw.``; at least three German words) is a
``sentence``; one of two to twelve words on both sides that is
not a sentence is a ``phrase``; one German word with one to three English
words is a ``word``. Output lines:
``kind<TAB>german synonyms<TAB>english synonyms``, synonyms joined by
``" ; "``, the first occurrence of each German side kept (later entries with
the same German side add their English synonyms). rnnkit never needs Debian:
it reads only the ``.xz``.
"""

from __future__ import annotations

import lzma
import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("pairs.tsv.xz")
NOTES = re.compile(r"\{[^}]*\}|\[[^\]]*\]|<[^>]*>")
QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201e": '"', "\u201c": '"', "\u201d": '"'})


# Ding's placeholders end in a full stop without ending a sentence.
ABBREVIATIONS = {"etw.", "jdn.", "jdm.", "jds.", "jd.", "sth.", "sb.", "sb.'s", "usw.", "etc."}


def clean(text: str) -> str:
    """A synonym without Ding's notes, with plain quotes and single spaces."""
    text = NOTES.sub(" ", text.translate(QUOTES))
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([.?!,;:])", r"\1", text)


def _sentence(text: str) -> bool:
    last = text.split()[-1] if text.split() else ""
    return text[:1].isupper() and text[-1:] in ".?!" and last not in ABBREVIATIONS


def kind(german: str, english: str) -> str | None:
    words_de, words_en = len(german.split()), len(english.split())
    if _sentence(german) and _sentence(english) and words_de >= 3:
        return "sentence"
    if 2 <= words_de <= 12 and 2 <= words_en <= 12:
        return "phrase"
    if words_de == 1 and 1 <= words_en <= 3:
        return "word"
    return None


def pairs(lines):
    """``{german: (kind, [german synonyms], [english synonyms])}``, in first-seen order."""
    found: dict[str, tuple[str, list[str], list[str]]] = {}
    for line in lines:
        if line.startswith("#") or " :: " not in line:
            continue
        german, _, english = line.rstrip("\n").partition(" :: ")
        sides_de, sides_en = german.split(" | "), english.split(" | ")
        if len(sides_de) != len(sides_en):
            continue
        for de, en in zip(sides_de, sides_en):
            de_syn = [s for s in (clean(x) for x in de.split(";")) if s]
            en_syn = [s for s in (clean(x) for x in en.split(";")) if s]
            if not de_syn or not en_syn or "\t" in de + en:
                continue
            what = kind(de_syn[0], en_syn[0])
            if what is None:
                continue
            key = de_syn[0]
            if key in found:
                known = found[key][2]
                known += [e for e in en_syn if e not in known]
            else:
                found[key] = (what, de_syn, en_syn)
    return found


def main(source: str) -> None:
    with open(source, encoding="utf-8") as f:
        found = pairs(f)
    rows = [f"{k}\t{' ; '.join(d)}\t{' ; '.join(e)}\n" for k, d, e in found.values()]
    OUT.write_bytes(lzma.compress("".join(rows).encode("utf-8"), preset=9))
    counts = {
        k: sum(1 for v in found.values() if v[0] == k) for k in ("sentence", "phrase", "word")
    }
    print(
        f"{OUT}: {counts['sentence']} sentences, {counts['phrase']} phrases, {counts['word']} words"
    )


if __name__ == "__main__":
    main(sys.argv[1])
