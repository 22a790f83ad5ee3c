"""Indexes rebuilt from the records: ``cbm store rebuild``, and an index rebuilt when the store is opened because
it is new or another version of cbm built it (its version moved).

Indexes are derived state: dropping their tables and folding every record again gives the same index, so a
rebuild is always safe; it runs in one transaction, so a kill leaves the index as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from cbm.core.memory import cycle_collector_paused
from cbm.store import indexes
from cbm.store.connection import _statements
from cbm.store.indexes import Connection, Index

if TYPE_CHECKING:
    from cbm.core.records import Record
    from cbm.store.db import Store

REBUILD_BATCH_BYTES = 16 * 1024 * 1024  # records handed to an index at once during a rebuild

#: Told, before a store's records are folded again into indexes another version of cbm built (their names),
#: which takes about a minute for a million indicators; returns a context held over the work, giving a
#: ``progress(done, total)`` callback (records) or None.
OnRefold = Callable[[tuple[str, ...]], AbstractContextManager[Callable[[int, int], None] | None]]


def stale(conn: Connection, versions: Mapping[str, int]) -> set[str]:
    """Names of the indexes in ``versions`` (name -> version) built at another version, or not built yet."""
    built = dict(conn.execute("SELECT name, version FROM index_versions").fetchall())
    return {name for name, version in versions.items() if built.get(name) != version}


def ensure(store: Store, loaded: tuple[Index, ...], on_refold: OnRefold | None) -> None:
    """Rebuild those of ``loaded`` that are stale; ``on_refold`` hears first of those another cbm built."""
    names = stale(store.conn, {index.name: index.version for index in loaded})
    if not names:
        return
    rebuilding = [index for index in loaded if index.name in names]
    built = {name for (name,) in store.conn.execute("SELECT name FROM index_versions")}
    moved = tuple(index.name for index in rebuilding if index.name in built)  # not new: another cbm built it
    told = on_refold(moved) if moved and on_refold is not None else nullcontext()
    with told as progress, store.transaction():
        advance = None if progress is None else \
            _running(progress, sum(_records_of(store.conn, index) for index in rebuilding))
        for index in rebuilding:
            rebuild_index(store, index, advance)


def rebuild_index(store: Store, index: Index, progress: Callable[[int], None] | None = None) -> int:
    """Drop ``index``'s tables, fold every record of its kinds again (inside the caller's transaction), record
    its version; the number of records folded. ``progress(n)`` hears each handful folded."""
    conn = store.conn
    for table in index.tables:
        conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    for statement in _statements(index.schema):
        conn.execute(statement)
    count = 0
    batch: list[Record] = []
    batch_bytes = 0
    # the index starts empty, so it may fold everything in bulk (the indicator index: built once at the end)
    authors = [a for (a,) in conn.execute("SELECT DISTINCT author FROM records")]
    size = int(conn.execute("SELECT COALESCE(SUM(LENGTH(envelope)), 0) FROM records").fetchone()[0])
    with indexes.bulk_landing(conn, store.indexes, authors, size):
        for prefix in index.kinds:
            for record in store.records(kind_prefix=prefix):
                batch.append(record)
                batch_bytes += len(record.payload)
                if len(batch) >= 1000 or batch_bytes >= REBUILD_BATCH_BYTES:  # bounded memory: ~1 MB records
                    index.add(conn, batch)
                    count += len(batch)
                    if progress is not None:
                        progress(len(batch))
                    batch, batch_bytes = [], 0
        if batch:
            index.add(conn, batch)
            count += len(batch)
            if progress is not None:
                progress(len(batch))
    conn.execute("INSERT OR REPLACE INTO index_versions (name, version) VALUES (?, ?)", (index.name, index.version))
    return count


@cycle_collector_paused()
def rebuild(store: Store, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """:meth:`cbm.store.db.Store.rebuild`: the derived record columns and every index, from the envelopes."""
    import json

    from cbm.store import claims
    from cbm.store.record_rows import record_from_row

    conn = store.conn
    with store.transaction():
        ids = [row_id for (row_id,) in conn.execute("SELECT id FROM records ORDER BY id")]
        advance = None if progress is None else \
            _running(progress, len(ids) + sum(_records_of(conn, index) for index in store.indexes))
        for i, (row_id, envelope, keyid) in enumerate(_envelopes(conn, ids), 1):
            if not i % 1024 and advance is not None:
                advance(1024)
            r = record_from_row(envelope, keyid)
            ref = r.body.get("ref")
            conn.execute(
                "UPDATE records SET hash=?, author=?, seq=?, prev=?, kind=?, created=?, tlp=?, audience=?,"
                " subject=? WHERE id=?",
                (r.hash, r.author, r.seq, r.prev, r.kind, r.created, r.tlp, json.dumps(list(r.to)),
                 ref if isinstance(ref, str) else None, row_id))
        if advance is not None:
            advance(len(ids) % 1024)
        claims.sweep(conn, store.party, store)
        return {index.name: rebuild_index(store, index, advance) for index in store.indexes}


def _envelopes(conn: Connection, ids: list[int], chunk: int = 64) -> Iterator[tuple[int, bytes, str]]:
    """(id, envelope, keyid) of the records with these ids, a few at a time (an indicator batch is ~1 MB)."""
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        yield from conn.execute(
            f"SELECT id, envelope, keyid FROM records WHERE id IN ({','.join('?' * len(part))}) ORDER BY id",
            part).fetchall()


def _records_of(conn: Connection, index: Index) -> int:
    """How many stored records ``index`` folds (those of its kinds)."""
    return sum(int(conn.execute("SELECT COUNT(*) FROM records WHERE kind >= ? AND kind < ?",
                                (prefix, prefix + "\U0010ffff")).fetchone()[0]) for prefix in index.kinds)


def _running(progress: Callable[[int, int], None], total: int) -> Callable[[int], None]:
    """``advance(n)``: ``n`` more of ``total`` done, told to ``progress(done, total)``."""
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return advance
