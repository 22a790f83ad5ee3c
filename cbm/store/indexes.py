"""Derived indexes: the store's interface for anything that folds records into tables.

An index is an ``Index(...)`` value: its tables' schema, the record kinds it folds (prefixes), and
``add(conn, records)`` which inserts derived rows for newly landed records, in the same transaction as the
records themselves. Indexes must be pure functions of the records, so ``cbm store rebuild`` (and a version
bump) can drop and regenerate them at any time.

The store knows no measure: it owns two indexes of its own (bundles sent and acknowledged, receipts), and is
given the measures' indexes when it is opened (``Store.open(..., indexes=...)``; the application layer passes
the registry's, see :mod:`cbm.app.stores`). An index module receives the store's connection as a
:data:`Connection` argument (from ``Store.query`` or from the landing) and never imports ``sqlite3`` itself:
only ``cbm/store`` does (docs/adr/0100-measure-packages-and-registry.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from cbm.core.records import Record

#: The connection an index's functions receive; index modules outside ``cbm/store`` name it by this alias.
Connection = sqlite3.Connection
Cursor = sqlite3.Cursor


class Index(NamedTuple):
    name: str
    version: int
    kinds: tuple[str, ...]  # kind prefixes this index folds, e.g. ("inquiry.",)
    tables: tuple[str, ...]  # tables it owns (dropped on rebuild)
    schema: str  # CREATE statements
    add: Callable[[sqlite3.Connection, list[Record]], None]
    # Optional bulk landing (many records of a few authors, e.g. a peer's feed): ``begin_bulk`` may set the index
    # up to fold them faster and says whether it did; ``end_bulk`` makes the index complete again, inside the
    # same transaction; ``discard_bulk`` forgets the state when the transaction rolls back instead.
    begin_bulk: Callable[[sqlite3.Connection, frozenset[str], int], bool] | None = None
    end_bulk: Callable[[sqlite3.Connection], None] | None = None
    discard_bulk: Callable[[sqlite3.Connection], None] | None = None

    def wants(self, kind: str) -> bool:
        return any(kind.startswith(prefix) for prefix in self.kinds)


class Deferred(NamedTuple):
    """Indexes handed to the store by name and version, loaded only when a write needs them.

    ``versions`` (name -> version) must be those of the Index values ``load()`` returns. A store opened to read
    compares them with the versions its tables were built with and, when they agree, never calls ``load``: a
    reading command imports no index module (docs/adr/0216-index-versions-as-data.md).
    """

    versions: Mapping[str, int]
    load: Callable[[], Sequence[Index]]


#: The store's own indexes (below) by name and version, as data: their modules read their versions from here.
STORE_INDEX_VERSIONS: Mapping[str, int] = {"bundles": 1, "receipts": 1, "rosters": 1}


def store_indexes() -> tuple[Index, ...]:
    """The indexes the store itself owns (bundles sent and acknowledged; receipts; rosters), folded in every
    store."""
    from cbm.store import index_bundles, index_receipts, index_rosters

    return (index_bundles.INDEX, index_receipts.INDEX, index_rosters.INDEX)


def apply(conn: sqlite3.Connection, indexes: Sequence[Index], records: list[Record]) -> None:
    """Feed newly landed records to every index in ``indexes`` that folds their kinds."""
    for index in indexes:
        wanted = [r for r in records if index.wants(r.kind)]
        if wanted:
            index.add(conn, wanted)


@contextmanager
def bulk_landing(conn: sqlite3.Connection, indexes: Sequence[Index], authors: Iterable[str],
                 size_bytes: int) -> Iterator[None]:
    """Around the landing of many records by ``authors`` (``size_bytes`` of them, about) inside one transaction:
    indexes that fold them faster in bulk do so, and are complete again when the block ends. If it raises, their
    state is dropped and the transaction's rollback restores the rest."""
    wanted = frozenset(authors)
    started = [index for index in indexes
               if index.begin_bulk is not None and index.begin_bulk(conn, wanted, size_bytes)]
    try:
        yield
        for index in started:
            assert index.end_bulk is not None
            index.end_bulk(conn)
    finally:
        for index in started:
            if index.discard_bulk is not None:
                index.discard_bulk(conn)

