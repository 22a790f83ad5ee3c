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
from collections.abc import Callable
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
