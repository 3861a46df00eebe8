"""What the speed benchmarks share: their command line."""

import argparse
from collections.abc import Iterable


def speed_parser(doc: str, presets: Iterable[str]) -> argparse.ArgumentParser:
    """``--preset`` (of an untrained model when no SavedModel is given), ``--rounds``, ``--json``.

    Each benchmark adds its own options; ``doc`` is its module docstring.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--preset", default="quick", choices=sorted(presets))
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    return parser
