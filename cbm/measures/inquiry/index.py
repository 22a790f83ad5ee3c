"""Derived index of inquiries: which opening record carries which reference number, and its aliases.

Only facts that never change are indexed (an ``inquiry.open`` record's number, sender, recipient, year and
serial; the recipient's own reference from an ``inquiry.ack``). The state of an inquiry is a fold over its
thread, computed on read by :mod:`cbm.measures.inquiry.model`; overdue is derived from deadlines and the clock,
never stored (docs/adr/0031-inquiry-states-and-deadlines.md).
"""

from __future__ import annotations

import re

from cbm.core.records import Record
from cbm.store.indexes import Connection, Index

SCHEMA = """
CREATE TABLE IF NOT EXISTS inquiry_threads (
    open_hash     TEXT PRIMARY KEY,
    number        TEXT NOT NULL,
    author        TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    year          INTEGER NOT NULL,
    serial        INTEGER NOT NULL,
    draft         INTEGER NOT NULL,
    released_from TEXT,
    created       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inquiry_threads_number ON inquiry_threads (number);
CREATE INDEX IF NOT EXISTS inquiry_threads_serial ON inquiry_threads (author, year, serial);
CREATE TABLE IF NOT EXISTS inquiry_aliases (
    alias     TEXT NOT NULL,
    open_hash TEXT NOT NULL,
    PRIMARY KEY (alias, open_hash)
);
"""

def _add(conn: Connection, records: list[Record]) -> None:
    for r in records:
        body = r.body
        if r.kind == "inquiry.open":
            number = body.get("number")
            recipient = body.get("recipient")
            if not isinstance(number, str) or not isinstance(recipient, str):
                continue
            tail = re.fullmatch(rf"{re.escape(r.author)}-{re.escape(recipient)}/(\d{{4}})/(\d{{4,9}})",
                                number.upper())
            draft = body.get("draft") is True
            # a number belongs to its author, and the recipient it names must be the record's audience: a
            # peer cannot take over one of our numbers (or anyone else's) by signing a record that claims it
            if tail is None or r.to != ((r.author,) if draft else (recipient,)):
                continue
            released = body.get("released_from")
            if isinstance(released, str) and conn.execute(
                    "SELECT 1 FROM inquiry_threads WHERE open_hash = ? AND author = ? AND draft = 1 AND number = ?",
                    (released, r.author, number.upper())).fetchone() is None:
                released = None  # only the author's own draft of this number can be released
            conn.execute(
                "INSERT OR IGNORE INTO inquiry_threads (open_hash, number, author, recipient, year, serial, draft,"
                " released_from, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.hash, number.upper(), r.author, recipient, int(tail.group(1)), int(tail.group(2)),
                 1 if draft else 0, released if isinstance(released, str) else None,
                 r.created))
        elif r.kind == "inquiry.ack":
            alias, ref = body.get("own_ref"), body.get("ref")
            row = conn.execute("SELECT recipient FROM inquiry_threads WHERE open_hash = ?",
                               (ref,)).fetchone() if isinstance(ref, str) else None
            # only the recipient's own acknowledgement names its reference
            if isinstance(alias, str) and alias.strip() and row is not None and row[0] == r.author:
                conn.execute("INSERT OR IGNORE INTO inquiry_aliases (alias, open_hash) VALUES (?, ?)",
                             (alias.strip().upper(), ref))


INDEX = Index(name="inquiry", version=3, kinds=("inquiry.open", "inquiry.ack"),
              tables=("inquiry_threads", "inquiry_aliases"), schema=SCHEMA, add=_add)


def last_serial(conn: Connection, author: str, year: int) -> int:
    """The highest serial ``author`` has used in ``year`` (drafts included), or 0."""
    row = conn.execute("SELECT MAX(serial) FROM inquiry_threads WHERE author = ? AND year = ?",
                       (author, year)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def by_number(conn: Connection, number: str) -> list[tuple[str, int]]:
    """(open hash, is_draft) of every opening record with this number or recipient's alias, oldest first."""
    key = number.strip().upper()
    rows = conn.execute(
        "SELECT open_hash, draft FROM inquiry_threads WHERE number = ? ORDER BY created, open_hash",
        (key,)).fetchall()
    if not rows:
        rows = conn.execute(
            "SELECT t.open_hash, t.draft FROM inquiry_aliases a JOIN inquiry_threads t ON t.open_hash = a.open_hash"
            " WHERE a.alias = ? ORDER BY t.created", (key,)).fetchall()
    return [(str(h), int(d)) for h, d in rows]


def numbers(conn: Connection, prefix: str, limit: int = 200) -> list[str]:
    """Inquiry numbers (and recipients' own references) starting with ``prefix`` (any case), for completion."""
    key = prefix.strip().upper()
    rows = conn.execute(
        "SELECT number FROM inquiry_threads WHERE number >= ? AND number < ? UNION "
        "SELECT alias FROM inquiry_aliases WHERE alias >= ? AND alias < ? ORDER BY 1 LIMIT ?",
        (key, key + "\U0010ffff", key, key + "\U0010ffff", limit)).fetchall()
    return [str(r[0]) for r in rows]


def all_threads(conn: Connection) -> list[tuple[str, int, str | None]]:
    """(open hash, is_draft, released_from) of every opening record, oldest first."""
    return [(str(h), int(d), r) for h, d, r in conn.execute(
        "SELECT open_hash, draft, released_from FROM inquiry_threads ORDER BY created, open_hash")]


def received_at(conn: Connection, record_hash: str) -> str | None:
    """When this store first held the record (the receiver's own clock), or None."""
    row = conn.execute("SELECT received FROM records WHERE hash = ?", (record_hash,)).fetchone()
    return str(row[0]) if row else None
