"""Rosters in the store: the cards each introducer's rosters list (derived), and the keys we trust because a
roster introduced them (trust state).

- ``rosters`` and ``roster_entries`` are derived from ``keys.roster`` records (each checked by
  :meth:`cbm.core.rosters.Roster.from_record` as it lands, so a malformed roster is refused there) and rebuilt
  like any index;
- ``introduced_keys`` is trust state, not derived from records alone (it depends on our roster policy and on
  whom we confirmed by phone), so, like ``bundles_sent``, it is *not* listed in ``INDEX.tables``: ``cbm store
  rebuild`` keeps it. A key listed there is trusted "introduced"; every other key of a peer was confirmed by
  fingerprint (or rotated from one that was). Confirming an introduced key's fingerprint deletes its row.

See docs/adr/0171-rosters.md.
"""

from __future__ import annotations

import sqlite3

from cbm.core.rosters import KIND, Roster
from cbm.store.indexes import STORE_INDEX_VERSIONS, Index

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cbm.cli.main)
if TYPE_CHECKING:
    from cbm.core.records import Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS rosters (
    introducer TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    entries    INTEGER NOT NULL,
    PRIMARY KEY (introducer, seq)
);
CREATE TABLE IF NOT EXISTS roster_entries (
    introducer TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    party      TEXT NOT NULL,
    keyid      TEXT NOT NULL,
    serial     INTEGER NOT NULL,
    card       BLOB NOT NULL,
    PRIMARY KEY (introducer, seq, party)
);
CREATE TABLE IF NOT EXISTS introduced_keys (
    keyid       TEXT PRIMARY KEY,
    party       TEXT NOT NULL,
    introducers TEXT NOT NULL,
    added       TEXT NOT NULL
);
"""


def _add(conn: sqlite3.Connection, records: list[Record]) -> None:
    for record in records:
        roster = Roster.from_record(record)  # MalformedInput / BadSignature: the landing is refused
        conn.execute("INSERT INTO rosters (introducer, seq, entries) VALUES (?, ?, ?)",
                     (roster.introducer, roster.seq, len(roster.cards)))
        conn.executemany(
            "INSERT INTO roster_entries (introducer, seq, party, keyid, serial, card) VALUES (?, ?, ?, ?, ?, ?)",
            [(roster.introducer, roster.seq, c.party, c.keyid, c.serial, c.envelope) for c in roster.cards])


INDEX = Index(name="rosters", version=STORE_INDEX_VERSIONS["rosters"],
              kinds=(KIND,), tables=("rosters", "roster_entries"), schema=SCHEMA, add=_add)


def latest_entries(conn: sqlite3.Connection, introducer: str) -> list[tuple[str, str, int, bytes]]:
    """(party, keyid, serial, card) of every entry of ``introducer``'s newest roster (none if it has none)."""
    row = conn.execute("SELECT MAX(seq) FROM rosters WHERE introducer = ?", (introducer,)).fetchone()
    if row is None or row[0] is None:
        return []
    return [(r[0], r[1], r[2], bytes(r[3])) for r in conn.execute(
        "SELECT party, keyid, serial, card FROM roster_entries WHERE introducer = ? AND seq = ? ORDER BY party",
        (introducer, row[0]))]


def introducers_of(conn: sqlite3.Connection, keyid: str) -> list[str] | None:
    """The parties whose rosters introduced this key, or None when the key was confirmed directly."""
    import json

    row = conn.execute("SELECT introducers FROM introduced_keys WHERE keyid = ?", (keyid,)).fetchone()
    return list(json.loads(row[0])) if row else None


def all_introduced(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """keyid -> introducers, for every introduced key."""
    rows = conn.execute("SELECT keyid, introducers FROM introduced_keys").fetchall()
    if not rows:  # no roster introduced a key: `cbm status` loads no json module (docs/adr/0256)
        return {}
    import json

    return {k: list(json.loads(v)) for k, v in rows}


def mark(conn: sqlite3.Connection, keyid: str, party: str, introducers: list[str], added: str) -> None:
    import json

    conn.execute("INSERT OR REPLACE INTO introduced_keys (keyid, party, introducers, added) VALUES (?, ?, ?, ?)",
                 (keyid, party, json.dumps(sorted(introducers)), added))


def inherit(conn: sqlite3.Connection, old_keyid: str, new_keyid: str, party: str, added: str) -> None:
    """A key rotated from an introduced key (cross-signed by it) is trusted on the same basis: introduced."""
    introducers = introducers_of(conn, old_keyid)
    if introducers is not None:
        mark(conn, new_keyid, party, introducers, added)


def confirm(conn: sqlite3.Connection, party: str) -> int:
    """Every key of ``party`` is now confirmed directly. Returns how many were introduced."""
    return conn.execute("DELETE FROM introduced_keys WHERE party = ?", (party,)).rowcount
