"""The measures' reactions to records that just landed from a peer, and what they say needs attention."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from cbm.measures.registry import MEASURES

if TYPE_CHECKING:
    from cbm.core.records import Record
    from cbm.measures.base import Attention
    from cbm.store.db import Store


def after_import(store: Store, records: Sequence[Record]) -> list[Record]:
    """Let every measure react to newly landed peer records (each sees only its own kinds). Returns the records
    they appended.

    ``records`` may be read lazily from the store (bundle import passes a view that loads one record at a time),
    so hooks iterate it rather than keep it.
    """
    from cbm.store.ingest import LandedRecords

    appended: list[Record] = []
    for measure in MEASURES:
        hook = measure.load_on_import()
        if hook is None:
            continue
        # each hook sees only its measure's records, so e.g. 1 MB indicator batches are never read back for it
        mine = records.of_kinds(measure.prefix) if isinstance(records, LandedRecords) else \
            [r for r in records if r.kind.startswith(measure.prefix)]
        appended.extend(hook(store, mine) or [])  # called even with none: a hook may retry earlier work
    return appended


def attention(store: Store, measures: Collection[str] | None = None) -> list[Attention]:
    """Everything the measures say needs an operator, most urgent first.

    ``measures`` (names such as ``inquiry``) limits the question to measures that hold records: a measure
    with none has nothing to report, and is then not even imported (``cbm status`` starts faster).
    """
    items: list[Attention] = []
    for measure in sorted(MEASURES, key=lambda m: m.name):  # ties keep the measures' alphabetical order
        if measures is None or measure.name in measures:
            items.extend(measure.load_attention()(store))
    return sorted(items, key=lambda a: (a.rank, a.due or "9999"))
