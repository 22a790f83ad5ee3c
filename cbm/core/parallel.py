"""Ed25519 verification of many signatures on every core (about 16k/s per core here)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import nacl.bindings
import nacl.exceptions

from cbm.core.dsse import pae

# (payload_type, payload, signature, verify_key)
SignatureCheck = tuple[str, bytes, bytes, bytes]
IN_PROCESS_BELOW = 64  # a chunk cut by bytes with fewer records than this is checked in-process


def _check_chunk(args: tuple[int, Sequence[SignatureCheck]]) -> list[int]:
    offset, items = args
    bad = []
    for i, (payload_type, payload, sig, key) in enumerate(items):
        try:
            nacl.bindings.crypto_sign_open(sig + pae(payload_type, payload), key)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            bad.append(offset + i)
    return bad


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class BackgroundVerifier:
    """Checks signatures on worker processes while the caller goes on reading (and hashing) its input.

    Work is sent in chunks bounded by count and bytes, so a stream of few, large records (an indicator batch is
    ~1 MB) keeps every core busy and memory holds only the chunks in flight. Small jobs never start a pool.
    Use as a context manager; :meth:`finish` returns the tags of the checks that failed, in the order added.
    """

    def __init__(self, workers: int | None = None, chunk_items: int = 500,
                 chunk_bytes: int = 8 * 1024 * 1024, max_in_flight: int | None = None) -> None:
        self.workers = workers or cores()
        self.chunk_items, self.chunk_bytes = chunk_items, chunk_bytes
        self.max_in_flight = max_in_flight or self.workers * 2
        self._pool: ProcessPoolExecutor | None = None
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

    def _submit(self) -> None:
        if not self._pending:
            return
        chunk, tags = self._pending, self._pending_tags
        self._pending, self._pending_tags, self._pending_bytes = [], [], 0
        if self.workers == 1 or len(chunk) < IN_PROCESS_BELOW:
            # few, large payloads (indicator batches of ~1 MB): copying them to a worker costs more than the check
            self._failed.extend(tags[i] for i in _check_chunk((0, chunk)))
            self.checked += len(chunk)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        while len(self._in_flight) >= self.max_in_flight:  # bound the memory held by queued chunks
            self._collect(self._in_flight.pop(0))
        self._in_flight.append((self._pool.submit(_check_chunk, (0, chunk)), tags))
        self.checked += len(chunk)

    def _collect(self, job: tuple[Future[list[int]], list[object]]) -> None:
        future, tags = job
        self._failed.extend(tags[i] for i in future.result())

    def finish(self) -> list[object]:
        """Wait for every check; return the tags of those that failed."""
        if self._pool is None and self._pending:
            chunk, tags = self._pending, self._pending_tags  # a small job: no pool worth starting
            self._pending, self._pending_tags, self._pending_bytes = [], [], 0
            self._failed.extend(tags[i] for i in _check_chunk((0, chunk)))
            self.checked += len(chunk)
        self._submit()
        while self._in_flight:
            self._collect(self._in_flight.pop(0))
        return list(self._failed)
