"""Ed25519 verification of many signatures on every core, beside the caller's own work.

libsodium, called through cffi, runs without the GIL: worker *threads* verify in parallel with each other and
with the caller (which goes on reading and parsing), with no payload copied to another process. Measured on
the 2-core reference machine: 100 checks of 1 MB take 0.40 s in one thread and 0.12 s in two
(docs/adr/0075-verify-threads.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import nacl.bindings
import nacl.exceptions

from cbm.core.dsse import signed_pae

# (payload_type, payload, signature, verify_key)
SignatureCheck = tuple[str, bytes, bytes, bytes]


def _check_chunk(items: Sequence[SignatureCheck]) -> list[int]:
    """Positions in ``items`` whose signature does not verify."""
    bad = []
    for i, (payload_type, payload, sig, key) in enumerate(items):
        try:
            nacl.bindings.crypto_sign_open(signed_pae(sig, payload_type, payload), key)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            bad.append(i)
    return bad


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class BackgroundVerifier:
    """Checks signatures on worker threads while the caller goes on reading (and hashing, and parsing) its input.

    Work is handed over in chunks bounded by count and bytes, so a stream of few, large records (an indicator
    batch is ~1 MB) is checked as it arrives and memory holds only the chunks in flight. With one core, or for a
    job that never fills a chunk, no thread is started. Use as a context manager; :meth:`finish` returns the
    tags of the checks that failed, in the order added.
    """

    def __init__(self, workers: int | None = None, chunk_items: int = 500,
                 chunk_bytes: int = 1024 * 1024, max_in_flight: int | None = None) -> None:
        self.workers = workers or cores()
        self.chunk_items, self.chunk_bytes = chunk_items, chunk_bytes
        self.max_in_flight = max_in_flight or self.workers * 4
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[SignatureCheck] = []
        self._pending_tags: list[object] = []
        self._pending_bytes = 0
        self._in_flight: list[tuple[Future[list[int]], list[object]]] = []
        self._failed: list[object] = []
        self.checked = 0

    def __enter__(self) -> BackgroundVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def add(self, check: SignatureCheck, tag: object) -> None:
        self._pending.append(check)
        self._pending_tags.append(tag)
        self._pending_bytes += len(check[1])
        if len(self._pending) >= self.chunk_items or self._pending_bytes >= self.chunk_bytes:
            self._submit()

    def _take(self) -> tuple[list[SignatureCheck], list[object]]:
        chunk, tags = self._pending, self._pending_tags
        self._pending, self._pending_tags, self._pending_bytes = [], [], 0
        self.checked += len(chunk)
        return chunk, tags

    def _submit(self) -> None:
        if not self._pending:
            return
        if self.workers == 1:
            chunk, tags = self._take()
            self._failed.extend(tags[i] for i in _check_chunk(chunk))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="cbm-verify")
        while len(self._in_flight) >= self.max_in_flight:  # bound the memory held by queued chunks
            self._collect(self._in_flight.pop(0))
        chunk, tags = self._take()
        self._in_flight.append((self._pool.submit(_check_chunk, chunk), tags))

    def _collect(self, job: tuple[Future[list[int]], list[object]]) -> None:
        future, tags = job
        self._failed.extend(tags[i] for i in future.result())

    def finish(self) -> list[object]:
        """Wait for every check; return the tags of those that failed."""
        if self._pool is None and self._pending:  # a small job: no thread worth starting
            chunk, tags = self._take()
            self._failed.extend(tags[i] for i in _check_chunk(chunk))
        self._submit()
        while self._in_flight:
            self._collect(self._in_flight.pop(0))
        return list(self._failed)
