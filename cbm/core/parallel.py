"""Ed25519 verification of many signatures on every core (about 16k/s per core here)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import nacl.bindings
import nacl.exceptions

from cbm.core.dsse import pae

# (payload_type, payload, signature, verify_key)
SignatureCheck = tuple[str, bytes, bytes, bytes]
PARALLEL_THRESHOLD = 2000


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


def failed_signatures(items: Sequence[SignatureCheck], workers: int | None = None) -> list[int]:
    """Indexes of the items whose signature does not verify. Uses a process pool for large inputs."""
    workers = workers or cores()
    if len(items) < PARALLEL_THRESHOLD or workers == 1:
        return _check_chunk((0, items))
    size = max(500, len(items) // (workers * 4))
    chunks = [(i, items[i : i + size]) for i in range(0, len(items), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return sorted(i for bad in pool.map(_check_chunk, chunks) for i in bad)
