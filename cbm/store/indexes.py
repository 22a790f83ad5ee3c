"""Derived indexes, discovered from ``cbm/store/index_<name>.py`` modules.

Each such module defines ``INDEX = Index(...)``: its tables' schema, the record kinds it folds (prefixes), and
``add(conn, records)`` which inserts derived rows for newly landed records, in the same transaction as the
records themselves. Indexes must be pure functions of the records, so ``cbm store rebuild`` (and a version
bump) can drop and regenerate them at any time.
"""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from cbm.core.records import Record


@dataclass(frozen=True)
class Index:
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


@cache
def all_indexes() -> tuple[Index, ...]:
    import cbm.store as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("index_"):
            module = importlib.import_module(f"cbm.store.{info.name}")
            found.append(module.INDEX)
    return tuple(found)


def apply(conn: sqlite3.Connection, records: list[Record]) -> None:
    """Feed newly landed records to every index that folds their kinds."""
    for index in all_indexes():
        wanted = [r for r in records if index.wants(r.kind)]
        if wanted:
            index.add(conn, wanted)


@contextmanager
def bulk_landing(conn: sqlite3.Connection, authors: Iterable[str], size_bytes: int) -> Iterator[None]:
    """Around the landing of many records by ``authors`` (``size_bytes`` of them, about) inside one transaction:
    indexes that fold them faster in bulk do so, and are complete again when the block ends. If it raises, their
    state is dropped and the transaction's rollback restores the rest."""
    wanted = frozenset(authors)
    started = [index for index in all_indexes()
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

