"""What TAXII exchanges remember: each source's pull cursor and which object versions were pushed to it.

Local working state, not derived from records, so not an index (``cbm store rebuild`` must not drop it). Tables
are created on first use. Every function runs inside the caller's transaction, so a page of pulled objects
lands together with the cursor that follows it, and a pushed envelope is remembered together with its status.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS taxii_cursor (source TEXT PRIMARY KEY, added_after TEXT NOT NULL,"
    " updated TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS taxii_pushed (source TEXT NOT NULL, object_id TEXT NOT NULL,"
    " version TEXT NOT NULL, pushed TEXT NOT NULL, PRIMARY KEY (source, object_id, version)) WITHOUT ROWID",
)
_CHUNK = 500


def ensure(conn: sqlite3.Connection) -> None:
    """Create the tables if this store has never used TAXII (inside a write transaction)."""
    for statement in SCHEMA:
        conn.execute(statement)


def _exists(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'taxii_cursor'").fetchone() is not None


def cursor(conn: sqlite3.Connection, source: str) -> str | None:
    """The ``added_after`` value the next pull from ``source`` starts from, or None (from the beginning)."""
    if not _exists(conn):
        return None
    row = conn.execute("SELECT added_after FROM taxii_cursor WHERE source = ?", (source,)).fetchone()
    return str(row[0]) if row else None


def set_cursor(conn: sqlite3.Connection, source: str, added_after: str, now: str) -> None:
    ensure(conn)
    conn.execute("INSERT INTO taxii_cursor (source, added_after, updated) VALUES (?, ?, ?) ON CONFLICT (source)"
                 " DO UPDATE SET added_after = excluded.added_after, updated = excluded.updated",
                 (source, added_after, now))


def pushed(conn: sqlite3.Connection, source: str, versions: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (object id, version) pairs were already pushed to ``source``."""
    if not _exists(conn):
        return set()
    wanted = list(versions)
    found: set[tuple[str, str]] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i:i + _CHUNK]
        ids = sorted({oid for oid, _ in chunk})
        for oid, version in conn.execute(
                f"SELECT object_id, version FROM taxii_pushed WHERE source = ? AND object_id IN"
                f" ({','.join('?' * len(ids))})", [source, *ids]):
            found.add((str(oid), str(version)))
    return found & set(wanted)


def remember_pushed(conn: sqlite3.Connection, source: str, versions: Iterable[tuple[str, str]], now: str) -> None:
    ensure(conn)
    conn.executemany("INSERT OR IGNORE INTO taxii_pushed (source, object_id, version, pushed) VALUES (?, ?, ?, ?)",
                     [(source, oid, version, now) for oid, version in versions])


def pushed_count(conn: sqlite3.Connection, source: str) -> int:
    if not _exists(conn):
        return 0
    return int(conn.execute("SELECT COUNT(*) FROM taxii_pushed WHERE source = ?", (source,)).fetchone()[0])


def forget(conn: sqlite3.Connection, source: str) -> None:
    """Drop everything remembered about ``source`` (it was removed)."""
    if _exists(conn):
        conn.execute("DELETE FROM taxii_cursor WHERE source = ?", (source,))
        conn.execute("DELETE FROM taxii_pushed WHERE source = ?", (source,))
