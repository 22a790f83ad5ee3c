"""A row's content digest: whether a re-imported row is the version we hold, without reading the record that holds
it (docs/adr/0292-a-reimport-skips-unchanged-rows-by-digest.md).

A CERT imports its national feed every day and most rows are yesterday's. The exact path tells an unchanged row
by reading the held version back from its signed batch record (a look-up by id, a look-up by value, a record
parsed); a million of them cost about 30 s of CPU. The index keeps instead, for each current version, the digest
of what makes it that version: its TLP, its audience and its row (id included) in FIELDS order with trailing
nulls dropped, as cbm signs it. A row whose digest is a held one is that version again, byte for byte.

The digest is SHA-256 over canonical JSON (orjson: the same bytes for the same values, different bytes for
different ones), cut to 128 bits: a collision is out of reach as record hashes are, so equal digests stand for
equal rows. Rows that are equal but spelled differently (a dict's keys in another order) get different digests
and take the exact path, which still finds them unchanged: a digest only ever lets a row skip that path.

Only our own party's rows keep one (:func:`kept_for`): a re-import is of our own feed, and only our own current
versions are ever looked up (held.held_digests), so a peer's rows go without (docs/adr/0293).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256
from operator import itemgetter
from typing import Any

import orjson

from cbm.measures.indicators import rows as R
from cbm.store.indexes import Connection

WIDTH = len(R.FIELDS)
SIZE = 16  # bytes kept of the SHA-256
_LAST = itemgetter(-1)


def digests(rows: Sequence[list[Any]], tlp: str, to: Sequence[str]) -> list[bytes | None]:
    """The digest of each of ``rows`` (in FIELDS order, trailing nulls dropped: see :func:`canonical`) as a
    version under ``tlp`` to ``to``; None for a row JSON cannot carry (it never skips the exact path)."""
    head = orjson.dumps([tlp, list(to)])
    try:
        return [sha256(head + text).digest()[:SIZE] for text in map(orjson.dumps, rows)]
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, an integer past 64 bits, a float key
        return [_one(head, row) for row in rows]


def _one(head: bytes, row: list[Any]) -> bytes | None:
    try:
        return sha256(head + orjson.dumps(row)).digest()[:SIZE]
    except TypeError:
        return None


def kept_for(conn: Connection, author: str) -> bool:
    """Whether the rows ``author`` signed keep their digest in this store's index: the store's own party's do,
    whichever key signed them and however they came (a bundle relaying them back, ``store rebuild``); a peer's
    rows never do, since only our own feed is re-imported and looked up by digest (docs/adr/0293). A store with
    no party of its own yet keeps every row's, as before. A function of the records and the store's own party
    alone, so a rebuild gives the same index. One look-up a batch."""
    own = conn.execute("SELECT party FROM parties WHERE is_self = 1").fetchone()
    return own is None or own[0] == author


def canonical(rows: list[list[Any]]) -> list[list[Any]]:
    """``rows`` (lists in FIELDS order, each with an id and a type) cut to FIELDS and with trailing nulls dropped,
    the form cbm signs; ``rows`` itself when every row already has it (a batch cbm wrote: checked in C)."""
    if not rows or (max(map(len, rows)) <= WIDTH and None not in map(_LAST, rows)):
        return rows
    return [R.trim(row[:WIDTH]) for row in rows]


class HeldDigests:
    """A set of digests kept in about 21 bytes each rather than a Python set's 100 (1M held: 21 MB, not 100):
    65,536 buckets by the first two bytes, each the digests of its bucket laid end to end, searched in C. Asked
    about a million times in a re-import of a 1M feed, at well under a microsecond each."""

    def __init__(self) -> None:
        self._buckets = [bytearray() for _ in range(1 << 16)]
        self._count = 0

    def add_all(self, digests: Iterable[bytes | None]) -> None:
        """Add each digest of ``digests`` (None, or a value of another size, is left out)."""
        buckets, added = self._buckets, 0
        for digest in digests:
            if type(digest) is bytes and len(digest) == SIZE:
                buckets[digest[0] << 8 | digest[1]] += digest
                added += 1
        self._count += added

    def discard(self, digest: bytes | None) -> None:
        if digest is None or len(digest) != SIZE:
            return
        bucket = self._buckets[digest[0] << 8 | digest[1]]
        while (at := _find(bucket, digest)) >= 0:  # every copy: a digest added twice is still gone
            del bucket[at:at + SIZE]
            self._count -= 1

    def __contains__(self, digest: object) -> bool:
        return type(digest) is bytes and len(digest) == SIZE and self.holds([digest])[0]

    def holds(self, digests: Iterable[bytes | None]) -> list[bool]:
        """Whether each of ``digests`` (each of SIZE bytes, or None: never held) is held, in one loop."""
        buckets, size = self._buckets, SIZE
        out: list[bool] = []
        append = out.append
        for digest in digests:
            if digest is None:
                append(False)
                continue
            bucket = buckets[digest[0] << 8 | digest[1]]
            at = bucket.find(digest)
            append(at >= 0 and (not at % size or _find(bucket, digest) >= 0))
        return out

    def __len__(self) -> int:
        return self._count


def _find(bucket: bytearray, digest: bytes) -> int:
    """Where ``digest`` starts in ``bucket`` as one of its digests (not across two), or -1."""
    at = bucket.find(digest)
    while at > 0 and at % SIZE:
        at = bucket.find(digest, at + 1)
    return at
