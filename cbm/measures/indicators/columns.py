"""An ``indicators.batch`` body read column by column: the landing gate and the index share one transposition.

A batch holds up to 5,000 rows and a national feed a million. The malformed gate (cbm/measures/malformed.py)
checks each column whole in C-level passes, and the indicator index (index.py) builds its rows from the same
columns with ``zip`` instead of a Python loop per indicator. Both look at the same body one after the other
when a record lands, so the columns of the last body asked for are kept (one batch: a few MB at most) and the
rows are transposed once.
"""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

from cbm.measures.indicators import rows as R

WIDTH = len(R.FIELDS)

Columns = list[tuple[Any, ...]]

_last: tuple[dict[str, Any], list[Any], int, Columns] | None = None  # body, its rows, their count, columns


def columns(body: dict[str, Any]) -> Columns | None:
    """``body``'s rows as ``WIDTH`` columns in :data:`~cbm.measures.indicators.rows.FIELDS` order, short rows
    padded with None; or None when the body is not laid out that way (``fields`` other than FIELDS, or the
    layout before ``origin``, in order; or ``rows`` not a list of lists), which callers read row by row.

    The result is shared with the next caller asking for the same body: treat it as read-only."""
    global _last
    rows = body.get("rows")
    cached = _last
    if cached is not None and cached[0] is body and cached[1] is rows and cached[2] == len(rows or ()):
        return cached[3]
    if not isinstance(rows, list) or R.column_map(body.get("fields")) != _IDENTITY:
        return None
    if rows and set(map(type, rows)) != _LIST_ONLY:
        return None
    found: Columns = list(zip_longest(*rows))[:WIDTH] if rows else []
    if len(found) < WIDTH:
        found.extend([(None,) * len(rows)] * (WIDTH - len(found)))
    _last = (body, rows, len(rows), found)
    return found


_IDENTITY = list(range(WIDTH))
_LIST_ONLY = {list}
