"""Stream plumbing for bundle layers: chunk iterators as file objects, spooling with a hash, hashing writers."""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any, BinaryIO

from cbm.core.errors import TamperedContent

COPY_CHUNK = 1024 * 1024
_TEMP_DIR: ContextVar[Path | None] = ContextVar("cbm_bundle_temp_dir", default=None)


@contextmanager
def temporary_directory(path: Path) -> Iterator[None]:
    """Put this work's temporary files in ``path`` (e.g. the store's own disk, not a RAM-backed /tmp)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = _TEMP_DIR.set(path)
    try:
        yield
    finally:
        _TEMP_DIR.reset(token)


def temporary(prefix: str) -> IO[bytes]:
    """An anonymous temporary file (deleted on close) in the current temporary directory."""
    directory = _TEMP_DIR.get()
    return tempfile.TemporaryFile(prefix=prefix, dir=str(directory) if directory else None)


class _IterRaw(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class LineReader:
    """Reads a binary stream by lines and bytes, as ``readline(size)`` and ``read(n)`` of a file object do, finding
    each newline with one ``bytes.find`` (memchr) in a buffer it reads ahead into and reuses. io's own
    ``readline`` scans byte by byte: 0.25-0.45 s of CPU for the 238 MB of a 1M-indicator bundle
    (docs/adr/0240-bundle-lines-found-by-memchr.md). Each read fills the buffer's free room (at least ``chunk``
    bytes), so the stream underneath runs up to the buffer's size ahead of what was returned; the buffer starts at
    two chunks, grows to about twice the longest line met, and is reused so that no new memory is mapped (and
    faulted in) for each ~1.8 MB line."""

    def __init__(self, raw: BinaryIO | IO[bytes], chunk: int = COPY_CHUNK) -> None:
        self._raw, self._chunk = raw, chunk
        self._buf = bytearray(2 * chunk)
        self._view = memoryview(self._buf)
        self._start = self._end = 0  # the unread bytes: self._buf[self._start:self._end]

    def _more(self) -> bool:
        """Read the next chunk in after what is left unread (moved to the front; the buffer doubled when that
        leaves less than a chunk of room); False at the end of the stream."""
        left = self._end - self._start
        if self._start:
            self._view[:left] = self._view[self._start:self._end]
            self._start, self._end = 0, left
        if len(self._buf) - left < self._chunk:
            self._view.release()
            self._buf.extend(bytes(len(self._buf)))
            self._view = memoryview(self._buf)
        got = self._raw.readinto(self._view[left:])  # type: ignore[union-attr]
        if not got:
            return False
        self._end += got
        return True

    def _take(self, end: int) -> bytes:
        data = bytes(self._view[self._start:end])
        self._start = end
        return data

    def _next_line(self, size: int) -> tuple[int, bool]:
        """Where the next line (of at most ``size`` bytes with its newline; ``size`` < 0: no limit) ends in the
        buffer, and whether a newline ends it there (False: the limit or the end of the stream came first)."""
        while True:
            stop = self._end if size < 0 else min(self._end, self._start + size)
            end = self._buf.find(b"\n", self._start, stop)
            if end >= 0:
                return end, True
            if size >= 0 and stop - self._start >= size:
                return stop, False  # ``size`` bytes and no newline among them
            if not self._more():
                return self._end, False  # the last line, without a newline (or nothing)

    def readline(self, size: int = -1) -> bytes:
        """The next line with its newline; at most ``size`` bytes (``size`` < 0: no limit); b"" at the end."""
        end, newline = self._next_line(size)
        return self._take(end + 1 if newline else end)

    def readline_split(self, size: int = -1) -> tuple[bytes, bool]:
        """:meth:`readline` as (the line without its newline, whether it had one), with no second copy of the
        line to drop the newline (a ~1.8 MB copy per record, and the page faults of a second large block)."""
        end, newline = self._next_line(size)
        line = self._take(end)
        self._start += newline
        return line, newline

    def read(self, size: int = -1) -> bytes:
        """The next ``size`` bytes (all that is left when ``size`` < 0), fewer only at the end of the stream."""
        while (size < 0 or self._end - self._start < size) and self._more():
            pass
        return self._take(self._end if size < 0 else min(self._end, self._start + size))


def stream_of(chunks: Iterator[bytes]) -> BinaryIO:
    """A readable binary file object over an iterator of byte chunks (errors surface on read)."""
    return io.BufferedReader(_IterRaw(chunks), buffer_size=COPY_CHUNK)


def chunks_of(stream: BinaryIO, size: int = COPY_CHUNK) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _checked_chunks(stream: BinaryIO, declared_size: int, declared_sha256: str, what: str) -> Iterator[bytes]:
    """The rest of ``stream`` in chunks, checked against the signed size and SHA-256 as they pass; the last
    checks run after the last chunk, so read it to the end. Raises TamperedContent when the bytes are longer,
    shorter (truncated) or different."""
    hasher, size = hashlib.sha256(), 0
    while chunk := stream.read(min(COPY_CHUNK, declared_size - size + 1)):
        size += len(chunk)
        if size > declared_size:
            raise TamperedContent(f"{what} is longer than its signed manifest says ({declared_size} bytes)")
        hasher.update(chunk)
        yield chunk
    if size < declared_size:
        raise TamperedContent(f"{what} is truncated: {size} of {declared_size} bytes")
    if hasher.hexdigest() != declared_sha256:
        raise TamperedContent(f"{what} does not match its signed hash: the bytes were altered")


def spool(stream: BinaryIO, declared_size: int, declared_sha256: str, what: str) -> IO[bytes]:
    """Copy the rest of ``stream`` to a temporary file, checking its size and SHA-256 against the signed values.

    Constant memory. Raises TamperedContent when the bytes are longer, shorter (truncated) or different.
    Returns the file positioned at its start.
    """
    out = temporary("cbm-bundle-")
    try:
        for chunk in _checked_chunks(stream, declared_size, declared_sha256, what):
            out.write(chunk)
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise


def check_in_place(stream: BinaryIO, declared_size: int, declared_sha256: str, what: str) -> None:
    """For a seekable source: check the rest of it against the signed size and hash, then return to where it
    was — no copy needed. Raises TamperedContent as :func:`spool` does."""
    start = stream.tell()
    for _ in _checked_chunks(stream, declared_size, declared_sha256, what):
        pass
    stream.seek(start)


def seekable(stream: BinaryIO | IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


class HashingWriter:
    """Writes through to ``target`` while hashing (SHA-256 and, optionally, BLAKE2b-512 for minisign)."""

    def __init__(self, target: BinaryIO | IO[bytes], blake2b: bool = False) -> None:
        self.target = target
        self.sha256 = hashlib.sha256()
        self.blake2b = hashlib.blake2b(digest_size=64) if blake2b else None
        self.size = 0

    def write(self, data: bytes) -> int:
        self.target.write(data)
        self.sha256.update(data)
        if self.blake2b is not None:
            self.blake2b.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.target.flush()
