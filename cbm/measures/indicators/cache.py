"""Reading indicators back from their signed batch records: a few parsed batches kept, since listings and exports
walk the index in landing order."""

from __future__ import annotations

import binascii
from collections import OrderedDict
from typing import Any, NamedTuple

import orjson
import pybase64

from cbm.core.records import Record
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import queries
from cbm.measures.indicators import rows as R
from cbm.store.db import Store, record_from_row


class RecordCache:
    """Parsed batch records by records.id; a few kept, since listings walk the index in landing order."""

    def __init__(self, store: Store, size: int = 4) -> None:
        self.store = store
        self.size = size
        self.cache: OrderedDict[int, tuple[Record, list[list[Any]]]] = OrderedDict()
        self._last_rec = -1
        self._last: tuple[Record, list[list[Any]]] | None = None

    def get(self, rec: int) -> tuple[Record, list[list[Any]]]:
        if rec == self._last_rec and self._last is not None:
            return self._last
        hit = self.cache.get(rec)
        if hit is None:
            record = record_from_row(*self.store.query(queries.envelope, rec))
            hit = (record, R.rows_of(record.body))
            self.cache[rec] = hit
            if len(self.cache) > self.size:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(rec)
        self._last_rec, self._last = rec, hit
        return hit

    def row(self, r: ix.IndicatorRow) -> list[Any]:
        return self.get(r.rec)[1][r.pos]


class Batch(NamedTuple):
    """One stored ``indicators.batch`` record, as an export reads it: what every row of it shares (author, TLP,
    the version time ``created``), its rows in FIELDS order, and the related STIX objects it carries."""

    rec: int
    author: str
    tlp: str
    created: str
    rows: list[list[Any]]
    objects: list[Any]


def read_batch(store: Store, rec: int) -> Batch:
    """Record ``rec`` (a records.id) as a Batch. Raises StoreCorrupt if its stored bytes no longer parse.

    The stored bytes were verified and strictly parsed when they landed (``cbm store verify`` checks them
    again), so a plain orjson parse reads them back, the payload decoded by pybase64 (SIMD: a 1M-indicator
    export decodes 290 MB of base64, 0.9 s with the standard library; docs/adr/0220-pybase64.md); anything
    these refuse (URL-safe base64, deeper than 254 levels, integers past 64 bits) goes through the strict
    reader."""
    envelope, keyid = store.query(queries.envelope, rec)
    try:
        doc = orjson.loads(pybase64.b64decode(orjson.loads(envelope)["payload"], validate=True))
        author, tlp, created, body = doc["author"], doc["tlp"], doc["created"], doc["body"]
        if type(body) is not dict or type(author) is not str or type(tlp) is not str or type(created) is not str:
            raise ValueError("not a record")
    except (ValueError, TypeError, KeyError, binascii.Error):  # orjson.JSONDecodeError is a ValueError
        record = record_from_row(envelope, keyid)
        author, tlp, created, body = record.author, record.tlp, record.created, record.body
    objects = body.get("objects")
    return Batch(rec, author, tlp, created, R.rows_of(body), objects if type(objects) is list else [])


class BatchReader:
    """Batches by records.id for an export walking the index in landing order: the last few kept (rows of one
    batch come together; a new version lands after the rows of its batch that were new)."""

    def __init__(self, store: Store, size: int = 4) -> None:
        self.store = store
        self.size = size
        self.kept: OrderedDict[int, Batch] = OrderedDict()

    def get(self, rec: int) -> Batch:
        """Batch ``rec``; raises StoreCorrupt (see :func:`read_batch`)."""
        batch = self.kept.get(rec)
        if batch is None:
            batch = self.kept[rec] = read_batch(self.store, rec)
            if len(self.kept) > self.size:
                self.kept.popitem(last=False)
        else:
            self.kept.move_to_end(rec)
        return batch
