"""The five measures: domain logic over records. One module per measure, discovered here.

A measure module may define, besides its own API:

- ``on_import(store, records: Sequence[Record]) -> list[Record]``: react to the records *of its own measure*
  (kind ``<module name>.*``) that just landed from a peer (e.g. answer a link test, acknowledge delivery).
  Runs after every import's transaction committed, also when none of its records landed (to retry earlier
  work); returns the records it appended.
- ``attention(store) -> list[Attention]``: what needs an operator now, for ``cbm status``.

Modules must stay light to import (defer stix2 and the like into the functions that need them).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Collection, Sequence
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbm.core.records import Record
    from cbm.measures.base import Attention
    from cbm.store.db import Store


@cache
def measure_modules() -> tuple[ModuleType, ...]:
    import cbm.measures as package

    skip = {"base", "status"}
    return tuple(importlib.import_module(f"cbm.measures.{info.name}")
                 for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
                 if info.name not in skip and not info.name.startswith("_"))


def after_import(store: Store, records: Sequence[Record]) -> list[Record]:
    """Let every measure react to newly landed peer records. Returns the records they appended.

    ``records`` may be read lazily from the store (bundle import passes a view that loads one record at a time),
    so hooks iterate it rather than keep it.
    """
    from cbm.store.ingest import LandedRecords

    appended: list[Record] = []
    for module in measure_modules():
        hook = getattr(module, "on_import", None)
        if hook is None:
            continue
        prefix = module.__name__.rsplit(".", 1)[-1] + "."
        # each hook sees only its measure's records, so e.g. 1 MB indicator batches are never read back for it
        mine = records.of_kinds(prefix) if isinstance(records, LandedRecords) else \
            [r for r in records if r.kind.startswith(prefix)]
        appended.extend(hook(store, mine) or [])  # called even with none: a hook may retry earlier work
    return appended


def attention(store: Store, measures: Collection[str] | None = None) -> list[Attention]:
    """Everything the measures say needs an operator, most urgent first.

    ``measures`` (names such as ``inquiry``) limits the question to measures that hold records: a measure
    with none has nothing to report, and is then not even imported (``cbm status`` starts faster).
    """
    items: list[Attention] = []
    if measures is not None:
        import cbm.measures as package

        names = {info.name for info in pkgutil.iter_modules(package.__path__)}
        modules = tuple(importlib.import_module(f"cbm.measures.{name}") for name in sorted(measures)
                        if name in names)
    else:
        modules = measure_modules()
    for module in modules:
        hook = getattr(module, "attention", None)
        if hook is not None:
            items.extend(hook(store))
    return sorted(items, key=lambda a: (a.rank, a.due or "9999"))
