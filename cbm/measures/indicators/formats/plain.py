"""Plain lists: one value per line, type recognised (IPv4/IPv6/CIDR, domain, URL, e-mail, MD5/SHA-1/SHA-256).

Blank lines and lines starting with ``#`` or ``;`` are skipped, as is a trailing `` # comment``. Hosts-file
lines (``0.0.0.0 example.com``) give their host names. Defanged values (``hxxp``, ``[.]``) are refanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import (
    NOT_UTF8,
    Defaults,
    EmptyFeed,
    Item,
    LineError,
    ReadNotes,
    undecodable,
)
from cbm.measures.indicators.formats.feed_rows import LineRows

_SINKS = {"0.0.0.0", "127.0.0.1", "::", "::1", "::0"}


def read(stream: IO[str], d: Defaults, notes: ReadNotes, kind: str = "") -> Iterator[Item | LineError]:
    """Items and bad lines. Raises EmptyFeed when no line holds a value (empty, blank or comments only)."""
    line = 0
    comments = values_seen = 0
    rows = LineRows(d)
    try:
        for line, text in enumerate(stream, 1):
            text = text.strip()
            if not text:
                continue
            if text[0] in "#;" or text.startswith("//"):
                comments += 1
                continue
            values_seen += 1
            if not text.isascii() and undecodable((text,)):
                yield LineError(line, NOT_UTF8)
                continue
            if " #" in text or "\t#" in text:
                text = text.split("#", 1)[0].strip()
            words = text.split()
            if len(words) > 1 and words[0] in _SINKS:
                values = words[1:]
            elif len(words) > 1:
                yield LineError(line, f"more than one value on the line: {text[:80]!r}")
                continue
            else:
                values = words
            for value in values:
                try:
                    yield Item(rows.plain(kind, value), d.tlp)
                except model.BadValue as e:
                    yield LineError(line, str(e))
    except UnicodeDecodeError as e:
        yield LineError(line + 1, f"not UTF-8 text: {e.reason}")
        return
    if not values_seen:
        # a failed download saved as an empty file must not pass a script as "0 new"
        raise EmptyFeed("the file holds only comments: no indicators" if comments
                        else "the file is empty: no indicators")


def export_line(row: list[Any]) -> str | None:
    value = row[R.VALUE]
    return value + "\n" if isinstance(value, str) and row[R.TYPE] != model.PATTERN_TYPE else None
