"""Durable file replacement: the store's own files (key file, blobs) and the files cbm writes for users."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from cbm.core.errors import NotFound, UsageError


def replace_durably(tmp: str | Path, final: Path) -> None:
    """Atomically move the already-fsync'd ``tmp`` to ``final`` and fsync the directory, so the new name
    survives a power loss: the file is either the old one or the complete new one."""
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def is_special(path: Path) -> bool:
    """Whether ``path`` names a device, pipe or socket (``/dev/null``, ``/dev/stdout``, a FIFO): written to, never
    replaced."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_output(path: Path) -> None:
    """Raise unless a file can be written at ``path`` (docs/adr/0278-output-paths.md), before any work is done:
    NotFound (exit 5) when its directory does not exist; UsageError (exit 2) when ``path`` is a directory, or
    what should be its directory is a file or cannot be written in. An existing file is fine: it is replaced
    whole. A device, pipe or socket is written to as it is."""
    if is_special(path):
        return
    parent = path.parent if str(path.parent) else Path(".")
    if os.path.isdir(path):
        raise UsageError(f"cannot write {path}: it is a directory", hint="name a file (inside it, or beside it)")
    if not os.path.lexists(parent):
        raise NotFound(f"cannot write {path}: there is no directory {parent}",
                       hint=f"create it first (mkdir -p {parent}), or name a file in a directory that exists")
    if not os.path.isdir(parent):
        raise UsageError(f"cannot write {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: no permission to create files in {parent}")


@contextmanager
def written_atomically(path: Path, *, text: bool = False) -> Iterator[IO[Any]]:
    """A file for ``path`` that appears there only complete: written to a temporary file beside it, fsync'd and
    renamed over ``path`` when the block ends without error; removed, with ``path`` untouched, when it raises.
    A device, pipe or socket (``-o /dev/null``, ``-o /dev/stdout``, a FIFO) is written straight to instead: renamed
    over, it would be replaced by a regular file (as root, ``/dev/null`` itself).
    ``text``: UTF-8 with ``\n`` line ends. A place no file can be written is refused before anything is
    written, as :func:`check_output` says; any other OSError (a full disk) is a UsageError (exit 2),
    "cannot write PATH: reason"."""
    check_output(path)
    if is_special(path):
        try:
            with open(path, "w", encoding="utf-8", newline="\n") if text else open(path, "wb") as out:
                yield out
                out.flush()
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from e
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") if text else os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        replace_durably(tmp, path)
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
