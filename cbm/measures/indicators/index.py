"""Derived index of threat indicators: the current version of every indicator, its history, revocations,
sightings; the queries behind ``cbm indicators`` (by value, CIDR, type, author, TLP, sector, validity) are in
``queries.py``.

Folds ``indicators.batch`` (rows of indicators, see cbm/measures/indicators/rows.py), ``indicators.revoke``
and ``indicators.sighting`` records. One ``ind`` row per (author, STIX id) holds the newest version; older
versions move to ``ind_hist``. The full indicator stays in its signed record; ``rec``/``pos`` point at it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import compress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cbm.core.bloom import SeenFilter
from cbm.core.fields import is_party_code
from cbm.core.records import Record
from cbm.measures.indicators import row_digest
from cbm.measures.indicators.ind_insert import INSERT as _INSERT
from cbm.measures.indicators.ind_insert import insert_or_ignore as _insert_or_ignore
from cbm.measures.indicators.index_rows import Batch, Flagged, Found, batch_of
from cbm.measures.indicators.index_shape import CHUNK
from cbm.measures.indicators.index_shape import COLUMNS as COLUMNS  # re-exported: queries read the index's rows
from cbm.measures.indicators.index_shape import IndicatorRow as IndicatorRow
from cbm.store.indexes import Connection, Index

if TYPE_CHECKING:  # the checks load when indicators land, not for a query (status, search)
    from cbm.measures.indicators import checks

SCHEMA = """
CREATE TABLE IF NOT EXISTS ind (
    k           INTEGER PRIMARY KEY,
    author      TEXT NOT NULL,
    sid         TEXT NOT NULL,
    rec         INTEGER NOT NULL,
    pos         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    value       TEXT,
    tlp         TEXT NOT NULL,
    created     TEXT,               -- NULL: the same as modified (a first version)
    modified    TEXT NOT NULL,
    valid_from  TEXT,               -- NULL: the same as modified
    valid_until TEXT,
    confidence  INTEGER,
    sectors     TEXT,
    versions    INTEGER NOT NULL,
    revoked     TEXT,
    digest      BLOB                -- the version's row_digest (docs/adr/0292), NULL for none (a peer's: 0293)
);
CREATE UNIQUE INDEX IF NOT EXISTS ind_sid ON ind (sid, author);
CREATE INDEX IF NOT EXISTS ind_value ON ind (value);
CREATE INDEX IF NOT EXISTS ind_until ON ind (valid_until) WHERE valid_until IS NOT NULL;
CREATE TABLE IF NOT EXISTS ind_hist (
    sid TEXT NOT NULL, author TEXT NOT NULL, rec INTEGER NOT NULL, pos INTEGER NOT NULL, modified TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ind_hist_sid ON ind_hist (sid);
CREATE TABLE IF NOT EXISTS ind_alt (sid TEXT NOT NULL, author TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ind_alt_value ON ind_alt (value);
CREATE INDEX IF NOT EXISTS ind_alt_sid ON ind_alt (sid);
CREATE TABLE IF NOT EXISTS ind_net (
    sid TEXT NOT NULL, author TEXT NOT NULL, version INTEGER NOT NULL, first TEXT NOT NULL, last TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ind_net_sid ON ind_net (sid);
CREATE TABLE IF NOT EXISTS ind_revoke (
    sid TEXT NOT NULL, author TEXT NOT NULL, rec INTEGER NOT NULL, reason TEXT NOT NULL, created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ind_revoke_sid ON ind_revoke (sid);
CREATE TABLE IF NOT EXISTS ind_sight (
    sid TEXT NOT NULL, indicator_author TEXT, by_party TEXT NOT NULL, rec INTEGER NOT NULL,
    count INTEGER NOT NULL, first_seen TEXT, last_seen TEXT, created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ind_sight_sid ON ind_sight (sid);
CREATE TABLE IF NOT EXISTS ind_flag (sid TEXT NOT NULL, author TEXT NOT NULL, flag TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ind_flag_sid ON ind_flag (sid, author);
CREATE TABLE IF NOT EXISTS ind_origin (sid TEXT NOT NULL, author TEXT NOT NULL, country TEXT, asn INTEGER);
CREATE INDEX IF NOT EXISTS ind_origin_sid ON ind_origin (sid, author);
CREATE INDEX IF NOT EXISTS ind_origin_country ON ind_origin (country, asn);
"""

TABLES = ("ind", "ind_hist", "ind_alt", "ind_net", "ind_revoke", "ind_sight", "ind_flag", "ind_origin")


def _record_id(conn: Connection, record: Record) -> int:
    return int(conn.execute("SELECT id FROM records WHERE hash = ?", (record.hash,)).fetchone()[0])


def _existing(conn: Connection, author: str, sids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """sid -> (k, rec, pos, created, versions, modified) for ``author``'s indicators among ``sids``."""
    found: dict[str, tuple[Any, ...]] = {}
    for i in range(0, len(sids), CHUNK):
        chunk = sids[i:i + CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
                f"SELECT sid, k, rec, pos, COALESCE(created, modified), versions, modified FROM ind WHERE author = ?"
                f" AND sid IN ({marks})", (author, *chunk)):
            found[row[0]] = row[1:]
    return found


def checker(conn: Connection) -> checks.Checker:
    """The landing checks of the store this connection belongs to (its config.toml and its warninglists)."""
    from cbm.measures.indicators import checks

    root, config, on_disk = checks_of(conn)
    return checks.checker_for(root, config, cache=on_disk)


def checks_started(conn: Connection) -> bool:
    """True if :func:`checker` is made at once; else its lists now compile apart, :func:`checker` waits (ADR 0285)."""
    from cbm.measures.indicators import checks

    root, config, on_disk = checks_of(conn)
    return not on_disk or checks.start_compiling(root, config)


def checks_of(conn: Connection) -> tuple[Path, dict[str, Any], bool]:
    """The store directory and parsed config.toml the landing checks are made from, and whether the store is on
    disk (an in-memory database compiles its lists without keeping them)."""
    path = conn.execute("PRAGMA database_list").fetchone()[2] or ""
    root = Path(path).parent if path else Path()
    try:
        config = tomllib.loads((root / "config.toml").read_text("utf-8")) if path else {}
    except (OSError, ValueError):
        config = {}
    return root, config, bool(path)


def _batch_rows(conn: Connection, record: Record) -> Batch:
    """What one batch record adds to the index (:mod:`cbm.measures.indicators.index_rows`); its flags from the
    landing checks, or from what the reader found checking its rows beforehand (:func:`checked_beforehand`)."""
    body = record.body
    rows = body.get("rows")
    if not isinstance(rows, list) or not rows:
        return Batch([], [], [])
    if len(rows) >= 1000 and id(conn) not in _FEW_ROWS and _indexed(conn):  # a feed is landing: pages in memory
        bulk_mode(conn)
    flagged = _CHECKED.get(record.hash)
    check = checker(conn).check if flagged is None else Found(flagged).check
    batch = batch_of(body, record.author, _record_id(conn, record), record.tlp, record.created, check, record.to,
                     digested=row_digest.kept_for(conn, record.author))
    from cbm.measures import malformed  # loaded when indicators land (status and search never fold)

    skipped = malformed.left_out(record)  # rows whose value is not in normal form fold nowhere (docs/adr/0269)
    if skipped is not None:
        gone = set(skipped.positions)
        batch = batch.take([i for i in range(len(batch)) if i not in gone])
    return batch


_CHECKED: dict[str, Flagged] = {}  # by record hash, while it lands (see checked_beforehand)


@contextmanager
def checked_beforehand(record_hash: str, flagged: Flagged) -> Iterator[None]:
    """While it lies open, the batch record ``record_hash`` folds with the flags ``flagged`` (``(type, value)``
    -> flags, for the flagged rows; every other row unflagged) instead of running the landing checks: the
    reader process ran this store's checks over the rows it made (docs/adr/0225). For batches without free
    patterns only: a pattern's further values are checked by the index as it reads them."""
    _CHECKED[record_hash] = flagged
    try:
        yield
    finally:
        _CHECKED.pop(record_hash, None)


_FEW_ROWS: set[int] = set()  # id() of the connections landing a bounded few rows (see few_rows_landing)


@contextmanager
def few_rows_landing(conn: Connection) -> Iterator[None]:
    """While it lies open, the rows landing on ``conn`` are a bounded few (a bulk load's held-back rows, at most
    ``BatchWriter.MAX_DEFERRED``, after :func:`resume_indexes`): their batches keep SQLite's default page cache
    instead of :func:`bulk_mode`'s 64 MiB. A few thousand rows touch each index page about once, so the larger
    cache only fills with dirty pages (1M-line feed: 3,700 held rows, 138 -> 97 MB at the end, the same CPU;
    docs/adr/0253)."""
    _FEW_ROWS.add(id(conn))
    try:
        yield
    finally:
        _FEW_ROWS.discard(id(conn))


def _add_batch(conn: Connection, record: Record) -> None:
    """Fold one batch (during a bulk landing, rows whose id may already be in it are held back until its end)."""
    batch = _batch_rows(conn, record)
    session = _SESSIONS.get(id(conn))
    if session is not None and batch.rows:
        if record.author not in session.authors:
            end_bulk(conn)
        else:
            maybe = session.seen.seen_before(batch.sids)
            if True in maybe:
                held = [i for i, m in enumerate(maybe) if m]
                session.held.append(batch.take(held))
                batch = batch.take([i for i, m in enumerate(maybe) if not m])
    _fold(conn, batch)


def _fold(conn: Connection, batch: Batch) -> None:
    """Fold a batch (or part of one) of one author. Fast path: insert every row with INSERT OR IGNORE (the
    (sid, author) key refuses ids already held) and count what landed (SQLite's count of the rows the
    statements inserted, not a scan of them); only when some were refused (new
    versions) are the landed positions read back and the refused rows take the slow path. A fresh feed costs
    one statement per table, no per-row look-ups."""
    rows = batch.rows
    if not rows:
        return
    author, rec, modified = rows[0][0], rows[0][2], rows[0][8]
    last_k = conn.execute("SELECT COALESCE(MAX(k), 0) FROM ind").fetchone()[0]
    changed = conn.total_changes
    _insert_or_ignore(conn, rows, batch.nulls)
    if conn.total_changes - changed < len(rows):  # what landed, counted by SQLite (``ind`` has no trigger)
        landed = {pos for (pos,) in conn.execute("SELECT pos FROM ind WHERE k > ?", (last_k,))}
        _new_versions(conn, [(row, explicit) for row, explicit in zip(rows, batch.explicit, strict=True)
                             if row[3] not in landed], author)
    if batch.alts:
        conn.executemany("INSERT INTO ind_alt (sid, author, value) VALUES (?, ?, ?)",
                         [a for found in batch.alts.values() for a in found])
    if batch.nets:
        conn.executemany("INSERT INTO ind_net (sid, author, version, first, last) VALUES (?, ?, ?, ?, ?)",
                         [n for found in batch.nets.values() for n in found])
    flags, sids = batch.flags, batch.sids
    flagged = [(sids[i], author, flag) for i in compress(range(len(flags)), flags) for flag in flags[i]]
    if flagged:
        conn.executemany("INSERT INTO ind_flag (sid, author, flag) VALUES (?, ?, ?)", flagged)
    if batch.origins:
        conn.executemany("INSERT INTO ind_origin (sid, author, country, asn) VALUES (?, ?, ?, ?)",
                         [(sids[i], author, *origin) for i, origin in batch.origins.items()])
    if batch.revoked:
        conn.executemany("INSERT INTO ind_revoke (sid, author, rec, reason, created) VALUES (?, ?, ?, ?, ?)",
                         [(sids[i], author, rec, "revoked at the source", modified) for i in sorted(batch.revoked)])


def _new_versions(conn: Connection, refused: list[tuple[tuple[Any, ...], bool]], author: str) -> None:
    """Rows whose (sid, author) is already held: move the old version to history, insert the new one."""
    for values, explicit in refused:
        sid = values[1]
        k, old_rec, old_pos, old_created, old_versions, old_modified = conn.execute(
            "SELECT k, rec, pos, COALESCE(created, modified), versions, modified FROM ind"
            " WHERE sid = ? AND author = ?",
            (sid, author)).fetchone()
        conn.execute("INSERT INTO ind_hist (sid, author, rec, pos, modified) VALUES (?, ?, ?, ?, ?)",
                     (sid, author, old_rec, old_pos, old_modified))
        conn.execute("DELETE FROM ind WHERE k = ?", (k,))
        conn.execute("DELETE FROM ind_alt WHERE sid = ? AND author = ?", (sid, author))
        conn.execute("DELETE FROM ind_net WHERE sid = ? AND author = ?", (sid, author))
        conn.execute("DELETE FROM ind_flag WHERE sid = ? AND author = ?", (sid, author))
        conn.execute("DELETE FROM ind_origin WHERE sid = ? AND author = ?", (sid, author))
        row = list(values)
        row[7] = row[7] if explicit else old_created
        row[13] = old_versions + 1
        conn.execute(_INSERT.format(verb=""), row)


def _add_revoke(conn: Connection, record: Record) -> None:
    ids = record.body.get("ids")
    if not isinstance(ids, list):
        return
    reason = record.body.get("reason")
    reason = reason if isinstance(reason, str) else ""
    rec = _record_id(conn, record)
    wanted = [sid for sid in ids if isinstance(sid, str)]
    conn.executemany("INSERT INTO ind_revoke (sid, author, rec, reason, created) VALUES (?, ?, ?, ?, ?)",
                     [(sid, record.author, rec, reason, record.created) for sid in wanted])
    # only the author can revoke its own indicator: the author column must match
    conn.executemany("UPDATE ind SET revoked = ? WHERE sid = ? AND author = ? AND modified <= ?",
                     [(reason, sid, record.author, record.created) for sid in wanted])


def _add_sighting(conn: Connection, record: Record) -> None:
    body = record.body
    sid = body.get("ref")
    count = body.get("count")
    if not isinstance(sid, str) or not isinstance(count, int):
        return
    author = body.get("indicator_author")
    first, last = body.get("first_seen"), body.get("last_seen")
    conn.execute("INSERT INTO ind_sight (sid, indicator_author, by_party, rec, count, first_seen, last_seen,"
                 " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (sid, author if isinstance(author, str) else None, record.author, _record_id(conn, record),
                  count, first if isinstance(first, str) else None, last if isinstance(last, str) else None,
                  record.created))


def _add(conn: Connection, records: list[Record]) -> None:
    for record in records:
        if record.kind == "indicators.batch":
            _add_batch(conn, record)
        elif record.kind == "indicators.revoke":
            end_bulk(conn)  # it looks indicators up by id
            _add_revoke(conn, record)
        elif record.kind == "indicators.sighting":
            end_bulk(conn)
            _add_sighting(conn, record)


# -- bulk landing ----------------------------------------------------------------------------------------


class _BulkLanding:
    """A peer's feed landing in bulk on one connection (see :func:`begin_bulk`)."""

    def __init__(self, authors: frozenset[str]) -> None:
        self.authors = authors
        self.seen = SeenFilter()
        self.held: list[Batch] = []  # per batch, in landing order


_SESSIONS: dict[int, _BulkLanding] = {}  # by id() of the connection: sqlite3 connections take no weak reference


def bulk_pays(conn: Connection, incoming_rows: int) -> bool:
    """Whether building the indexes on ``ind`` once, over every row, beats maintaining them through
    ``incoming_rows`` inserts: a store already holding far more (a peer's national feed) keeps its indexes."""
    held = conn.execute("SELECT COALESCE(MAX(k), 0) FROM ind").fetchone()[0]  # an upper bound, at no cost
    return int(held) <= 4 * incoming_rows


BUNDLE_BYTES_PER_ROW = 250  # a bundle carries an indicator in about 250 bytes (measured: 249 MB for 1M)


def begin_bulk(conn: Connection, authors: frozenset[str], size_bytes: int) -> bool:
    """Many batches by ``authors`` are about to land in this transaction (a peer's national feed, ``size_bytes``
    of bundle): if the index holds none of their indicators, and not far more of others' than will come,
    suspend the indexes on ``ind`` and build them once at :func:`end_bulk`.

    Rows whose id may already have landed in this bulk landing (the filter's "maybe") are held back and folded
    at the end through the exact path, in order, so versions come out as without bulk landing. A batch by
    another author, a revocation or a sighting ends the bulk landing first. True if it began.
    """
    if id(conn) in _SESSIONS or not authors or not _indexed(conn):
        return False
    if not bulk_pays(conn, size_bytes // BUNDLE_BYTES_PER_ROW):
        return False
    if any(holds_any(conn, author) for author in authors):
        return False
    suspend_indexes(conn)
    _SESSIONS[id(conn)] = _BulkLanding(authors)
    return True


def end_bulk(conn: Connection) -> None:
    """Rebuild the suspended indexes and fold the rows held back (a no-op without a bulk landing)."""
    session = _SESSIONS.pop(id(conn), None)
    if session is None:
        return
    resume_indexes(conn)
    for rows in session.held:
        _fold(conn, rows)


def discard_bulk(conn: Connection) -> None:
    """Forget a bulk landing whose transaction is rolling back (the rollback restores the indexes)."""
    _SESSIONS.pop(id(conn), None)


INDEX = Index(name="indicators", version=7, kinds=("indicators.",), tables=TABLES, schema=SCHEMA, add=_add,
              begin_bulk=begin_bulk, end_bulk=end_bulk, discard_bulk=discard_bulk)


# The indexes on ``ind`` itself; a bulk load of a fresh feed suspends them (see suspend_indexes).
_IND_INDEXES = tuple(" ".join(s.split()) for s in SCHEMA.split(";") if " ON ind (" in s)


def suspend_indexes(conn: Connection, party: str | None = None) -> None:
    """Drop the indexes on ``ind`` for a bulk load; :func:`resume_indexes` rebuilds them. Call both inside one
    transaction: a failure or a crash in between rolls the drop back with everything else.

    Building an index once over a million rows (SQLite sorts them) costs a fraction of maintaining it through a
    million random-keyed inserts (measured 2.7 s against 8.9 s; docs/adr/0073-bulk-indicator-import.md); and with
    SQLite's default 2 MiB page cache rather than a large one (2.9 s against 3.9 s for the three). While they are
    suspended, nothing may rely on ``ind``'s unique key: the caller must land no (sid, author) already held nor
    one twice, and look nothing up by id or value, except through :func:`held_by_others` when ``party`` (whose
    feed is landing) is given: a partial index over the other parties' rows stays for it, built once over the
    rows already held and never touched by the party's own inserts. Where no other party holds a row, none is
    made (its empty root page was written twice, docs/adr/0297); :func:`held_by_others` knows.
    """
    _NO_OTHERS.pop(id(conn), None)
    # another party's row in ``ind`` came from its own batch record: records_kind finds one without a scan
    others = party is not None and conn.execute(
        "SELECT 1 FROM records WHERE kind = 'indicators.batch' AND author <> ? LIMIT 1", (party,)).fetchone()
    for statement in _IND_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {statement.split(' ON ')[0].split()[-1]}")
    if party is not None and not others:
        _NO_OTHERS[id(conn)] = party
    elif party is not None:
        conn.execute(f"CREATE INDEX IF NOT EXISTS {_OTHERS_INDEX} ON ind (sid) WHERE author <> {_literal(party)}")


_OTHERS_INDEX = "ind_sid_others"
#: id() of a connection whose bulk load suspended the indexes while no party but this one held a row: only its
#: rows land until they resume. Trusted only while the schema shows the suspension (a rollback restores it).
_NO_OTHERS: dict[int, str] = {}


def _literal(party: str) -> str:
    """A party code as an SQL literal: a partial index is used only by a query naming the same literal."""
    if not is_party_code(party):
        raise ValueError(f"not a party code: {party!r}")
    return f"'{party}'"


def held_by_others(conn: Connection, sid: str, party: str) -> bool:
    """Whether a party other than ``party`` holds an indicator under ``sid``: one index look-up, also while a
    bulk load of ``party``'s feed has the indexes on ``ind`` suspended (see :func:`suspend_indexes`; suspended
    while no other party held a row, none does)."""
    if _NO_OTHERS.get(id(conn)) == party and not _indexed(conn):
        return False
    return conn.execute(f"SELECT 1 FROM ind WHERE sid = ? AND author <> {_literal(party)} LIMIT 1",
                        (sid,)).fetchone() is not None


def _indexed(conn: Connection) -> bool:
    """False while a bulk load has the indexes on ``ind`` suspended."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ind_sid'").fetchone() is not None


def resume_indexes(conn: Connection) -> None:
    """Rebuild the indexes :func:`suspend_indexes` dropped (a no-op for those that exist), SQLite's sorter
    helped by :func:`sort_helpers` threads (docs/adr/0285)."""
    before = conn.execute("PRAGMA threads").fetchone()[0]
    conn.execute(f"PRAGMA threads = {sort_helpers()}")
    try:
        for statement in _IND_INDEXES:
            conn.execute(statement)
    finally:
        conn.execute(f"PRAGMA threads = {int(before)}")
    conn.execute(f"DROP INDEX IF EXISTS {_OTHERS_INDEX}")
    _NO_OTHERS.pop(id(conn), None)


SORT_HELPERS_MAX = 4  # measured: the critical path shrinks little past four helpers


def sort_helpers() -> int:
    """Threads SQLite's sorter may add to the connection's own while :func:`resume_indexes` builds the indexes:
    one per other usable core. By then the reader process has finished (a CSV feed) or never ran (a peer's
    bundle), so those cores are idle: the sorter sorts and merges its runs there while the connection's thread
    scans ``ind`` and writes the index. 1M rows, two cores: the connection's thread 2.2-2.6 -> 1.7-1.9 s of CPU,
    0.3-0.6 s more CPU in all (docs/adr/0285)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(SORT_HELPERS_MAX, usable - 1))


def bulk_mode(conn: Connection, cache_mib: int = 64) -> None:
    """A larger page cache for a feed landing with its indexes in place (a peer's bundle): the value and id
    indexes take random inserts, and with the default 2 MiB cache SQLite spills the same pages to the WAL again
    and again. 64 MiB measured as fast as 192 MiB for a 1M-indicator bundle (20-21 s), at 134 MB peak instead
    of 280 MB; 16 MiB took 31 s."""
    conn.execute(f"PRAGMA cache_size = -{int(cache_mib) * 1024}")


# -- queries --------------------------------------------------------------------------------------------


def holds_any(conn: Connection, author: str) -> bool:
    """Whether ``author`` has any indicator in the index."""
    return conn.execute("SELECT 1 FROM ind WHERE author = ? LIMIT 1", (author,)).fetchone() is not None


def existing(conn: Connection, author: str, sids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """sid -> (rec, pos) of the current version, for ``author``'s indicators among ``sids``."""
    return {sid: (row[1], row[2]) for sid, row in _existing(conn, author, sids).items()}


def recheck(conn: Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Run the landing checks again over every current indicator (after a warninglist update or a change of
    ``[indicators.checks]``); returns how many are flagged now. ``progress(done, total)`` hears the count of
    indicators checked every 4,096."""
    from cbm.measures.indicators.model import BadValue, recognise

    check = checker(conn).check
    conn.execute("DELETE FROM ind_flag")
    flagged: list[tuple[str, str, str]] = []
    rows = conn.execute("SELECT sid, author, type, value FROM ind").fetchall()
    for n, (sid, author, kind, value) in enumerate(rows):
        if progress is not None and not n % 4096:
            progress(n, len(rows))
        if kind == "pattern":  # the pattern's values (first in ind, the others in ind_alt), typed again
            values = [value] + [v for (v,) in conn.execute(
                "SELECT value FROM ind_alt WHERE sid = ? AND author = ?", (sid, author))]
            flags: list[str] = []
            for text in values:
                try:
                    flags.extend(check(*recognise(text)) if text else ())
                except BadValue:
                    continue
            flags = list(dict.fromkeys(flags))
        else:
            flags = check(kind, value)
        flagged.extend((sid, author, flag) for flag in flags)
    if progress is not None:
        progress(len(rows), len(rows))
    conn.executemany("INSERT INTO ind_flag (sid, author, flag) VALUES (?, ?, ?)", flagged)
    return len({(sid, author) for sid, author, _ in flagged})
