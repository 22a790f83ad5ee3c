"""Bundles in the store: what we sent to whom (a journal), and which bundles each receipt acknowledges.

Two tables with different natures:

- ``bundle_receipts`` is derived (from ``bundle.receipt`` records: who acknowledged which bundle, addressed to
  whom, with which log positions) and is rebuilt like any index;
- ``bundles_sent`` is a journal of our own exports (bundle number and hash per recipient). Exports are not
  records, so it cannot be derived; it is *not* listed in ``INDEX.tables`` and survives ``cbm store rebuild``.
  Losing it costs nothing but bundle numbering continuity (docs/adr/0012-bundle-numbers-and-receipts.md).
- ``sent_positions`` is part of that journal: our position in each third party's log when we last exported to
  each peer, for late forwarding (docs/adr/0173-late-forwarding.md). Created on first use, so older stores need
  no migration; losing it costs one bundle of delay for forwarded records, nothing else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from cbm.store.indexes import STORE_INDEX_VERSIONS, Index

TYPE_CHECKING = False  # typing.TYPE_CHECKING, spelled as cbm.cli.main does
if TYPE_CHECKING:
    from cbm.core.records import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS bundle_receipts (
    by_party  TEXT NOT NULL,
    receipt   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    addressed TEXT NOT NULL,
    bundle    TEXT,
    sender    TEXT,
    number    INTEGER,
    logs      TEXT NOT NULL,
    created   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bundle_receipts_bundle ON bundle_receipts (bundle);
CREATE INDEX IF NOT EXISTS bundle_receipts_by ON bundle_receipts (by_party, seq);
-- position lookups on withheld ranges by their last seq (store.head, ingest): without it every landed
-- record scans all of its author's withheld ranges
CREATE INDEX IF NOT EXISTS withheld_by_last ON withheld (author, last_seq);
CREATE TABLE IF NOT EXISTS bundles_sent (
    recipient TEXT NOT NULL,
    number    INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    created   TEXT NOT NULL,
    records   INTEGER NOT NULL,
    withheld  INTEGER NOT NULL,
    blobs     INTEGER NOT NULL,
    PRIMARY KEY (recipient, number)
);
"""


def _add(conn: sqlite3.Connection, records: list[Record]) -> None:
    import json  # where a JSON column is read or written (`cbm status` reads none: docs/adr/0256)

    rows = []
    for r in records:
        logs = r.body.get("logs")
        if not isinstance(logs, dict):
            continue
        bundle, sender, number = r.body.get("bundle"), r.body.get("from"), r.body.get("number")
        rows.append((r.author, r.hash, r.seq, json.dumps(sorted(r.to)),
                     bundle if isinstance(bundle, str) else None, sender if isinstance(sender, str) else None,
                     number if isinstance(number, int) and not isinstance(number, bool) else None,
                     json.dumps(logs, sort_keys=True), r.created))
    conn.executemany("INSERT INTO bundle_receipts (by_party, receipt, seq, addressed, bundle, sender, number,"
                     " logs, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


INDEX = Index(name="bundles", version=STORE_INDEX_VERSIONS["bundles"],
              kinds=("bundle.receipt",), tables=("bundle_receipts",), schema=SCHEMA, add=_add)


def receipt_for_bundle(conn: sqlite3.Connection, by_party: str, bundle: str) -> tuple[str, str] | None:
    """(receipt hash, created) of ``by_party``'s receipt acknowledging bundle ``bundle``, if any."""
    row = conn.execute("SELECT receipt, created FROM bundle_receipts WHERE by_party = ? AND bundle = ?"
                       " ORDER BY seq LIMIT 1", (by_party, bundle)).fetchone()
    return (row[0], row[1]) if row else None


def last_receipt_to(conn: sqlite3.Connection, by_party: str, addressee: str) -> dict[str, dict] | None:
    """The ``logs`` of ``by_party``'s newest receipt addressed to ``addressee`` (or to every peer)."""
    import json  # where a JSON column is read or written (`cbm status` reads none: docs/adr/0256)

    for addressed, logs in conn.execute("SELECT addressed, logs FROM bundle_receipts WHERE by_party = ?"
                                        " ORDER BY seq DESC", (by_party,)):
        to = json.loads(addressed)
        if addressee in to or "*" in to:
            result: dict[str, dict] = json.loads(logs)
            return result
    return None


def last_receipt_from(conn: sqlite3.Connection, by_party: str) -> tuple[str, str] | None:
    """(receipt hash, created) of the newest receipt written by ``by_party``."""
    row = conn.execute("SELECT receipt, created FROM bundle_receipts WHERE by_party = ? ORDER BY seq DESC"
                       " LIMIT 1", (by_party,)).fetchone()
    return (row[0], row[1]) if row else None


def numbers_received(conn: sqlite3.Connection, by_party: str, sender: str) -> list[int]:
    """Bundle numbers from ``sender`` that ``by_party`` has acknowledged, ascending."""
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT number FROM bundle_receipts WHERE by_party = ? AND sender = ? AND number IS NOT NULL"
        " ORDER BY number", (by_party, sender))]


