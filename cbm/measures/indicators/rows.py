"""The row layout of an ``indicators.batch`` record (see docs/adr/0020-indicator-records.md).

A batch body is ``{"fields": [...], "rows": [[...], ...], "source": str?, "objects": [STIX object, ...]?}``.
Each row is a list in ``fields`` order with trailing nulls dropped, so a plain feed line costs a few dozen
bytes and no per-indicator JSON object (cheap to sign, hash, parse and index at a million rows). Readers map
columns by the names in ``fields``, so later versions may append fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FIELDS = ("id", "type", "value", "valid_until", "confidence", "sectors", "name", "description", "valid_from",
          "pattern", "indicator_types", "labels", "kill_chain_phases", "created", "extra", "origin", "asn")
ID, TYPE, VALUE, VALID_UNTIL, CONFIDENCE, SECTORS, NAME, DESCRIPTION, VALID_FROM, PATTERN, INDICATOR_TYPES, \
    LABELS, KILL_CHAIN, CREATED, EXTRA, ORIGIN, ASN = range(len(FIELDS))
#: The layout before ``origin`` and ``asn`` were appended (docs/adr/0193-indicator-origin.md): a batch naming
#: exactly these fields is read positionally too, so records written before stay on the fast path.
FIELDS_BEFORE_ORIGIN = FIELDS[:15]
MAX_ROWS = 5000
MAX_TEXT = 65_536  # one indicator's value, name, description or pattern (a STIX pattern is rarely over a few KiB)
#: Columns that are single-line text (no control characters, U+2028 and bidi overrides included).
SINGLE_LINE = (ID, TYPE, VALUE, VALID_UNTIL, NAME, VALID_FROM, CREATED)


def origin_of(row: Sequence[Any]) -> tuple[str | None, int | None]:
    """A row's origin territory as (ISO 3166-1 alpha-2 code, AS number), each None when absent or not valid.

    The author signed whatever the row holds; a code outside ISO 3166-1 or an AS number outside 1..2^32-1 from
    a peer is read as no origin, never an error (the rest of the indicator stands)."""
    return valid_origin(row[ORIGIN] if len(row) > ORIGIN else None, row[ASN] if len(row) > ASN else None)


def valid_origin(country: Any, asn: Any) -> tuple[str | None, int | None]:
    """:func:`origin_of` for the two cells themselves."""
    from cbm.core.countries import COUNTRIES, is_asn

    return (country if type(country) is str and country in COUNTRIES else None,
            asn if is_asn(asn) else None)


def indexed_origin(row: Sequence[Any]) -> tuple[str | None, int | None] | None:
    """A padded row's valid origin for the index, or None (none given, or not valid: read as none)."""
    return indexed_origin_of(row[ORIGIN], row[ASN])


def indexed_origin_of(country: Any, asn: Any) -> tuple[str | None, int | None] | None:
    """:func:`indexed_origin` for the two cells themselves."""
    if country is None and asn is None:  # the common case: a feed without origins
        return None
    valid = valid_origin(country, asn)
    return valid if valid != (None, None) else None


def trim(row: list[Any]) -> list[Any]:
    """Drop trailing nulls (in place) and return the row."""
    n = len(row)
    while n and row[n - 1] is None:
        n -= 1
    del row[n:]
    return row


def same_content(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Whether two rows describe the same indicator version, ignoring id and first-created time.

    Re-importing an unchanged indicator is recognised by it and skipped instead of making a new version.
    """
    width = max(len(a), len(b))
    for i in range(1, width):
        if i == CREATED:
            continue
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            return False
    return True


def without_echoes(old: Sequence[Any], new: list[Any], old_modified: str) -> list[Any]:
    """``new`` without the values a STIX export derived from ``old`` when ``old`` left them empty.

    An export writes ``valid_from`` and ``modified`` even for an indicator that has neither of its own (both are
    then the version's time, ``old_modified``); importing that export back must not turn them into data.
    """
    extra = new[EXTRA] if len(new) > EXTRA else None
    old_extra = old[EXTRA] if len(old) > EXTRA and isinstance(old[EXTRA], dict) else {}
    echo_valid_from = len(old) > VALID_FROM and old[VALID_FROM] is None and len(new) > VALID_FROM \
        and new[VALID_FROM] == old_modified
    echo_modified = isinstance(extra, dict) and "modified" not in old_extra \
        and extra.get("modified") == old_modified[:-1] + ".000Z"
    if not (echo_valid_from or echo_modified):
        return new
    new = list(new)
    if echo_valid_from:
        new[VALID_FROM] = None
    if echo_modified and isinstance(extra, dict):
        rest = {k: v for k, v in extra.items() if k != "modified"}
        new[EXTRA] = rest or None
    return new


def merge(old: Sequence[Any], new: list[Any]) -> list[Any]:
    """A new version: the new row's fields, and the old version's where the new input says nothing.

    A plain blocklist re-importing a value first seen in a rich MISP event keeps the event's name and
    description instead of erasing them.
    """
    merged = list(new) + [None] * (len(FIELDS) - len(new))
    for i in range(1, min(len(old), len(FIELDS))):
        if merged[i] is None and old[i] is not None:
            merged[i] = old[i]
    return merged


def column_map(fields: Any) -> list[int] | None:
    """For a batch's ``fields``: the position of each of our FIELDS in its rows (-1 if absent), or None."""
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return None
    if tuple(fields[: len(FIELDS)]) == FIELDS or tuple(fields) == FIELDS_BEFORE_ORIGIN:
        return list(range(len(FIELDS)))
    where = {name: i for i, name in enumerate(fields)}
    if "id" not in where or "type" not in where:
        return None
    return [where.get(name, -1) for name in FIELDS]


def rows_of(body: dict[str, Any]) -> list[list[Any]]:
    """The rows of a batch body, remapped to our FIELDS order and padded; malformed rows dropped."""
    columns = column_map(body.get("fields"))
    rows = body.get("rows")
    if columns is None or not isinstance(rows, list):
        return []
    width = len(FIELDS)
    if columns == list(range(width)):
        pad = [None] * width
        return [row + pad[len(row):] if len(row) < width else row[:width] for row in rows
                if type(row) is list and len(row) > TYPE and type(row[ID]) is str and type(row[TYPE]) is str]
    out = []
    for row in rows:
        if not isinstance(row, list) or not row:
            continue
        padded = [row[c] if 0 <= c < len(row) else None for c in columns]
        if isinstance(padded[ID], str) and isinstance(padded[TYPE], str):
            out.append(padded)
    return out
