"""Derived index of hotline records: per-direction sequence numbers and landing times.

One row per ``hotline.*`` record: who wrote it, to whom (the first party in ``to``), its per-direction
sequence number ``dseq`` (messages only), what it refers to (``body["ref"]``) and when it landed in this store.
The measure (``service.py``, ``model.py``) reads the records themselves for everything else; this index
answers the questions that must be fast or that only the store knows (when did a record arrive here).
"""

from __future__ import annotations

from cbm.core.records import Record
from cbm.store.indexes import Connection, Index

SCHEMA = """
CREATE TABLE IF NOT EXISTS hotline (
    hash      TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    author    TEXT NOT NULL,
    recipient TEXT,
    dseq      INTEGER,
    ref       TEXT,
    rtype     TEXT,
    created   TEXT NOT NULL,
    received  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hotline_direction ON hotline (kind, author, recipient, dseq);
CREATE INDEX IF NOT EXISTS hotline_ref ON hotline (ref);
"""


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _add(conn: Connection, records: list[Record]) -> None:
    rows = []
    for r in records:
        landed = conn.execute("SELECT received FROM records WHERE hash = ?", (r.hash,)).fetchone()
        ref, rtype = r.body.get("ref"), r.body.get("type")
        rows.append((r.hash, r.kind, r.author, r.to[0] if r.to else None, _int_or_none(r.body.get("dseq")),
                     ref if isinstance(ref, str) else None, rtype if isinstance(rtype, str) else None,
                     r.created, landed[0] if landed else r.created))
    conn.executemany("INSERT OR REPLACE INTO hotline (hash, kind, author, recipient, dseq, ref, rtype, created,"
                     " received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


INDEX = Index(name="hotline", version=1, kinds=("hotline.",), tables=("hotline",), schema=SCHEMA, add=_add)


def last_dseq(conn: Connection, author: str, recipient: str) -> int:
    """The highest per-direction sequence number of ``author``'s hotline messages to ``recipient`` (0 if none)."""
    row = conn.execute("SELECT MAX(dseq) FROM hotline WHERE kind = 'hotline.message' AND author = ?"
                       " AND recipient = ?", (author, recipient)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def ids(conn: Connection, kind: str, prefix: str, limit: int = 200) -> list[str]:
    """Hashes of the hotline records of exactly ``kind`` starting with ``prefix`` (lower-case), for completion."""
    rows = conn.execute("SELECT hash FROM hotline WHERE kind = ? AND hash >= ? AND hash < ? ORDER BY hash LIMIT ?",
                        (kind, prefix, prefix + "g", limit)).fetchall()
    return [str(r[0]) for r in rows]


def received_times(conn: Connection) -> dict[str, str]:
    """When each hotline record landed in this store (our clock), by record hash."""
    return dict(conn.execute("SELECT hash, received FROM hotline").fetchall())


def has_reply(conn: Connection, kind: str, author: str, ref: str, rtype: str | None = None) -> bool:
    """Whether ``author`` already wrote a ``kind`` record referring to ``ref`` (of receipt type ``rtype``)."""
    sql, args = "SELECT 1 FROM hotline WHERE kind = ? AND author = ? AND ref = ?", [kind, author, ref]
    if rtype is not None:
        sql += " AND rtype = ?"
        args.append(rtype)
    return conn.execute(sql + " LIMIT 1", args).fetchone() is not None


def withheld_links(conn: Connection, author: str) -> dict[int, str]:
    """For ``author``'s log: last seq of each range withheld from us -> the hash of that record.

    Used to check chain links across records we may not see (they were for another audience).
    """
    return {int(last): str(h) for last, h in conn.execute(
        "SELECT last_seq, last_hash FROM withheld WHERE author = ?", (author,))}


def withheld_seqs(conn: Connection, author: str) -> list[tuple[int, int]]:
    """(first, last) seq of each range of ``author``'s log withheld from us."""
    return [(int(a), int(b)) for a, b in conn.execute(
        "SELECT first_seq, last_seq FROM withheld WHERE author = ? ORDER BY first_seq", (author,))]