def last_sent(conn: sqlite3.Connection, recipient: str) -> tuple[int, str] | None:
    """(number, hash) of the newest bundle we exported to ``recipient``."""
    row = conn.execute("SELECT number, hash FROM bundles_sent WHERE recipient = ? ORDER BY number DESC LIMIT 1",
                       (recipient,)).fetchone()
    return (row[0], row[1]) if row else None


def last_sent_at(conn: sqlite3.Connection, recipient: str) -> str | None:
    """When we exported our newest bundle to ``recipient`` (ISO 8601 UTC), or None if never."""
    row = conn.execute("SELECT created FROM bundles_sent WHERE recipient = ? ORDER BY number DESC LIMIT 1",
                       (recipient,)).fetchone()
    return str(row[0]) if row else None


def sent_since(conn: sqlite3.Connection, since: str | None) -> list[tuple[str, int, str, int]]:
    """(recipient, number, created, records) of the bundles we exported after ``since`` (None: ever), oldest
    first."""
    return [(r, n, c, k) for r, n, c, k in conn.execute(
        "SELECT recipient, number, created, records FROM bundles_sent WHERE created > ? ORDER BY created, recipient",
        (since or "",))]


def sent_count(conn: sqlite3.Connection, recipient: str) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM bundles_sent WHERE recipient = ?", (recipient,)).fetchone()[0])


def record_sent(conn: sqlite3.Connection, recipient: str, number: int, digest: str, created: str,
                records: int, withheld: int, blobs: int) -> None:
    """Journal an export (inside a transaction). Re-exporting the same number replaces the entry."""
    conn.execute("INSERT OR REPLACE INTO bundles_sent (recipient, number, hash, created, records, withheld, blobs)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)", (recipient, number, digest, created, records, withheld, blobs))


SENT_POSITIONS = """
CREATE TABLE IF NOT EXISTS sent_positions (
    recipient TEXT NOT NULL,
    author    TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (recipient, author)
)
"""


def sent_positions(conn: sqlite3.Connection, recipient: str) -> dict[str, int]:
    """author -> our position in that log when we last exported to ``recipient`` (empty before the first)."""
    conn.execute(SENT_POSITIONS)
    return {a: s for a, s in conn.execute("SELECT author, seq FROM sent_positions WHERE recipient = ?", (recipient,))}


def record_sent_positions(conn: sqlite3.Connection, recipient: str, positions: dict[str, int]) -> None:
    """Journal our position in each log (author -> seq) as of an export to ``recipient`` (inside a transaction)."""
    conn.execute(SENT_POSITIONS)
    conn.executemany("INSERT OR REPLACE INTO sent_positions (recipient, author, seq) VALUES (?, ?, ?)",
                     [(recipient, author, seq) for author, seq in positions.items()])


