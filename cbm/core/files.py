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


class StagedFile:
    """Bytes for ``path`` written and fsync'd now, put in place only by :meth:`land` (docs/adr/0290): so a file
    and what it belongs to (a bundle and its ``.minisig``, a new key and its card) land together or not at all.

    Made by :func:`staged`, which refuses a place no file can be written (:func:`check_output`) and turns any
    OSError (a full disk) into a UsageError, "cannot write PATH: reason", before anything else happened. A device,
    pipe or socket cannot hold bytes back: they are written to it at once, and :meth:`land` has nothing to do.
    Until :meth:`land`, an existing file at ``path`` is untouched; :meth:`discard` removes the staged bytes.
    """

    def __init__(self, path: Path, temporary: str | None) -> None:
        self.path = path
        self._temporary = temporary

    def land(self) -> None:
        """Rename the staged bytes over ``path`` (atomically, the directory fsync'd). UsageError if that fails."""
        if self._temporary is None:
            return
        try:
            replace_durably(self._temporary, self.path)
        except OSError as e:
            raise UsageError(f"cannot write {self.path}: {e.strerror}") from e
        finally:
            self.discard()

    def discard(self) -> None:
        """Forget the staged bytes (a no-op once landed, or for a device)."""
        if self._temporary is not None and os.path.exists(self._temporary):
            os.unlink(self._temporary)
        self._temporary = None


class StagedWriter(StagedFile):
    """A file for ``path`` written through :attr:`out` and put in place only by :meth:`land`: like
    :class:`StagedFile` for bytes that are produced as they are written (a bundle). :meth:`finish` flushes and
    fsyncs them, so a full disk shows there, before what the file belongs to commits (docs/adr/0300). A device,
    pipe or socket is written to straight. Refusals and errors as :func:`staged` has them."""

    def __init__(self, path: Path) -> None:
        check_output(path)
        try:
            if is_special(path):
                super().__init__(path, None)
                self.out: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed by finish or discard)
                return
            fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from e
        super().__init__(path, tmp)
        self.out = os.fdopen(fd, "wb")

    def finish(self) -> None:
        """Flush and fsync what was written (a device: flushed); UsageError "cannot write PATH" if that fails."""
        try:
            self.out.flush()
            if self._temporary is not None:
                os.fsync(self.out.fileno())
            self.out.close()
        except OSError as e:
            raise UsageError(f"cannot write {self.path}: {e.strerror}") from e

    def discard(self) -> None:
        try:
            self.out.close()
        except OSError:
            pass  # what could not be written is thrown away: its error was reported where it happened
        super().discard()


def staged(path: Path, data: bytes) -> StagedFile:
    """``data`` written beside ``path`` in a temporary file and fsync'd, not yet in place: see :class:`StagedFile`.
    Refuses as :func:`check_output` does; a full disk is a UsageError and leaves nothing behind."""
    check_output(path)
    if is_special(path):
        try:
            with open(path, "wb") as out:
                out.write(data)
        except OSError as e:
            raise UsageError(f"cannot write {path}: {e.strerror}") from e
        return StagedFile(path, None)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    except OSError as e:
        raise UsageError(f"cannot write {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as e:
        os.unlink(tmp)
        raise UsageError(f"cannot write {path}: {e.strerror}") from e
    return StagedFile(path, tmp)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a side file: ``.minisig``, ``.sig``); refusals and errors as
    :func:`written_atomically` has them."""
    staged(path, data).land()
