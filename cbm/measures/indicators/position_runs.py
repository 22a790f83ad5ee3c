"""Where the indicators a filter selects live, read for the STIX export a range of index keys at a time: one
aggregate row per range, built by SQLite, in place of one Python row per indicator
(docs/adr/0231-stix-export-position-runs.md). Call through ``store.query(position_runs, f)``."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

import orjson

from cbm.measures.indicators.queries import Filter, where_of
from cbm.store.indexes import Connection

# Keys read at a time by position_runs: a range of k, one aggregate row per range (~200 kB of JSON, ~1.5 MB as
# Python lists).
RUN_KEYS = 1 << 14


def position_runs(conn: Connection, f: Filter, span: int = RUN_KEYS) -> Iterator[tuple[int, list[int], list[int]]]:
    """(rec, positions, revoked flags 1/0) of the current indicators matching ``f``, in landing order, in runs of
    consecutive ones from one batch record: the rows of ``queries.positions``, and as many with ``f.limit``. A
    record's consecutive rows may come in more than one run (one ends at each range of ``span`` keys).

    SQLite steps through the rows, not Python: each range of keys is one row of three JSON arrays, built in
    key order (a scan of the integer primary key range, no other index allowed), parsed by orjson
    (docs/adr/0231-stix-export-position-runs.md). Streams."""
    where, args = where_of(f)
    sql = ("SELECT json_group_array(rec), json_group_array(pos), json_group_array(revoked IS NOT NULL) FROM ind"
           " NOT INDEXED WHERE k >= ? AND k < ?" + (" AND " + where.removeprefix(" WHERE ") if where else ""))
    left = f.limit
    low = conn.execute("SELECT MIN(k) FROM ind").fetchone()[0]
    while low is not None and (left is None or left > 0):
        recs, poss, revoked = map(orjson.loads, conn.execute(sql, (low, low + span, *args)).fetchone())
        if left is not None:
            del recs[left:], poss[left:], revoked[left:]
            left -= len(recs)
        start = 0
        for rec, same in groupby(recs):
            end = start + len(list(same))
            yield rec, poss[start:end], revoked[start:end]
            start = end
        low = conn.execute("SELECT MIN(k) FROM ind WHERE k >= ?", (low + span,)).fetchone()[0]
