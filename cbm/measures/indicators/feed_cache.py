"""The page cache of a bulk load: large while a fresh feed lands with the indexes on ``ind`` suspended
(:func:`cbm.measures.indicators.index.suspend_indexes`), what it was again before they are rebuilt
(docs/adr/0297)."""

from __future__ import annotations

from cbm.store.indexes import Connection

FEED_CACHE_MIB = 64


def feed_cache(conn: Connection, cache_mib: int = FEED_CACHE_MIB) -> int:
    """Give the bulk load a page cache of ``cache_mib``; returns the ``cache_size`` the connection had, for
    :func:`restore_cache`. SQLite writes a dirty page out of a full cache to the WAL, and reads it back from there
    when it is touched again: with the default 2 MiB, a 1M-line feed wrote some pages twice (and a page written
    twice in a transaction makes COMMIT read back every frame after it, to rewrite their checksums) and read
    back ~1 GB more than the checkpoint does; 64 MiB keeps the pages the batches keep touching."""
    before = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = -{int(cache_mib) * 1024}")
    return before


def restore_cache(conn: Connection, cache_size: int) -> None:
    """Set the page cache back to ``cache_size`` (what :func:`feed_cache` returned), before the indexes are
    rebuilt: SQLite's sorter sizes its runs by the cache, one per sorter thread, and 64 MiB there took the
    importing process from 96 to 237 MB at 1M."""
    conn.execute(f"PRAGMA cache_size = {int(cache_size)}")
