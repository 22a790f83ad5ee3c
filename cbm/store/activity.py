"""How many records each author wrote, per kind, over a period: a read-only query across every measure.

The working group's report uses it (docs/adr/0063, 0064). It decodes no envelope: the ``records (kind,
created)`` index answers it. It lives here because SQL stays inside ``cbm/store``.
"""

from __future__ import annotations

import sqlite3


def record_counts(conn: sqlite3.Connection, start: str, end: str) -> list[tuple[str, str, int]]:
    """(kind, author, count) of the records created in ``[start, end)`` (ISO 8601 UTC strings), sorted by kind
    then author; kinds and authors with no record in the period are left out, and so are local ``desk.`` notes."""
    # desk.* records are the watch desk's notes to itself (docs/adr/0148): not activity across the measures
    kinds = [kind for (kind,) in conn.execute("SELECT DISTINCT kind FROM records ORDER BY kind")
             if not kind.startswith("desk.")]
    rows: list[tuple[str, str, int]] = []
    for kind in kinds:  # one range scan of records_kind per kind
        rows += [(kind, author, n) for author, n in conn.execute(
            "SELECT author, COUNT(*) FROM records WHERE kind = ? AND created >= ? AND created < ?"
            " GROUP BY author ORDER BY author", (kind, start, end))]
    return rows


def landed_since(conn: sqlite3.Connection, since: str | None, exclude_author: str) -> list[tuple[str, str, int]]:
    """(author, kind, count) of the records of other authors than ``exclude_author`` that landed here after
    ``since`` (ISO 8601 UTC; None: ever), sorted by author then kind."""
    return [(a, k, n) for a, k, n in conn.execute(
        "SELECT author, kind, COUNT(*) FROM records WHERE author != ? AND received > ? GROUP BY author, kind"
        " ORDER BY author, kind", (exclude_author, since or ""))]
