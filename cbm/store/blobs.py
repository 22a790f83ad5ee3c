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
        import hashlib  # OpenSSL: where a blob is written or read, not for every command that opens a store
        import tempfile  # tempfile and the durable rename: for writers only, not every command that opens a store

        from cbm.core.files import replace_durably

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
            final = self.path(digest)
            final.parent.mkdir(exist_ok=True)
            replace_durably(tmp, final)
            return digest, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

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
