"""Derived index of bundle receipts: how far each party has acknowledged each author's log.

A ``bundle.receipt`` record by party P says: "I hold every record of author A up to ``seq`` (whose hash is
``hash``)", per author in ``body["logs"]``. From it: what a peer still needs (bundle export), and whether a
given record was delivered (inquiry, hotline, white paper states).
"""

from __future__ import annotations

import sqlite3

from cbm.store.indexes import STORE_INDEX_VERSIONS, Index

TYPE_CHECKING = False  # typing.TYPE_CHECKING, spelled as cbm.cli.main does
if TYPE_CHECKING:
    from cbm.core.records import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    by_party TEXT NOT NULL,
    author   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    hash     TEXT NOT NULL,
    receipt  TEXT NOT NULL,
    created  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by ON receipts (by_party, author, seq);
"""


def _add(conn: sqlite3.Connection, records: list[Record]) -> None:
    rows = []
    for r in records:
        logs = r.body.get("logs")
        if not isinstance(logs, dict):
            continue
        for author, pos in logs.items():
            if isinstance(pos, dict) and isinstance(pos.get("seq"), int) and isinstance(pos.get("hash"), str):
                rows.append((r.author, author, pos["seq"], pos["hash"], r.hash, r.created))
    conn.executemany("INSERT INTO receipts (by_party, author, seq, hash, receipt, created)"
                     " VALUES (?, ?, ?, ?, ?, ?)", rows)


INDEX = Index(name="receipts", version=STORE_INDEX_VERSIONS["receipts"],
              kinds=("bundle.receipt",), tables=("receipts",), schema=SCHEMA, add=_add)


def acknowledged(conn: sqlite3.Connection, by_party: str, author: str) -> tuple[int, str | None, str | None]:
    """(seq of ``author``'s log that ``by_party``'s newest receipt acknowledges, its hash, when) or (0, None, None).

    The newest, not the highest: a position can go back when a withheld range that a third party claimed is
    overridden by the author's own records (docs/adr/0110-claims-about-a-log.md), and the sender must then
    carry those positions again. A party's receipts land in its log order, so row order is receipt order.
    """
    row = conn.execute("SELECT seq, hash, created FROM receipts WHERE by_party = ? AND author = ?"
                       " ORDER BY rowid DESC LIMIT 1", (by_party, author)).fetchone()
    return (row[0], row[1], row[2]) if row else (0, None, None)


def delivered_at(conn: sqlite3.Connection, by_party: str, author: str, seq: int) -> str | None:
    """When ``by_party`` first acknowledged holding ``author``'s record ``seq`` (its receipt's created time)."""
    row = conn.execute("SELECT MIN(created) FROM receipts WHERE by_party = ? AND author = ? AND seq >= ?",
                       (by_party, author, seq)).fetchone()
    return row[0] if row and row[0] else None
