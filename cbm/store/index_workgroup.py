"""Read-only activity queries for the working group's report (no derived tables).

The working group folds its own records directly (few hundred records a year; docs/adr/0063), so this index
owns no tables and folds no kinds. It exists because SQL lives only in ``cbm/store``: the report needs record
counts per kind and author over a period across *every* measure, which the ``records (kind, created)`` index
answers without decoding a single envelope.
"""

from __future__ import annotations

import sqlite3

from cbm.core.records import Record
from cbm.store.indexes import Index


def _add(conn: sqlite3.Connection, records: list[Record]) -> None:  # pragma: no cover - folds no kinds
    return None


INDEX = Index(name="workgroup", version=1, kinds=(), tables=(), schema="", add=_add)


def kinds(conn: sqlite3.Connection) -> list[str]:
    """Every record kind in the store (uses the covering ``records_kind`` index)."""
    return [row[0] for row in conn.execute("SELECT DISTINCT kind FROM records ORDER BY kind")]


def activity(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[str, str, int]]:
    """(kind, author, count) of records created in ``[start, end)`` (ISO 8601 UTC strings), sorted."""
    rows: list[tuple[str, str, int]] = []
    for kind in kinds(conn):
        rows += [(kind, author, n) for author, n in conn.execute(
            "SELECT author, COUNT(*) FROM records WHERE kind = ? AND created >= ? AND created < ?"
            " GROUP BY author ORDER BY author", (kind, start, end))]
    return rows
