"""Opening the SQLite database with the settings cbm relies on (WAL, ``synchronous=FULL``, a busy timeout),
creating or upgrading its schema, and turning SQLite's failures into cbm's store errors."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from cbm.core.errors import CbmError, StoreCorrupt, StoreError, StoreLocked, UsageError
from cbm.store.schema import CLAIMS_SCHEMA, FORMAT_VERSION, SCHEMA

#: Pages of new stores (docs/adr/0214-store-page-size.md): a feed lands ~1 MB records and a million index rows,
#: written once to the WAL and once more by the checkpoint; 16 KiB pages make a quarter of the frames and
#: system calls of SQLite's default 4 KiB (the commit of a 1M-indicator import: ~1.4 s -> ~0.5 s of CPU).
PAGE_SIZE = 16384
BUSY_TIMEOUT_MS = 30_000  # how long to wait for another process's write lock; $CBM_LOCK_TIMEOUT (seconds)

#: Python's sqlite3 binds None through its adapter look-up (only int, float, str and bytearray skip it): with no
#: adapter registered for None it then asks the PrepareProtocol type for ``__adapt__``, which raises an
#: AttributeError that is cleared again, for every None bound. An index row has several (1M indicators: ~7M),
#: so None gets an adapter of its own, a C-level callable giving None back (SQL NULL, as before): a fifth to a
#: third less CPU for the ``ind`` inserts (docs/adr/0236-none-binds-without-adaptation.md). Process-wide, and
#: the same NULL for every connection.
_NOTHING: dict[None, None] = {}
_as_null: Callable[[None], None] = _NOTHING.get  # C-level: None for None (the dict stays empty)
sqlite3.register_adapter(type(None), _as_null)


def busy_timeout_ms() -> int:
    """``$CBM_LOCK_TIMEOUT`` (seconds, 0 to 86400, fractions allowed) in ms, else 30 s. Raises UsageError."""
    raw = os.environ.get("CBM_LOCK_TIMEOUT", "").strip()
    try:
        seconds = float(raw) if raw else BUSY_TIMEOUT_MS / 1000
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86400:  # NaN fails too
        raise UsageError(f"CBM_LOCK_TIMEOUT={raw!r} is not a number of seconds", hint="e.g. CBM_LOCK_TIMEOUT=5")
    return round(seconds * 1000)


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (comments dropped; no ';' inside literals)."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [s.strip() for s in code.split(";") if s.strip()]


def database_error(error: BaseException) -> CbmError | None:
    """The store error a failure escaping the library stands for, or None: a damaged database surfaces as
    ``sqlite3.DatabaseError`` wherever it is first touched, so the CLI's one handler asks here (it never names
    ``sqlite3`` itself)."""
    if isinstance(error, sqlite3.DatabaseError):
        return StoreCorrupt(f"the store database cannot be read ({error})",
                            hint="run `cbm store verify`; restore the store from a backup if it fails")
    return None


def _wrap(e: sqlite3.Error) -> CbmError:
    text = str(e)
    if "locked" in text or "busy" in text:
        return StoreLocked(f"the store is locked by another cbm process ({text})",
                           hint="wait for it to finish, or find it with `fuser store.sqlite`; "
                                "CBM_LOCK_TIMEOUT=SECONDS sets how long cbm waits (default 30)")
    if "malformed" in text or "not a database" in text:
        return StoreCorrupt(f"the store database is damaged ({text})")
    return StoreError(f"store error: {text}")


def connect(path: Path) -> sqlite3.Connection:
    """Open (or create) the database with the durability and concurrency settings cbm relies on."""
    timeout_ms = busy_timeout_ms()
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=timeout_ms / 1000)
        conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        # a new database's page size, fixed before WAL mode writes its first page (an existing store keeps its own)
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise StoreError(f"cannot use WAL journal mode on {path} (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute("BEGIN IMMEDIATE")
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                for statement in _statements(SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
            conn.execute("COMMIT")
        elif version > FORMAT_VERSION:
            raise StoreError(f"the store was written by a newer cbm (format {version})",
                             hint="upgrade cbm")
        _add_claims(conn)
        return conn
    except sqlite3.DatabaseError as e:
        raise _wrap(e) from e


def _add_claims(conn: sqlite3.Connection) -> None:
    """Give a store made before claims were recorded its ``claims`` table and the withheld claimant columns.

    Additive (older cbm versions still read and write the store), idempotent, and one cheap query when done.
    """
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims'").fetchone():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(withheld)")}
        for column in ("claimant", "source"):
            if column not in columns:
                conn.execute(f"ALTER TABLE withheld ADD COLUMN {column} TEXT")
        for statement in _statements(CLAIMS_SCHEMA):
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
