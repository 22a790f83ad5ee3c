"""An ``indicators.batch`` body read column by column: the landing gate and the index share one transposition.

A batch holds up to 5,000 rows and a national feed a million. The malformed gate (cbm/measures/malformed.py)
checks each column whole in C-level passes, and the indicator index (index.py) builds its rows from the same
columns with ``zip`` instead of a Python loop per indicator. Both look at the same body one after the other
when a record lands, so the columns of the last body asked for are kept (one batch: a few MB at most) and the
rows are transposed once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
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


_last_kinds: tuple[tuple[Any, ...], dict[Any, list[int]]] | None = None  # a type column, its positions by type


def positions_by_kind(kinds: Sequence[Hashable]) -> dict[Any, list[int]]:
    """Each type's positions in a batch's type column, ascending, the types in the order they first appear: two
    C-level calls a row. The landing gate (which holds each type's values to their normal form) and the landing
    checks (which screen each type's values its own way) both ask for the same column as a batch lands, so the
    answer for the last column given as a tuple is kept (a tuple cannot change under it); treat it as read-only."""
    global _last_kinds
    cached = _last_kinds
    if cached is not None and cached[0] is kinds:
        return cached[1]
    groups: dict[Any, list[int]] = {kind: [] for kind in dict.fromkeys(kinds)}
    deque(map(list.append, map(groups.__getitem__, kinds), range(len(kinds))), maxlen=0)
    if type(kinds) is tuple:
        _last_kinds = (kinds, groups)
    return groups
