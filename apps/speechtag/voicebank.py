"""The voices of the generated corpus: eSpeak NG's accents and variants, by split.

Voices are an accent with a variant (``en-us+f3``). The split is by voice:
validation and test use accent/variant pairs never heard in training (the
test part has an accent of its own, ``en-us-nyc``, and variants of its own),
and two families of voices (``FAMILIES``: the Klatt synthesizer's, the
female ones) are held out whole as test splits of their own. ``mixed_variant``
makes a new variant from the training variants' files (``Settings.mixed``).
"""

from __future__ import annotations

import numpy as np

# Every English accent eSpeak NG ships (en-Shaw is a spelling, not an accent).
ACCENTS = (
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
VARIANTS = (
    "",
    *(f"f{i}" for i in range(1, 6)),
    *(f"m{i}" for i in range(1, 9)),
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "adam",
    "Andy",
    "Annie",
    "aunty",
    "benjamin",
    "caleb",
    "david",
    "edward",
    "grandpa",
    "iven",
    "john",
    "linda",
    "max",
    "norbert",
    "paul",
    "quincy",
    "robert",
    "steph",
    "travis",
)
# More voices for training alone (corpus version 5): every other variant
# eSpeak NG ships whose file draws neither with the Klatt synthesizer nor as
# a female voice (no ``gender female``, a base pitch under 140 Hz), so the
# held-out families stay unheard; ``test_more_training_voices_stay_outside_
# the_families`` reads the files. Only the training accents get them, so
# the other splits keep version 4's texts, voices and prosody (eSpeak carries
# a little state from one utterance to the next, so most of their bytes
# differ: timing by milliseconds; the Klatt family's are the same). eSpeak's
# other Klatt and female variants are used nowhere.
TRAIN_ONLY_VARIANTS = (
    "Alex",
    "AnxiousAndy",
    "Demonic",
    "Denis",
    "Diogo",
    "Gene",
    "Gene2",
    "Henrique",
    "Hugo",
    "Jacky",
    "Lee",
    "Marco",
    "Mario",
    "Michael",
    "Mike",
    "Nguyen",
    "RicishayMax",
    "RicishayMax2",
    "RicishayMax3",
    "Storm",
    "Tweaky",
    "antonio",
    "boris",
    "croak",
    "ed",
    "fast",
    "gustave",
    "ian",
    "iven2",
    "iven3",
    "iven4",
    "kaukovalta",
    "marcelo",
    "michel",
    "miguel",
    "pablo",
    "pedro",
    "rob",
    "robosoft4",
    "robosoft5",
    "robosoft7",
    "sandro",
    "shelby",
    "victor",
    "whisper",
)
TEST_ACCENTS = ("en-us-nyc",)
TEST_VARIANTS = ("m6", "grandpa", "quincy")
VALIDATION_VARIANTS = ("m3", "john")
# Whole families of voices held out of training and validation, each a test
# split of its own, so a test asks what a user's recordings ask: every
# variant eSpeak NG draws with its Klatt synthesizer (their files say
# ``klatt``), and every female voice (``gender female``).
FAMILIES = {
    "klatt": (
        "klatt",
        "klatt2",
        "klatt3",
        "klatt4",
        "adam",
        "benjamin",
        "caleb",
        "david",
        "edward",
    ),
    "female": ("f1", "f2", "f3", "f4", "f5", "Annie", "aunty", "linda", "steph"),
}
SPLITS = ("train", "validation", "test", *FAMILIES)


def voices(split: str) -> list[str]:
    """The ``accent+variant`` voices of a split; no voice is in two splits."""
    out = []
    for accent in ACCENTS:
        for variant in VARIANTS:
            family = next((f for f, members in FAMILIES.items() if variant in members), None)
            if family:
                part = family
            elif accent in TEST_ACCENTS or variant in TEST_VARIANTS:
                part = "test"
            elif variant in VALIDATION_VARIANTS:
                part = "validation"
            else:
                part = "train"
            if part == split:
                out.append(f"{accent}+{variant}" if variant else accent)
        if split == "train" and accent not in TEST_ACCENTS:
            out.extend(f"{accent}+{variant}" for variant in TRAIN_ONLY_VARIANTS)
    return out


def describe_split(split: str) -> str:
    if split in FAMILIES:
        return f"the {split} voice family ({', '.join(FAMILIES[split])}), never heard in training"
    if split == "test":
        return (
            f"accent {', '.join(TEST_ACCENTS)} and variants {', '.join(TEST_VARIANTS)} "
            "(outside the held-out families); none heard in training"
        )
    if split == "validation":
        return f"variants {', '.join(VALIDATION_VARIANTS)} of the training accents"
    return "the other accent/variant pairs"


# The name of a mixed variant: this and its seed (under 2**31). eSpeak NG
# aborts (a buffer overflow) on a variant name of 21 characters or more.
MIX_PREFIX = "mix-"
# Settings a mixed variant never takes from a donor: what names the file.
_NOT_MIXED = ("language", "name", "gender")


def variant_settings(text: str) -> dict[str, str]:
    """A variant file's settings, one line each: ``{"formant1": "formant 1 95 110 60", ...}``
    (each formant apart; comments and unknown lines dropped; the first of a repeat wins)."""
    found = {}
    for line in text.splitlines():
        words = line.split("//")[0].split()
        if not words or words[0].startswith("#") or not words[0].isalpha():
            continue
        key = words[0].lower()
        if key == "formant":
            if len(words) < 2:
                continue
            key += words[1]
        found.setdefault(key, " ".join(words))
    return found


def mixed_variant(name: str, donors: dict[str, str], seed: int) -> str:
    """A new variant file: each setting (each formant apart) of a donor drawn at random.

    ``donors``: variant name -> file text (the training variants). A donor
    without a setting gives eSpeak's default for it. So every mixed voice is
    made of what training hears, in combinations no file has."""
    rng = np.random.default_rng(seed)
    parsed = [variant_settings(donors[d]) for d in sorted(donors)]
    keys = sorted(set().union(*parsed) - set(_NOT_MIXED))
    lines = ["language variant", f"name {name}"]
    for key in keys:
        line = parsed[int(rng.integers(len(parsed)))].get(key)
        if line:
            lines.append(line)
    return "\n".join(lines) + "\n"


def training_variants() -> list[str]:
    """The variants training hears (the donors of mixed voices), sorted."""
    return sorted({v.split("+", 1)[1] for v in voices("train") if "+" in v})
