"""The SQLite schema of the store. Records are the truth; everything in an index module is derived."""

from __future__ import annotations

FORMAT_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- every record, verbatim as signed; the columns beside the envelope are derived from it
CREATE TABLE IF NOT EXISTS records (
    id       INTEGER PRIMARY KEY,
    hash     TEXT NOT NULL UNIQUE,
    author   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    prev     TEXT,
    kind     TEXT NOT NULL,
    created  TEXT NOT NULL,
    tlp      TEXT NOT NULL,
    audience TEXT NOT NULL,
    keyid    TEXT NOT NULL,
    subject  TEXT,
    received TEXT NOT NULL,
    envelope BLOB NOT NULL,
    UNIQUE (author, seq)
);
CREATE INDEX IF NOT EXISTS records_kind ON records (kind, created);
CREATE INDEX IF NOT EXISTS records_subject ON records (subject) WHERE subject IS NOT NULL;

-- records a peer withheld from us (audience/TLP): known only by position and the hash of the last one. Each is
-- a hint from the bundle's sender (claimant), never proof: the author's own records override it (ADR 0110).
-- Hints and records never overlap. claimant/source are NULL for hints stored before cbm recorded them.
CREATE TABLE IF NOT EXISTS withheld (
    author    TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    claimant  TEXT,
    source    TEXT,
    PRIMARY KEY (author, first_seq)
);

-- verified records whose predecessors have not arrived yet; they land when the gap closes
CREATE TABLE IF NOT EXISTS held (
    author   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    hash     TEXT NOT NULL,
    envelope BLOB NOT NULL,
    received TEXT NOT NULL,
    PRIMARY KEY (author, seq)
);

-- two different records with one (author, seq): evidence of equivocation, never deleted
CREATE TABLE IF NOT EXISTS equivocations (
    id       INTEGER PRIMARY KEY,
    author   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    hash     TEXT NOT NULL UNIQUE,
    envelope BLOB NOT NULL,
    detected TEXT NOT NULL,
    source   TEXT
);

CREATE TABLE IF NOT EXISTS parties (
    party   TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    is_self INTEGER NOT NULL DEFAULT 0,
    added   TEXT NOT NULL
);

-- every signing key we trust or trusted; a key signs records first_seq..last_seq of its party's log
CREATE TABLE IF NOT EXISTS party_keys (
    keyid      TEXT PRIMARY KEY,
    party      TEXT NOT NULL REFERENCES parties (party),
    serial     INTEGER NOT NULL,
    verify_key BLOB NOT NULL,
    enc_key    BLOB NOT NULL,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER,
    status     TEXT NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
    reason     TEXT,
    card       BLOB NOT NULL,
    added      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS index_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""

# Added after format 1 shipped: created (and the withheld columns added) on open by ``db.connect`` when missing.
CLAIMS_SCHEMA = """
-- claims a bundle's sender made about a log (withheld ranges) that the log's author's own signed records
-- contradicted: held against the claimant, never against the author (docs/adr/0110-claims-about-a-log.md)
CREATE TABLE IF NOT EXISTS claims (
    id        INTEGER PRIMARY KEY,
    claimant  TEXT,
    author    TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    source    TEXT,
    problem   TEXT NOT NULL,
    detected  TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS claims_once ON claims (COALESCE(claimant, ''), author, first_seq, last_seq, hash);
"""
