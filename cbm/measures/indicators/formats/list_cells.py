"""A list (sectors, labels, indicator types) inside one CSV cell, both ways
(docs/adr/0277-csv-list-cells-round-trip.md).

Feeds separate a cell's items by ``;``, ``,`` or ``|``; cbm's export writes ``;``. An item holding one of those,
with space around it, empty, or a list whose cell would start with ``[``, would not come back whole that way: such
a list is written as a JSON array of strings (``["a,b","c"]``), which a spreadsheet shows as text and which
never starts like a formula. A cell that is a JSON array of strings is read as that list; any other cell is split
as feeds always were.
"""

from __future__ import annotations

import re
from typing import Any

# what a ";"-joined cell must not hold for split_items to give every item back: a separator inside an item, space
# at an item's edge, an empty item, or a "[" first (the JSON form's mark); nor a line break, which Python's csv
# writer leaves unquoted when it is a lone "\r" (the JSON form escapes it)
_NOT_PLAIN = re.compile(r"[,|\r\n]|\s;|;\s|;;|\A[;\s\[]|[;\s]\Z")
_SEPARATORS = re.compile(r"[;,|]")


def list_cell(items: list[Any]) -> str:
    """The cell for ``items`` (strings; anything else as its ``str``): ``;``-joined when :func:`split_items`
    gives exactly those items back from that, else a compact JSON array of strings."""
    try:
        joined = ";".join(items)  # the usual list of strings, without a str() per item
    except TypeError:
        items = [str(item) for item in items]
        joined = ";".join(items)
    plain = _PLAIN.get(joined)
    if plain is None:
        plain = _plain(joined)
    if plain and joined.count(";") == len(items) - 1:
        return joined
    import json  # only for the rare list that needs it

    return json.dumps(list(items), ensure_ascii=False, separators=(",", ":"))


# an export repeats a few dozen lists a million times: whether a joined cell is free of _NOT_PLAIN, remembered
_PLAIN: dict[str, bool] = {}
_PLAIN_MAX = 4096


def _plain(joined: str) -> bool:
    if len(_PLAIN) >= _PLAIN_MAX:
        _PLAIN.clear()
    plain = _PLAIN[joined] = bool(joined) and not _NOT_PLAIN.search(joined)
    return plain


def split_items(cell: str) -> list[str]:
    """The items of a list cell: a JSON array of strings as it stands (what :func:`list_cell` writes when it must),
    else the cell split on ``;`` ``,`` and ``|``, each item stripped and empty ones left out."""
    if cell[:1] == "[" and cell[-1:] == "]":
        listed = _json_strings(cell)
        if listed is not None:
            return listed
    return [part.strip() for part in _SEPARATORS.split(cell) if part.strip()]


def _json_strings(cell: str) -> list[str] | None:
    """``cell`` as a JSON array of strings, or None when it is something else (a feed's ``[tag]``)."""
    import json

    try:
        value = json.loads(cell)
    except ValueError:  # JSONDecodeError, and a lone surrogate's UnicodeError
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None
