"""translate's data: sentence pairs with every reference, split by source entry.

Sources:

- ``embedded`` (the default): German-English pairs from the Ding dictionary
  (``assets/pairs.tsv.xz``, see its ATTRIBUTION.md): 19,440 sentence entries
  and, with ``phrases``, 101,294 multi-word phrases, and with
  ``single_words``, 192,483 single German words (training only, all of
  them: no held-out source is one word).
- ``tsv:PATH``: one pair a line, ``source<TAB>target[<TAB>anything]`` (the
  Tatoeba/Anki export format), UTF-8. Lines with the same source are one
  example with several references.
- ``tfds:NAME``: a TFDS translation set prepared under ``data_dir`` (never
  downloaded), e.g. ``ted_hrlr_translate/pt_to_en`` or
  ``wmt14_translate/de-en``; its own train, validation and test splits. The
  config's name says the languages, source first (``pt_to_en``, ``de-en``);
  ``direction`` en-de turns a German-English set around.

Every example is a ``Pair``: one source text and all its reference
translations. A Ding entry lists synonyms on both sides (``;``): each
source-side synonym is a source with every target-side synonym as a
reference, and all of them stay on the same side of the split, so no
test sentence has a synonym in training. Ding marks optional words with
parentheses (``Das kommt (überhaupt) nicht infrage!``) and alternatives with
a slash (``his final/last appearance``): a source reads the first variant
(without the optional words, the first alternative); the references hold
every variant. Entries with spaced alternatives (``zu erfahren / erfragen``)
are left out: which words they replace is not marked.

The split is 90/5/5 by a hash of the entry's key (the first German synonym,
or a TSV line's source), the same on every machine; a source that Ding lists
again in another entry is dropped from training (or validation) when it is
held out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import lzma
import re
from pathlib import Path

from rnnkit.errors import InputError

EMBEDDED = Path(__file__).with_name("assets") / "pairs.tsv.xz"
DIRECTIONS = ("de-en", "en-de")
SPLITS = ("train", "validation", "test")
MAX_LINE = 2000  # characters: longer lines in a user's file are an error, not a sentence
_OPTIONAL = re.compile(r"\s*\(([^()]*)\)")
_SLASHED = re.compile(r"(\w[\w'-]*)/(\w[\w'-]*)")


@dataclasses.dataclass(frozen=True)
class Pair:
    """One example: the source text and every reference translation."""

    source: str
    references: tuple[str, ...]
    kind: str = "sentence"  # or "phrase", "word"


def variants(text: str) -> list[str]:
    """Every reading of a Ding text: optional ``(...)`` words out and in, ``a/b`` both ways.

    The first is the plainest: without the optional words, first alternatives.
    """
    readings = []
    for keep in (False, True):
        kept = _OPTIONAL.sub((lambda m: " " + m.group(1)) if keep else "", text)
        for pick in (1, 2):
            reading = _SLASHED.sub(lambda m, pick=pick: m.group(pick), kept)
            reading = re.sub(r"\s+", " ", reading).strip()
            reading = re.sub(r"\s+([.?!,;:])", r"\1", reading)
            if reading and reading not in readings:
                readings.append(reading)
    return readings


def _split_of(key: str) -> str:
    """train 90%, validation 5%, test 5%, by a stable hash of the entry's key."""
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 90 else "validation" if bucket < 95 else "test"


def _entry_pairs(kind: str, german: list[str], english: list[str], direction: str) -> list[Pair]:
    sources, targets = (german, english) if direction == "de-en" else (english, german)
    references = tuple(dict.fromkeys(v for t in targets for v in variants(t)))
    return [Pair(variants(s)[0], references, kind) for s in sources]


def load_embedded(
    direction: str = "de-en", phrases: bool = True, single_words: bool = False
) -> dict[str, list[Pair]]:
    """The embedded pairs, split; phrases and single words (when kept) only ever in
    training."""
    if direction not in DIRECTIONS:
        raise InputError(f"--direction must be one of {', '.join(DIRECTIONS)}: {direction!r}")
    parts: dict[str, list[Pair]] = {split: [] for split in SPLITS}
    text = lzma.decompress(EMBEDDED.read_bytes()).decode("utf-8")
    for line in text.splitlines():
        kind, german, english = line.split("\t")
        german_syn, english_syn = german.split(" ; "), english.split(" ; ")
        if " / " in german + english:
            continue
        split = _split_of(german_syn[0])
        # Phrases of held-out entries are left out; every single word is kept
        # for training (no held-out source is one word, and _without_leaks
        # drops any source that is).
        if kind == "phrase" and (not phrases or split != "train"):
            continue
        if kind == "word":
            if not single_words:
                continue
            split = "train"
        parts[split] += _entry_pairs(kind, german_syn, english_syn, direction)
    return _without_leaks(parts)


