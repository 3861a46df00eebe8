"""Atomic file writes: a temporary file in the same folder, then a rename.

The temporary name comes from ``mkstemp`` (random, created exclusively), so
no file planted at a predictable name (a symlink to a victim) is written
through.
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rnnkit.errors import InputError


def inside(folder: str | os.PathLike, name, where: str) -> Path:
    """``folder / name``, when a data file's ``name`` stays inside ``folder``.

    An absolute name, or one that resolves outside the folder (``..``, a
    symlink that leads out), is refused with an ``InputError`` naming the
    entry, before anything outside is looked at.
    """
    if not isinstance(name, str) or not name.strip() or "\0" in name:
        raise InputError(f"{where}: {name!r} is not a file name")
    if Path(name).is_absolute():
        raise InputError(f"{where}: {name!r} is an absolute path; names must be inside {folder}")
    path = Path(folder) / name
    if not path.resolve().is_relative_to(Path(folder).resolve()):
        raise InputError(f"{where}: {name!r} leads outside {folder}")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """A fresh temporary path beside ``path`` for a writer that takes a file name.

    When the block ends without an error the file is renamed over ``path``;
    otherwise it is removed. ``suffix``: a name ending the writer insists on
    (Keras's ``.weights.h5``).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, content: bytes) -> None:
    """Writes ``content`` so that readers see the old file or the whole new one, never a part."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)


def write_text(path: str | os.PathLike, text: str) -> None:
    """``write_bytes`` of ``text`` in UTF-8."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, data) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")
