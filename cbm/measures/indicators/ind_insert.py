"""The SQL that lands ``ind`` rows (index.py folds a batch through it): one row at a time (:data:`INSERT`), or a
batch's rows many to a statement, binding what they share once (docs/adr/0237, 0249)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any

from cbm.measures.indicators.index_rows import IndRows
from cbm.store.indexes import Connection

_IND_COLUMNS = ("author, sid, rec, pos, type, value, tlp, created, modified, valid_from, valid_until, confidence,"
                " sectors, versions, revoked, digest")
_WIDTH = _IND_COLUMNS.count(",") + 1  # the 16 values of an ``ind`` row

#: One ``ind`` row's INSERT, ``{verb}`` "" or "OR IGNORE" (a new version, a test's plain landing).
INSERT = f"INSERT {{verb}} INTO ind ({_IND_COLUMNS}) VALUES ({', '.join('?' * _WIDTH)})"

_PER_STATEMENT = 64  # rows an INSERT names (at most 5 + 64 * 11 = 709 parameters: within SQLite's limit of 999)

#: Positions in an ``ind`` row that every row of a batch shares (one record: author, rec, tlp, modified,
#: versions): an INSERT binds them once, as ?1 to ?5, and each row refers to them.
_SHARED = (0, 2, 6, 8, 13)


def insert_or_ignore(conn: Connection, rows: Sequence[tuple[Any, ...]], nulls: frozenset[int] = frozenset()) -> None:
    """``INSERT OR IGNORE`` every row of one batch into ``ind``, in order, by statements of
    :data:`_PER_STATEMENT` rows (SQLite steps once for the lot), the rest in one statement of their own.

    A statement binds the values every row of a batch shares (:data:`_SHARED`) once, and names the columns
    ``nulls`` says are None in every row as NULL, so only each row's own values are bound: a third less CPU a
    row than binding all of them (docs/adr/0237-index-rows-bind-only-their-own-values.md). What lands is the same.
    Rows kept as columns (:class:`~cbm.measures.indicators.index_rows.IndRows`) are laid into the statements'
    parameters a column at a time, with no tuple per row (docs/adr/0249)."""
    if not rows:
        return
    n = len(rows)
    own = tuple(i for i in range(_WIDTH) if i not in _SHARED and i not in nulls)
    if isinstance(rows, IndRows):
        statements = rows.parameters(_SHARED, own, _PER_STATEMENT)
        if n >= _PER_STATEMENT:
            conn.executemany(insert_sql(nulls, _PER_STATEMENT), statements[:n // _PER_STATEMENT])
        if n % _PER_STATEMENT:
            conn.execute(insert_sql(nulls, n % _PER_STATEMENT), statements[-1])
        return
    shared = tuple(rows[0][i] for i in _SHARED)
    values_of = itemgetter(*own)
    whole = n - n % _PER_STATEMENT
    if whole:
        conn.executemany(insert_sql(nulls, _PER_STATEMENT),
                         [shared + tuple(chain.from_iterable(map(values_of, rows[i:i + _PER_STATEMENT])))
                          for i in range(0, whole, _PER_STATEMENT)])
    if whole < n:
        conn.execute(insert_sql(nulls, n - whole),
                     shared + tuple(chain.from_iterable(map(values_of, rows[whole:]))))


@cache
def insert_sql(nulls: frozenset[int], count: int) -> str:
    """The ``INSERT OR IGNORE`` of ``count`` rows binding the shared values as ?1 to ?5, NULL for ``nulls``, and
    each row's own values after them, in row order."""
    own = [i for i in range(_WIDTH) if i not in _SHARED and i not in nulls]
    rows = []
    for n in range(count):
        cells = []
        for i in range(_WIDTH):
            if i in _SHARED:
                cells.append(f"?{_SHARED.index(i) + 1}")
            elif i in nulls:
                cells.append("NULL")
            else:
                cells.append(f"?{len(_SHARED) + n * len(own) + own.index(i) + 1}")
        rows.append(f"({', '.join(cells)})")
    return f"INSERT OR IGNORE INTO ind ({_IND_COLUMNS}) VALUES {', '.join(rows)}"
