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
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from operator import itemgetter
from typing import Any

import orjson

from cbm.measures.indicators import rows as R

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


def canonical(rows: list[list[Any]]) -> list[list[Any]]:
    """``rows`` (lists in FIELDS order, each with an id and a type) cut to FIELDS and with trailing nulls dropped,
    the form cbm signs; ``rows`` itself when every row already has it (a batch cbm wrote: checked in C)."""
    if not rows or (max(map(len, rows)) <= WIDTH and None not in map(_LAST, rows)):
        return rows
    return [R.trim(row[:WIDTH]) for row in rows]
