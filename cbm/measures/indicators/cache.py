"""Reading indicators back from their signed batch records: a few parsed batches kept, since listings and exports
walk the index in landing order."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

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