def _without_leaks(parts: dict[str, list[Pair]]) -> dict[str, list[Pair]]:
    """No source on two sides: Ding repeats a sentence in other entries (as a synonym, a
    phrase); test wins over validation, validation over training."""
    test = {p.source for p in parts["test"]}
    validation = [p for p in parts["validation"] if p.source not in test]
    held = test | {p.source for p in validation}
    train = [p for p in parts["train"] if p.source not in held]
    return {"train": train, "validation": validation, "test": parts["test"]}


def read_tsv(path: str | Path) -> dict[str, list[Pair]]:
    """A user's pairs file, split by source; every problem is one line naming the file and line."""
    from rnnkit.files import read_utf8

    path = Path(path)
    whole = read_utf8(path, "a UTF-8 text file of tab-separated pairs")
    rows = []
    for number, line in enumerate(whole.split("\n"), 1):
        where = f"{path}:{number}"
        text = line.rstrip("\r")
        if not text.strip():
            continue
        if len(text) > MAX_LINE:
            raise InputError(f"{where}: {len(text)} characters, over the limit of {MAX_LINE}")
        if "\t" not in text:
            raise InputError(f"{where}: no tab between the source and the target")
        source, target = (part.strip() for part in text.split("\t")[:2])
        if not source or not target:
            raise InputError(f"{where}: the {'source' if not source else 'target'} is empty")
        rows.append((source, target))
    if not rows:
        raise InputError(f"{path} holds no pairs")
    parts: dict[str, list[Pair]] = {split: [] for split in SPLITS}
    for pair in _grouped(rows):
        parts[_split_of(pair.source)].append(pair)
    return parts


def _grouped(rows) -> list[Pair]:
    """``(source, target)`` rows as pairs, the targets of one source its references."""
    grouped: dict[str, list[str]] = {}
    for source, target in rows:
        references = grouped.setdefault(source, [])
        if target not in references:
            references.append(target)
    return [Pair(source, tuple(references)) for source, references in grouped.items()]


def _languages(name: str, direction: str) -> tuple[str, str]:
    """The (source, target) feature names of a TFDS translation set's config name."""
    config = name.partition("/")[2].split(":")[0]
    found = re.fullmatch(r"([a-z]+)(?:_to_|-)([a-z]+)", config)
    if found is None:
        raise InputError(
            f"tfds:{name}: name the languages in the config, source first (e.g. "
            "tfds:ted_hrlr_translate/pt_to_en, tfds:wmt14_translate/de-en)"
        )
    source, target = found.groups()
    if {source, target} == {"de", "en"} and direction != f"{source}-{target}":
        source, target = target, source
    return source, target


def read_tfds(name: str, data_dir: str | None, direction: str, limit: int | None = None):
    """A prepared TFDS translation set's splits (the first ``limit`` training pairs)."""
    from rnnkit.tfds import load_prepared

    source, target = _languages(name, direction)
    try:
        splits = load_prepared(name, SPLITS, data_dir)
    except ValueError as e:  # a split the set does not have, a config it does not know
        raise InputError(f"tfds:{name}: {str(e).splitlines()[0]}") from None
    parts = {}
    for split, found in zip(SPLITS, splits):
        if split == "train" and limit:
            found = found.take(limit)
        rows = []
        for example in found.as_numpy_iterator():
            if source not in example or target not in example:
                raise InputError(f"tfds:{name} has {sorted(example)}, not {source} and {target}")
            text = (example[source].decode("utf-8").strip(), example[target].decode("utf-8"))
            if text[0] and text[1].strip():
                rows.append((text[0], text[1].strip()))
        parts[split] = _grouped(rows)
    return parts


def load(
    source: str,
    direction: str = "de-en",
    phrases: bool = True,
    data_dir: str | None = None,
    limit: int | None = None,
    single_words: bool = False,
) -> dict[str, list[Pair]]:
    """The pairs of ``--data SOURCE``, split into train, validation and test; with
    ``limit``, the first ``limit`` training pairs only (a TFDS set reads no more)."""
    if source == "embedded":
        parts = load_embedded(direction, phrases, single_words)
    elif source.startswith("tsv:"):
        parts = read_tsv(source[4:])
    elif source.startswith("tfds:") and source[5:]:
        parts = read_tfds(source[5:], data_dir, direction, limit)
    else:
        raise InputError(f"--data is embedded, tsv:PATH or tfds:NAME, not {source!r}")
    if limit:
        parts["train"] = parts["train"][:limit]
    return parts


def counts(parts: dict[str, list[Pair]]) -> dict[str, int]:
    """Examples per split and kind, for the run's log: ``{"train/sentence": n, ...}``."""
    found = {}
    for split, pairs in parts.items():
        for kind, group in itertools.groupby(sorted(p.kind for p in pairs)):
            found[f"{split}/{kind}"] = len(list(group))
    return found
