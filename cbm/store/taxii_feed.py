"""Read-only queries behind ``cbm taxii serve``: current indicators of one TLP label in landing order.

Served from the indicator index (``ind``) joined to the record each row lives in: ``date_added`` is the time the
record landed in this store (``records.received``), and the order is the index's landing order ``k`` (a new
version gets a new ``k``), so ``added_after`` and the opaque ``next`` token (the last ``k``) page without gaps.
Each request opens its own read-only connection: the server's threads never share one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from cbm.core.errors import StoreError
from cbm.store import paths


class FeedRow(NamedTuple):
    k: int
    author: str
    id: str
    rec: int
    pos: int
    tlp: str
    modified: str
    revoked: str | None
    received: str


T = TypeVar("T")
_COLUMNS = "i.k, i.author, i.sid, i.rec, i.pos, i.tlp, i.modified, i.revoked, r.received"


def reader(root: Path) -> sqlite3.Connection:
    """A read-only connection to the store at ``root`` (raises StoreError)."""
    try:
        conn = sqlite3.connect(f"file:{root / paths.DATABASE}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA query_only = ON")
        return conn
    except sqlite3.DatabaseError as e:
        raise StoreError(f"cannot read the store database: {e}") from e


def _wrapped(run: Callable[[], T]) -> T:
    try:
        return run()
    except sqlite3.Error as e:
        raise StoreError(f"cannot read the store database: {e}") from e


def page(conn: sqlite3.Connection, tlp: str, *, after_k: int = 0, added_after: str | None = None,
         ids: Sequence[str] = (), limit: int = 1000) -> list[FeedRow]:
    """Up to ``limit`` rows of label ``tlp`` with ``k > after_k``, landed after ``added_after`` (an index-format
    time, ``YYYY-MM-DDTHH:MM:SSZ``), optionally only the given STIX ids, in ``k`` order."""
    where = ["i.tlp = ?", "i.k > ?"]
    args: list[object] = [tlp, after_k]
    if added_after:
        where.append("r.received > ?")
        args.append(added_after)
    if ids:
        where.append(f"i.sid IN ({','.join('?' * len(ids))})")
        args.extend(ids)
    args.append(limit)
    sql = (f"SELECT {_COLUMNS} FROM ind i JOIN records r ON r.id = i.rec WHERE {' AND '.join(where)}"
           " ORDER BY i.k LIMIT ?")
    return _wrapped(lambda: [FeedRow(*row) for row in conn.execute(sql, args)])


def versions(conn: sqlite3.Connection, tlp: str, sid: str) -> list[tuple[str, str]]:
    """(modified, received) of every version of ``sid`` whose current version has label ``tlp``, oldest first."""
    return _wrapped(lambda: _versions(conn, tlp, sid))


def _versions(conn: sqlite3.Connection, tlp: str, sid: str) -> list[tuple[str, str]]:
    current = conn.execute(f"SELECT {_COLUMNS} FROM ind i JOIN records r ON r.id = i.rec WHERE i.sid = ?"
                           " AND i.tlp = ? ORDER BY i.k", (sid, tlp)).fetchall()
    found: list[tuple[str, str]] = []
    for row in current:
        for modified, received in conn.execute(
                "SELECT h.modified, r.received FROM ind_hist h JOIN records r ON r.id = h.rec"
                " WHERE h.sid = ? AND h.author = ? ORDER BY h.rowid", (sid, row[1])):
            found.append((str(modified), str(received)))
        found.append((str(row[6]), str(row[8])))
    return found


def envelope(conn: sqlite3.Connection, rec: int) -> tuple[bytes, str]:
    row = _wrapped(lambda: conn.execute("SELECT envelope, keyid FROM records WHERE id = ?", (rec,)).fetchone())
    return bytes(row[0]), str(row[1])


class FeedReader:
    """A read-only connection to the store at ``root`` for one server request, with the feed's queries: the
    connection stays inside ``cbm/store`` (docs/adr/0100). Raises StoreError."""

    def __init__(self, root: Path) -> None:
        self._conn = reader(root)

    def page(self, tlp: str, *, after_k: int = 0, added_after: str | None = None, ids: Sequence[str] = (),
             limit: int = 1000) -> list[FeedRow]:
        return page(self._conn, tlp, after_k=after_k, added_after=added_after, ids=ids, limit=limit)

    def versions(self, tlp: str, sid: str) -> list[tuple[str, str]]:
        return versions(self._conn, tlp, sid)

    def envelope(self, rec: int) -> tuple[bytes, str]:
        return envelope(self._conn, rec)

    def close(self) -> None:
        self._conn.close()
