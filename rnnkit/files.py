"""Files from elsewhere, read with care; atomic file writes.

``read_utf8`` reads a user's text file whole, refusing binary content and
naming the line of a byte that is not UTF-8. Writes go to a temporary file
in the same folder, then a rename. The temporary name comes from
``mkstemp`` (random, created exclusively), so no file planted at a
predictable name (a symlink to a victim) is written through.
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from rnnkit.errors import InputError


def read_utf8(path: str | os.PathLike, what: str = "text") -> str:
    """A user's UTF-8 text file (a byte-order mark dropped); a missing, binary or non-UTF-8
    file is an ``InputError`` naming it (and the line), ``what`` saying what it should be."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    raw = path.read_bytes()
    if b"\0" in raw[:65536]:
        raise InputError(f"{path} is binary, not {what}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None


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


def check_writable(
    path: str | os.PathLike, *, folder: bool = False, make_parents: bool = False
) -> None:
    """``InputError`` unless ``path`` can be written: checked before a command's work starts.

    A file's folder must exist (unless ``make_parents``: the command makes
    it); with ``folder``, ``path`` is a folder made as needed, under the
    nearest folder that exists. Nothing on the way may
    be a file, and the folder written into must take a new file (tried with
    a ``mkstemp`` file, removed at once: permissions, read-only mounts and
    root all answer truly).
    """
    path = Path(path).absolute()
    if folder and path.exists() and not path.is_dir():
        raise InputError(f"cannot write {path}: it is a file, not a folder")
    if not folder and path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    nearest = path if folder else path.parent
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        raise InputError(f"cannot write {path}: {nearest} is a file, not a folder")
    if not folder and not make_parents and nearest != path.parent:
        raise InputError(f"cannot write {path}: its folder does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=nearest, prefix=".rnnkit-probe-")
    except OSError as e:
        raise InputError(f"cannot write {path}: {nearest} is not writable ({e.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _share(tmp: str) -> None:
    """mkstemp's 0600 would hide the file from other users: the umask's mode instead."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


def write_all(contents: Mapping[Path, bytes]) -> None:
    """Writes every file of ``contents`` or none: all are staged beside their targets first."""
    staged = []
    try:
        for path, content in contents.items():
            path = Path(path)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            _share(tmp)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)


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
        _share(tmp)
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
