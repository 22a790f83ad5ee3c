"""Malformed records: well signed, kept as evidence, never folded (docs/adr/0116-malformed-peer-records.md).

One rule for every measure: when a record lands (bundle import, file import, ``cbm store rebuild``) its body is
checked against its kind's typed record (the measure's ``records.py``, ``from_body``; an ``indicators.batch``
also row by row). A record that breaks it stays in the log (its author's chain stays whole, its signature is
still evidence) but no measure's index folds it, so it reaches no listing, no ``show`` and no export; the
``malformed`` index lists it, with its author and the first rule it broke, for ``cbm status``.

:func:`guarded` wraps a measure's index so that it folds only well-formed records; :data:`INDEX` is the list.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from cbm.core.bodies import Body, InvalidBody
from cbm.core.fields import control_character
from cbm.core.records import Record
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.columns import columns as batch_columns
from cbm.measures.registry import GATE_VERSION, MALFORMED_INDEX_VERSION
from cbm.store.indexes import Connection, Index

#: Per column of an indicator row, the JSON types it may hold (None: absent). ``id`` and ``type`` are required.
_ROW_TYPES: tuple[tuple[type, ...], ...] = (
    (str,), (str,), (str, type(None)), (str, type(None)), (int, type(None)), (list, type(None)), (str, type(None)),
    (str, type(None)), (str, type(None)), (str, type(None)), (list, type(None)), (list, type(None)),
    (list, type(None)), (str, type(None)), (dict, type(None)),
)
_ROW_SINGLE_LINE = R.SINGLE_LINE  # the rules the readers keep too (formats.build_row), so cbm signs no row it refuses
_ROW_LISTS_OF_TEXT = (R.SECTORS, R.INDICATOR_TYPES, R.LABELS)
_MAX_TEXT = R.MAX_TEXT


@dataclass(frozen=True)
class Malformed:
    """A record kept as evidence but not folded: who signed it, where in their log, and why it was refused."""

    author: str
    seq: int
    kind: str
    hash: str
    reason: str


@cache
def _classes() -> dict[str, type[Body]]:
    from cbm.measures.registry import MEASURES

    out: dict[str, type[Body]] = {}
    for measure in MEASURES:
        out.update(importlib.import_module(f"{measure.package}.records").RECORDS)
    return out


_MEMO: dict[str, str | None] = {}  # by record hash: a record is checked by its measure's index and by ours


def reason(record: Record) -> str | None:
    """Why ``record``'s body breaks its kind's rules, or None if it is well formed (or not a measure's kind)."""
    if record.hash in _MEMO:
        return _MEMO[record.hash]
    if len(_MEMO) > 4096:
        _MEMO.clear()
    _MEMO[record.hash] = found = _reason(record)
    return found


def _reason(record: Record) -> str | None:
    cls = _classes().get(record.kind)
    if cls is None:
        if record.kind.startswith(_prefixes()):
            return f"unknown record kind {record.kind}"
        return None  # the store's own kinds (bundle.receipt, keys.rotate): not a measure's to judge
    try:
        cls.from_body(record.body)
    except InvalidBody as e:
        return str(e)
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as e:  # a check that assumed a type
        return f"{record.kind} body does not fit its schema ({type(e).__name__})"
    if record.kind == "indicators.batch":
        return batch_reason(record.body)
    return None


def batch_reason(body: dict[str, Any]) -> str | None:
    """The first row of an ``indicators.batch`` body whose columns have the wrong type, or None.

    A batch holds up to 5,000 rows and a feed a million: each column is checked whole first (types as a set,
    single-line columns joined and tested once), so a well-formed batch costs a few C-level passes; only a
    batch that fails is walked row by row to name the first bad row."""
    columns = R.column_map(body.get("fields"))
    if columns is None:
        return "fields must name the id and type columns"
    rows = body["rows"]
    if columns == _IDENTITY and (not rows or min(map(len, rows)) > R.TYPE):
        cells = batch_columns(body)  # transposed once, shared with the index that folds the batch next
        if cells is not None and all(_column_ok(i, column) for i, column in enumerate(cells) if i < len(_ROW_TYPES)) \
                and _each_has_a_value(cells, len(rows)):
            return None
    return _first_bad_row(rows, columns)


def _each_has_a_value(cells: list[tuple[Any, ...]], count: int) -> bool:
    """Whether every row holds a value or a pattern (an indicator is one or the other)."""
    nothing = (None,) * count
    values = cells[R.VALUE] if len(cells) > R.VALUE else nothing
    patterns = cells[R.PATTERN] if len(cells) > R.PATTERN else nothing
    if all(values):  # a feed's usual batch: every row has a value (one C-level pass)
        return True
    return all(value or pattern for value, pattern in zip(values, patterns, strict=True))


_IDENTITY = list(range(len(R.FIELDS)))
_ROW_TYPE_SETS = tuple(frozenset(types) for types in _ROW_TYPES)


def _column_ok(i: int, column: tuple[Any, ...]) -> bool:
    """Whether one column of a batch keeps its rules; every pass is a C-level map or filter over the column
    (a million-row feed goes through here at landing)."""
    if not column:
        return True
    nones = column.count(None)
    if nones == len(column):  # a column the feed leaves empty (most are): one C-level pass
        return _NONE in _ROW_TYPE_SETS[i]
    if i in _TEXT_COLUMNS:
        texts = list(filter(None, column)) if nones else column
        if nones + len(texts) == len(column):  # nothing falsy but nulls: joining the text checks every type
            if nones and _NONE not in _ROW_TYPE_SETS[i]:
                return False
            try:
                joined = "".join(texts)
            except TypeError:  # a value that is not text
                return False
            if len(joined) > _MAX_TEXT and max(map(len, texts)) > _MAX_TEXT:
                return False
            return i not in _ROW_SINGLE_LINE or _single_line(joined)
    types = set(map(type, column))
    if not types <= _ROW_TYPE_SETS[i]:
        return False
    if str in types:  # the column is text (and nulls): its non-empty values, in C
        texts = list(filter(None, column))
        if texts and max(map(len, texts)) > _MAX_TEXT:
            return False
        if i in _ROW_SINGLE_LINE:
            if not _single_line("".join(texts)):
                return False
    elif i in _ROW_LISTS_OF_TEXT and list in types:
        return set(map(type, itertools.chain.from_iterable(filter(None, column)))) <= _TEXT_ONLY
    return True


def _single_line(text: str) -> bool:
    """Whether ``text`` holds no control character: for ASCII text (a feed's usual), one C-level pass over its
    bytes deleting the printable ones (a sixth of ``isprintable``'s cost, which looks each character up in the
    Unicode tables); else ``isprintable``, and the exact test only when that finds something."""
    if text.isascii() and not text.encode("ascii").translate(None, _PRINTABLE_ASCII):
        return True
    return text.isprintable() or control_character(text) is None


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_TEXT_ONLY = frozenset((str,))
_NONE = type(None)
_TEXT_COLUMNS = frozenset(i for i, types in enumerate(_ROW_TYPES) if str in types)  # str, or str and null


def _first_bad_row(rows: list[list[Any]], columns: list[int]) -> str | None:
    identity = columns == list(range(len(R.FIELDS)))
    for n, raw in enumerate(rows, 1):
        row = raw if identity else [raw[c] if 0 <= c < len(raw) else None for c in columns]
        for i, value in enumerate(row):
            if i >= len(_ROW_TYPES):
                break
            if type(value) not in _ROW_TYPES[i] or (type(value) is str and len(value) > _MAX_TEXT):
                return f"row {n}: {R.FIELDS[i]} must be {_describe(_ROW_TYPES[i])}"
            if i in _ROW_SINGLE_LINE and value is not None and not value.isprintable() \
                    and control_character(value) is not None:
                return f"row {n}: {R.FIELDS[i]} holds a control character"
            if i in _ROW_LISTS_OF_TEXT and value is not None and not all(type(v) is str for v in value):
                return f"row {n}: {R.FIELDS[i]} must list strings"
        if len(row) <= R.TYPE:
            return f"row {n}: id and type are required"
        if not (len(row) > R.VALUE and row[R.VALUE]) and not (len(row) > R.PATTERN and row[R.PATTERN]):
            return f"row {n}: an indicator needs a value or a pattern"
    return None


def _describe(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "a list", dict: "an object"}
    return " or ".join(names.get(t, "null") for t in types)


# -- the index -------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS malformed (
    record_id INTEGER PRIMARY KEY,
    author TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, hash TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS malformed_author ON malformed (author);
"""


def _add(conn: Connection, records: list[Record]) -> None:
    rows = []
    for record in records:
        why = reason(record)
        if why is not None:
            rows.append((record.hash, record.author, record.seq, record.kind, record.hash, why))
    if rows:
        conn.executemany("INSERT OR REPLACE INTO malformed (record_id, author, seq, kind, hash, reason) "
                         "SELECT id, ?, ?, ?, ?, ? FROM records WHERE hash = ?",
                         [(a, s, k, h, why, h) for h, a, s, k, _h, why in rows])


@cache
def _prefixes() -> tuple[str, ...]:
    from cbm.measures.registry import MEASURES

    return tuple(measure.prefix for measure in MEASURES)


INDEX = Index(name="malformed", version=MALFORMED_INDEX_VERSION, kinds=_prefixes(), tables=("malformed",),
              schema=_SCHEMA, add=_add)


def guarded(index: Index) -> Index:
    """``index`` folding only the well-formed records it is given (its version raised by :data:`GATE_VERSION`)."""
    fold = index.add

    def add(conn: Connection, records: list[Record]) -> None:
        wanted = [r for r in records if reason(r) is None]
        if wanted:
            fold(conn, wanted)

    return index._replace(version=index.version + GATE_VERSION, add=add)


def listed(conn: Connection, limit: int = 1000) -> list[Malformed]:
    """The malformed records held, oldest first (at most ``limit``)."""
    return [Malformed(*row) for row in conn.execute(
        "SELECT author, seq, kind, hash, reason FROM malformed ORDER BY record_id LIMIT ?", (limit,))]


def count(conn: Connection) -> int:
    """How many malformed records the store holds."""
    return int(conn.execute("SELECT COUNT(*) FROM malformed").fetchone()[0])


def by_author(records: Sequence[Malformed]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in records:
        out[m.author] = out.get(m.author, 0) + 1
    return out
