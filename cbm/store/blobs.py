"""Content-addressed files beside the database (white papers, attachments): ``blobs/ab/abcdef…``.

Written by streaming through SHA-256 into a temporary file, fsync'd and atomically renamed, so a blob is
either complete and correct under its name or absent. A record that depends on blobs lists their hashes in
``body["blobs"]``; bundles carry the blobs a recipient lacks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cbm.core.errors import NotFound, TamperedContent, UsageError
from cbm.core.fields import is_sha256_hex

CHUNK = 1024 * 1024


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not is_sha256_hex(digest):
            raise UsageError(f"{digest!r} is not a SHA-256 hex digest")
        return self.root / digest[:2] / digest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, source: BinaryIO, expected: str | None = None, max_bytes: int | None = None) -> tuple[str, int]:
        """Stream ``source`` into the store; returns (sha256 hex, size).

        With ``expected``, refuses (TamperedContent) content whose hash differs, storing nothing.
        """
        tmp, digest, size = self._written(source, expected, max_bytes)
        try:
            self._publish(tmp, digest)
        except BaseException:
            _remove(tmp)
            raise
        return digest, size

    def _written(self, source: BinaryIO, expected: str | None, max_bytes: int | None) -> tuple[str, str, int]:
        """``source`` written whole to a temporary file beside the blobs, fsync'd and its hash checked: (its path,
        sha256 hex, size). Nothing is left behind on any error."""
        import hashlib  # OpenSSL: where a blob is written or read, not for every command that opens a store
        import tempfile  # tempfile and the durable rename: for writers only, not every command that opens a store

        self.root.mkdir(parents=True, exist_ok=True)
        hasher, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TamperedContent(f"attachment is longer than its declared {max_bytes} bytes")
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            if expected is not None and digest != expected:
                raise TamperedContent(f"attachment content does not match its hash {expected[:12]}")
            return tmp, digest, size
        except BaseException:
            _remove(tmp)
            raise

    def _publish(self, tmp: str, digest: str) -> None:
        """The written file ``tmp`` under its name ``digest``, durably (the rename survives a power loss)."""
        from cbm.core.files import replace_durably

        final = self.path(digest)
        final.parent.mkdir(exist_ok=True)
        replace_durably(tmp, final)

    def put_file(self, path: Path) -> tuple[str, int]:
        try:
            with open(path, "rb") as source:
                return self.put(source)
        except OSError as e:
            raise NotFound(f"cannot read {path}: {e.strerror}") from e

    def read(self, digest: str) -> Iterator[bytes]:
        """Stream a blob, re-checking its hash at the end (TamperedContent if the file was altered)."""
        path = self.path(digest)
        if not path.is_file():
            raise NotFound(f"attachment {digest[:12]} is not in this store")
        import hashlib

        hasher = hashlib.sha256()
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK):
                hasher.update(chunk)
                yield chunk
        if hasher.hexdigest() != digest:
            raise TamperedContent(f"stored attachment {digest[:12]} has been altered on disk")


class StagedBlobs:
    """Blobs written and hash-checked, not yet under their names: :meth:`publish` gives them their names once
    what brought them (a bundle) has been verified whole; leaving the ``with`` block removes whatever was not
    published. So a refused bundle leaves no attachment behind, even one that checked out before a later part of
    the bundle failed: refused bundles cannot fill a store's disk (docs/adr/0305)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._waiting: dict[str, str] = {}  # sha256 hex -> its temporary file

    def __enter__(self) -> StagedBlobs:
        return self

    def __exit__(self, *exc: object) -> None:
        for tmp in self._waiting.values():
            _remove(tmp)
        self._waiting.clear()

    def put(self, source: BinaryIO, expected: str, max_bytes: int) -> None:
        """Write ``source`` (whose hash must be ``expected``) aside until :meth:`publish`."""
        if expected in self._waiting:
            return
        tmp, digest, _size = self.blobs._written(source, expected, max_bytes)
        self._waiting[digest] = tmp

    def publish(self) -> int:
        """Give every blob written aside its name in the store; how many."""
        count = 0
        for digest, tmp in list(self._waiting.items()):
            self.blobs._publish(tmp, digest)
            del self._waiting[digest]
            count += 1
        return count


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
