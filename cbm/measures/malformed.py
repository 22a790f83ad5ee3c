"""Malformed records: well signed, kept as evidence, never folded (docs/adr/0116-malformed-peer-records.md).

One rule for every measure: when a record lands (bundle import, file import, ``cbm store rebuild``) its body is
checked against its kind's typed record (the measure's ``records.py``, ``from_body``; an ``indicators.batch``
also row by row). A record that breaks it stays in the log (its author's chain stays whole, its signature is
still evidence) but no measure's index folds it, so it reaches no listing, no ``show`` and no export; the
``malformed`` index lists it, with its author and the first rule it broke, for ``cbm status``.

An ``indicators.batch`` row whose id is no STIX indicator id or whose type cbm does not know makes its whole
record malformed too; a row whose value is not exactly the normal form of its type (``normal_form.is_normal``, the
form every writer of cbm signs) is *left out*: the record folds without it, and the ``malformed`` index lists
the record with how many rows it left out and the first one's reason (docs/adr/0269).

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
from cbm.measures.indicators.columns import positions_by_kind
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
    left_out: int = 0  # 0: the whole record; n: a batch folded without n of its rows (their reason is ``reason``)


@dataclass(frozen=True)
class LeftOut:
    """The rows of a well-formed batch that landing leaves out: their positions in ``rows`` and why the first
    one was."""

    positions: tuple[int, ...]
    reason: str


@cache
def _classes() -> dict[str, type[Body]]:
    from cbm.measures.registry import MEASURES

    out: dict[str, type[Body]] = {}
    for measure in MEASURES:
        out.update(importlib.import_module(f"{measure.package}.records").RECORDS)
    return out


_Verdict = tuple[str | None, LeftOut | None]
_MEMO: dict[str, _Verdict] = {}  # by record hash: a record is judged by its measure's index and by ours


def reason(record: Record) -> str | None:
    """Why ``record``'s body breaks its kind's rules, or None if it is well formed (or not a measure's kind)."""
    return _verdict(record)[0]


def left_out(record: Record) -> LeftOut | None:
    """The rows a well-formed ``indicators.batch`` record folds without (values not in their type's normal
    form), or None: every row folds (or the record is no batch, or malformed as a whole)."""
    return _verdict(record)[1]


def _verdict(record: Record) -> _Verdict:
    found = _MEMO.get(record.hash)
    if found is None:
        if len(_MEMO) > 4096:
            _MEMO.clear()
        why = _reason(record)
        rows = _rows_left_out(record.body) if why is None and record.kind == "indicators.batch" else None
        _MEMO[record.hash] = found = (why, rows)
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
    if columns == _IDENTITY:
        # Passing these passes means the row-by-row rule finds nothing; anything they do not pass is walked row by
        # row for its exact reason. The id and type columns are judged whole by the id rule and the known types
        # alone: each implies its column's type, length and single-line rules, and a row too short to have an id
        # and a type shows there as a None, which neither passes.
        cells = batch_columns(body)  # transposed once, shared with the index that folds the batch next
        if cells is not None and _ids_ok(cells[R.ID]) and _types_known(cells[R.TYPE]) \
                and all(_column_ok(i, cells[i]) for i in _OTHER_COLUMNS) \
                and _each_has_a_value(cells, len(rows)) and _patterns_given(cells):
            return None
    return _first_bad_row(rows, columns)


#: A row's id is a STIX indicator id (``model.is_stix_id(text, "indicator")``, what every cbm wrote since the first
#: version): 47 characters, ``indicator--`` then a UUID in lowercase hex.
_ID_LENGTH = 47
_ID_HYPHENS = (9, 10, 19, 24, 29, 34)  # where an id has a hyphen
_ID_NOT_HEX = b"initor------"  # what is left of an id's bytes once its lowercase hex digits are taken out
_HEX_BYTES = b"0123456789abcdef"


@cache
def _known_types() -> frozenset[str]:
    """``model.TYPES`` (loaded when a batch lands: ``status`` of a store with no malformed record never does)."""
    from cbm.measures.indicators.model import TYPES

    return frozenset(TYPES)


def _types_known(kinds: tuple[Any, ...]) -> bool:
    """Whether every entry of the type column is a type cbm knows (so text, one line, short): one C-level pass."""
    try:
        return _known_types().issuperset(kinds)
    except TypeError:  # a list or an object: no type
        return False


def _ids_ok(ids: tuple[Any, ...]) -> bool:
    """Whether every entry of the id column is a STIX indicator id, in C-level passes over the joined column (a
    regex costs about three times as much): each id is 47 ASCII characters; once the lowercase hex digits are
    taken out, ``initor`` and six hyphens are left of each; the hyphens and the letters of ``indicator`` are in
    their places. Any entry that is not text (None for a short row, a number, a list) fails it."""
    n = len(ids)
    if not n:
        return True
    try:
        if set(map(len, ids)) != {_ID_LENGTH}:
            return False
        joined = "".join(ids)
    except TypeError:
        return False
    if not joined.isascii() or joined.encode("ascii").translate(None, _HEX_BYTES) != _ID_NOT_HEX * n:
        return False
    return all(joined[at::_ID_LENGTH] == "-" * n for at in _ID_HYPHENS) and \
        all(joined[at::_ID_LENGTH] == letter * n for at, letter in enumerate("indicator"))


def _rows_left_out(body: dict[str, Any]) -> LeftOut | None:
    """The rows of a well-formed batch whose value is not the normal form of their simple type (a pattern row
    keeps its value: the first literal of its pattern, searched but never written to a sensor as it is), or None.

    Judged a type at a time over the columns, in C-level passes for the common shapes (``normal_form.all_normal``);
    only a type whose column fails, or that no common shape covers, is walked value by value."""
    from cbm.measures.indicators.normal_form import all_normal, is_normal

    cells = batch_columns(body)
    if cells is not None:
        kinds, values = cells[R.TYPE], cells[R.VALUE]
        patterns = cells[R.PATTERN] if len(cells) > R.PATTERN else (None,) * len(kinds)
    else:  # another layout: row by row (every row has a text id and type, the batch being well formed)
        rows = R.rows_of(body)
        kinds, values = tuple(row[R.TYPE] for row in rows), tuple(row[R.VALUE] for row in rows)
        patterns = tuple(row[R.PATTERN] for row in rows)
    bad: list[int] = []
    # each type's positions, in two C-level calls a row (a compress per type costs ten times more), kept for the
    # landing checks that screen the same column next
    for kind, where in positions_by_kind(kinds).items():
        if kind == _PATTERN:
            continue
        same = values if len(where) == len(kinds) else list(map(values.__getitem__, where))
        if not all_normal(kind, same):
            bad.extend(i for i in where if not is_normal(kind, values[i]))
    unlike = _patterns_unlike_values(kinds, values, patterns, set(bad))
    if not bad and not unlike:
        return None
    first = min(bad + unlike)
    why = f"pattern {_shown(patterns[first])} is not the pattern of its value" if first in unlike else \
        f"value {_shown(values[first])} is not a {kinds[first]} in normal form"
    return LeftOut(tuple(sorted(bad + unlike)), f"row {first + 1}: {why}")


def _patterns_unlike_values(kinds: Sequence[Any], values: Sequence[Any], patterns: Sequence[Any],
                            bad: set[int]) -> list[int]:
    """The rows of a simple type (not yet in ``bad``) that carry a pattern other than one equality on their own
    value: the STIX export writes a row's pattern as it is, so ``1.2.3.4`` listed, searched and sent to a
    firewall must not go to a STIX reader as ``[domain-name:value = 'other.example']`` or as no valid pattern.
    cbm keeps a STIX source's pattern text on a simple row only when it is such an equality
    (``formats.build_row``)."""
    if patterns.count(None) == len(patterns):  # the usual batch: no pattern column (one C-level pass)
        return []
    from cbm.measures.indicators.patterns import simple

    return [i for i, (kind, value, pattern) in enumerate(zip(kinds, values, patterns, strict=True))
            if pattern is not None and kind != _PATTERN and i not in bad
            and (type(pattern) is not str or simple(pattern) != (kind, value))]


def _shown(text: Any) -> str:
    """A peer's cell for a reason: quoted, at most 80 of its characters."""
    return repr(text if type(text) is not str or len(text) <= 80 else text[:80] + "...")


def _each_has_a_value(cells: list[tuple[Any, ...]], count: int) -> bool:
    """Whether every row holds a value or a pattern (an indicator is one or the other)."""
    nothing = (None,) * count
    values = cells[R.VALUE] if len(cells) > R.VALUE else nothing
    patterns = cells[R.PATTERN] if len(cells) > R.PATTERN else nothing
    if all(values):  # a feed's usual batch: every row has a value (one C-level pass)
        return True
    return all(value or pattern for value, pattern in zip(values, patterns, strict=True))


_PATTERN = "pattern"  # model.PATTERN_TYPE (the model is loaded only when a batch lands)


def _patterns_given(cells: list[tuple[Any, ...]]) -> bool:
    """Whether every row of the ``pattern`` type holds its pattern (every cbm writes one: without it, such a row has
    no STIX form at all)."""
    kinds = cells[R.TYPE]
    if _PATTERN not in kinds:  # a feed's usual batch (one C-level pass)
        return True
    patterns = cells[R.PATTERN] if len(cells) > R.PATTERN else (None,) * len(kinds)
    return all(pattern for kind, pattern in zip(kinds, patterns, strict=True) if kind == _PATTERN)


_IDENTITY = list(range(len(R.FIELDS)))
_OTHER_COLUMNS = tuple(i for i in range(len(_ROW_TYPES)) if i not in (R.ID, R.TYPE))  # judged by _column_ok
_ROW_TYPE_SETS = tuple(frozenset(types) for types in _ROW_TYPES)


def _column_ok(i: int, column: tuple[Any, ...]) -> bool:
    """Whether one column of a batch keeps its rules; every pass is a C-level map or filter over the column
    (a million-row feed goes through here at landing).

    The nulls are counted among the falsy values only: ``column.count(None)`` compares each text with None
    through the full comparison protocol, four times the cost of the truth test ``filter`` makes."""
    n = len(column)
    if not n:
        return True
    texts = list(filter(None, column))  # the values neither null nor empty
    if not texts:
        nones = column.count(None)  # a column the feed leaves empty (most are): compared by identity, in C
    elif len(texts) < n:
        nones = list(itertools.filterfalse(None, column)).count(None)
    else:
        nones = 0
    if nones == n:
        return _NONE in _ROW_TYPE_SETS[i]
    if i in _TEXT_COLUMNS and nones + len(texts) == n:  # nothing falsy but nulls: joining the text checks each type
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
        if texts and max(map(len, texts)) > _MAX_TEXT:
            return False
        if i in _ROW_SINGLE_LINE:
            if not _single_line("".join(texts)):
                return False
    elif i in _ROW_LISTS_OF_TEXT and list in types:
        return set(map(type, itertools.chain.from_iterable(texts))) <= _TEXT_ONLY
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
    from cbm.measures.indicators.model import is_stix_id  # the rule _ids_ok judges a column by

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
        if not is_stix_id(str(row[R.ID]), "indicator"):  # text, checked above
            return f"row {n}: id {_shown(row[R.ID])} is no STIX indicator id"
        if row[R.TYPE] not in _known_types():
            return f"row {n}: type {_shown(row[R.TYPE])} is no indicator type cbm knows"
        if not (len(row) > R.VALUE and row[R.VALUE]) and not (len(row) > R.PATTERN and row[R.PATTERN]):
            return f"row {n}: an indicator needs a value or a pattern"
        if row[R.TYPE] == _PATTERN and not (len(row) > R.PATTERN and row[R.PATTERN]):
            return f"row {n}: a pattern indicator needs its pattern"
    return None


def _describe(types: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "a list", dict: "an object"}
    return " or ".join(names.get(t, "null") for t in types)


# -- the index -------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS malformed (
    record_id INTEGER PRIMARY KEY,
    author TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, hash TEXT NOT NULL, reason TEXT NOT NULL,
    left_out INTEGER NOT NULL DEFAULT 0  -- 0: the whole record; n: a batch folded without n rows
);
CREATE INDEX IF NOT EXISTS malformed_author ON malformed (author);
"""


def _add(conn: Connection, records: list[Record]) -> None:
    rows = []
    for record in records:
        why, rows_left_out = _verdict(record)
        if why is not None:
            rows.append((record.author, record.seq, record.kind, record.hash, why, 0, record.hash))
        elif rows_left_out is not None:
            rows.append((record.author, record.seq, record.kind, record.hash, rows_left_out.reason,
                         len(rows_left_out.positions), record.hash))
    if rows:
        conn.executemany("INSERT OR REPLACE INTO malformed (record_id, author, seq, kind, hash, reason, left_out) "
                         "SELECT id, ?, ?, ?, ?, ?, ? FROM records WHERE hash = ?", rows)


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


def listed(conn: Connection, limit: int = 1000, *, rows_left_out: bool = False) -> list[Malformed]:
    """The records held that are malformed as a whole, oldest first (at most ``limit``); with ``rows_left_out``,
    the well-formed batches folded without some rows instead (docs/adr/0291)."""
    where = "left_out > 0" if rows_left_out else "left_out = 0"
    return [Malformed(*row) for row in conn.execute(
        f"SELECT author, seq, kind, hash, reason, left_out FROM malformed WHERE {where} ORDER BY record_id LIMIT ?",
        (limit,))]


@dataclass(frozen=True)
class Tally:
    """One author's malformed records (``left_out`` False) or batches folded without some rows (True), over the
    whole store: how many, how many rows left out in all, and the newest one."""

    author: str
    left_out: bool
    records: int
    rows: int
    newest: Malformed


def tallies(conn: Connection) -> list[Tally]:
    """Per author and kind of fault, the count and the newest record, over every record held (``listed`` stops
    at a limit: a count over it would cap what a peer signed and name an old record as the latest)."""
    found = conn.execute(
        "SELECT m.author, m.seq, m.kind, m.hash, m.reason, m.left_out, t.records, t.rows FROM malformed m JOIN "
        "(SELECT author, left_out > 0 AS partial, COUNT(*) AS records, SUM(left_out) AS rows, "
        "MAX(record_id) AS newest FROM malformed GROUP BY author, partial) t ON m.record_id = t.newest "
        "ORDER BY m.author")
    return [Tally(author, left > 0, records, rows, Malformed(author, seq, kind, digest, why, left))
            for author, seq, kind, digest, why, left, records, rows in found]
