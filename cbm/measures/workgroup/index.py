"""The working group keeps no tables: its state is folded on read from its records (docs/adr/0063), so there is
no index to register (``INDEX = None``). Its one cross-measure query, the record counts of a period for the
report, is the store's (:func:`cbm.store.activity.record_counts`)."""

from __future__ import annotations

from cbm.store.indexes import Index

INDEX: Index | None = None