def withheld_ranges(conn: sqlite3.Connection, author: str, after_seq: int) -> list[tuple[int, int, str]]:
    """Ranges of ``author``'s log withheld from us that end after ``after_seq``: (first, last, last hash)."""
    return [(r[0], r[1], r[2]) for r in conn.execute(
        "SELECT first_seq, last_seq, last_hash FROM withheld WHERE author = ? AND last_seq > ? ORDER BY first_seq",
        (author, after_seq))]


def authors(conn: sqlite3.Connection) -> list[str]:
    """Every author whose log we hold any part of (records or withheld ranges), sorted."""
    # per party, an index probe (records can only be by parties we trust): no scan of a large records table
    return [r[0] for r in conn.execute(
        "SELECT party FROM parties p WHERE EXISTS (SELECT 1 FROM records r WHERE r.author = p.party)"
        " UNION SELECT author FROM withheld ORDER BY 1")]


def hash_at(conn: sqlite3.Connection, author: str, seq: int) -> str | None:
    """Hash of ``author``'s record ``seq`` as we know it (a record, or the end of a withheld range)."""
    row = conn.execute("SELECT hash FROM records WHERE author = ? AND seq = ?", (author, seq)).fetchone()
    if row:
        return str(row[0])
    row = conn.execute("SELECT last_hash FROM withheld WHERE author = ? AND last_seq = ?", (author, seq)).fetchone()
    return str(row[0]) if row else None


def created_at(conn: sqlite3.Connection, author: str, seq: int) -> str | None:
    """The ``created`` time of ``author``'s record ``seq``, or None if we do not hold it. Read from the record's
    column, so an indicator batch of a megabyte is not parsed for one timestamp."""
    row = conn.execute("SELECT created FROM records WHERE author = ? AND seq = ?", (author, seq)).fetchone()
    return str(row[0]) if row else None


def substantive(conn: sqlite3.Connection, author: str, after: int, upto: int) -> bool:
    """Whether ``author``'s positions ``after+1..upto`` hold anything but receipts (withheld ranges count).

    Receipts are not acknowledged for their own sake: that would make two peers acknowledge each other's
    acknowledgements forever.
    """
    row = conn.execute("SELECT 1 FROM records WHERE author = ? AND seq > ? AND seq <= ? AND kind != 'bundle.receipt'"
                       " LIMIT 1", (author, after, upto)).fetchone()
    if row:
        return True
    row = conn.execute("SELECT 1 FROM withheld WHERE author = ? AND last_seq > ? AND first_seq <= ? LIMIT 1",
                       (author, after, upto)).fetchone()
    return row is not None


def log_rows(conn: sqlite3.Connection, author: str, after: int) -> Iterator[tuple[int, str, tuple[str, ...], str,
                                                                                    bytes]]:
    """``author``'s records after ``after`` in seq order, as (seq, hash, audience, tlp, envelope) from the
    columns beside each verified envelope: export needs no re-parse of every record."""
    import json  # where a JSON column is read or written (`cbm status` reads none: docs/adr/0256)

    for seq, digest, audience, tlp, envelope in conn.execute(
            "SELECT seq, hash, audience, tlp, envelope FROM records WHERE author = ? AND seq > ? ORDER BY seq",
            (author, after)):
        yield seq, digest, tuple(json.loads(audience)), tlp, bytes(envelope)


def held_authors(conn: sqlite3.Connection) -> list[str]:
    """Authors of whom we hold records waiting behind a gap."""
    return [a for (a,) in conn.execute("SELECT DISTINCT author FROM held")]


def first_claimed_withheld(conn: sqlite3.Connection, author: str) -> int | None:
    """The first seq of ``author``'s log that a party other than ``author`` claimed is withheld from us, if any
    (docs/adr/0110-claims-about-a-log.md)."""
    row = conn.execute("SELECT MIN(first_seq) FROM withheld WHERE author = ? AND COALESCE(claimant, '') != ?",
                       (author, author)).fetchone()
    return int(row[0]) if row[0] is not None else None
