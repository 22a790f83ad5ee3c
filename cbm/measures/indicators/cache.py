"""Reading indicators back from their signed batch records: a few parsed batches kept, since listings and exports
walk the index in landing order."""

from __future__ import annotations

import binascii
from collections import OrderedDict
from operator import itemgetter
from typing import Any

import orjson
import pybase64

from cbm.core.records import Record
from cbm.measures.indicators import queries
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.index_shape import IndicatorRow
from cbm.store.db import Store
from cbm.store.record_rows import record_from_row


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

    def row(self, r: IndicatorRow) -> list[Any]:
        return self.get(r.rec)[1][r.pos]


class Batch:
    """One stored ``indicators.batch`` record, as an export reads it: what every row of it shares (author, TLP,
    the version time ``created``), its rows, and the related STIX objects it carries.

    ``rows`` are in FIELDS order and padded (``rows.rows_of``), made at first use; ``signed_rows`` are the same
    rows as signed, trailing nulls dropped (no copy of each row), wherever that is the same list position for
    position: the batch names FIELDS in order and every row is well formed (else they are ``rows``)."""

    __slots__ = ("rec", "author", "tlp", "created", "objects", "_body", "_rows", "_signed")

    def __init__(self, rec: int, author: str, tlp: str, created: str, body: dict[str, Any],
                 objects: list[Any]) -> None:
        self.rec, self.author, self.tlp, self.created, self.objects = rec, author, tlp, created, objects
        self._body = body
        self._rows: list[list[Any]] | None = None
        self._signed: list[list[Any]] | None = None

    @property
    def rows(self) -> list[list[Any]]:
        """The rows in FIELDS order, padded; malformed rows dropped (``rows.rows_of``)."""
        if self._rows is None:
            self._rows = R.rows_of(self._body)
        return self._rows

    @property
    def signed_rows(self) -> list[list[Any]]:
        """The rows as signed (trailing nulls dropped, at least id and type), indexed as :attr:`rows` are."""
        if self._signed is not None:
            return self._signed
        raw: Any = self._body.get("rows")
        in_place = R.column_map(self._body.get("fields")) == _IN_ORDER and _well_formed(raw)
        signed: list[list[Any]] = raw if in_place else self.rows
        self._signed = signed
        return signed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Batch) and (self.rec, self.author, self.tlp, self.created, self.rows,
                                             self.objects) == (other.rec, other.author, other.tlp, other.created,
                                                               other.rows, other.objects)

    __hash__ = None  # type: ignore[assignment]  # compared by content, so not hashable


_IN_ORDER = list(range(len(R.FIELDS)))
_ID, _TYPE = itemgetter(R.ID), itemgetter(R.TYPE)


def _well_formed(rows: Any) -> bool:
    """Whether ``rows_of`` would keep every row of ``rows``: each a list with a string id and a string type
    (checked column by column in C, not row by row in Python)."""
    return type(rows) is list and (not rows or (
        set(map(type, rows)) == {list} and min(map(len, rows)) > R.TYPE
        and set(map(type, map(_ID, rows))) == {str} and set(map(type, map(_TYPE, rows))) == {str}))


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
    return Batch(rec, author, tlp, created, body, objects if type(objects) is list else [])


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
