"""CSV feeds: cbm's own header and the usual feed layouts (header names are matched through aliases).

cbm's header (every column optional except ``value``)::

    type,value,tlp,confidence,valid_from,valid_until,sectors,labels,indicator_types,name,description,origin,asn

``origin`` is the territory the indicator appears to originate from (ISO 3166-1 alpha-2; feeds call it
``country``, ``country_code``, ``cc``...) and ``asn`` its AS number (``64500`` or ``AS64500``; ``as_number``,
``as``...); docs/adr/0193-indicator-origin.md.
Lists inside a cell (sectors, labels) are separated by ``;`` ``,`` or ``|``, or are a JSON array of strings
(what the export writes for a list those would split wrongly: ``formats.list_cells``). Leading ``#`` comment lines are
skipped; a commented header such as abuse.ch's ``# id,dateadded,url,...`` is recognised.
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import sys
from collections.abc import Iterator
from functools import lru_cache
from itertools import chain, islice, repeat
from operator import itemgetter
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
    RowBlock,
    build_row,
    parse_confidence,
    parse_time,
    split_list,
    tlp_of,
    undecodable,
)
from cbm.measures.indicators.formats.feed_columns import BlockRows
from cbm.measures.indicators.formats.feed_rows import LineRows
from cbm.measures.indicators.formats.list_cells import list_cell

HEADER = ("type", "value", "tlp", "confidence", "valid_from", "valid_until", "sectors", "labels",
          "indicator_types", "name", "description", "origin", "asn")
ALIASES: dict[str, str] = {
    "value": "value", "indicator": "value", "ioc": "value", "observable": "value", "indicator_value": "value",
    "url": "value", "domain": "value", "ip": "value", "hash": "value", "data": "value",
    "type": "type", "indicator_type": "type", "ioc_type": "type", "kind": "type", "observable_type": "type",
    "tlp": "tlp", "tlp_level": "tlp", "confidence": "confidence", "score": "confidence",
    "valid_from": "valid_from", "first_seen": "valid_from", "firstseen": "valid_from",
    "valid_until": "valid_until", "expires": "valid_until", "expiry": "valid_until", "expiration": "valid_until",
    "sectors": "sectors", "sector": "sectors", "labels": "labels", "tags": "labels", "label": "labels",
    "indicator_types": "indicator_types", "name": "name", "title": "name", "app": "name", "malware": "name",
    "family": "name", "threat": "name", "malware_printable": "name",
    "description": "description", "comment": "description", "comments": "description", "notes": "description",
    "revoked": "revoked", "id": "id", "author": "author",
    "origin": "origin", "country": "origin", "country_code": "origin", "countrycode": "origin", "cc": "origin",
    "origin_country": "origin", "src_country": "origin", "geo": "origin", "iso_country": "origin",
    "asn": "asn", "as": "asn", "as_number": "asn", "asnumber": "asn", "origin_asn": "asn", "src_asn": "asn",
}
_QUIET = {"id", "author", "modified", "created", "sightings"}  # columns of our own export: not reported


def _header(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        key = ALIASES.get(cell.strip().lower().lstrip("#").strip().replace(" ", "_"))
        if key and key not in found:
            found[key] = i
    return found


BLOCK_LINES = 1024  # the lines a block of a feed's data takes at most (fewer than feed_rows.MAX_REMEMBERED)


def read(stream: IO[str], d: Defaults, notes: ReadNotes) -> Iterator[Item | LineError]:
    """Yield an Item per good data line, its row trimmed of trailing nulls, and a LineError per bad one (line
    numbers are the file's): :func:`read_blocks`, a block's rows each an Item of its own."""
    new_item = tuple.__new__
    for item in read_blocks(stream, d, notes):
        if isinstance(item, RowBlock):
            yield from map(new_item, repeat(Item), zip(item.rows, item.tlps, strict=True))
        else:
            yield item


def read_blocks(stream: IO[str], d: Defaults, notes: ReadNotes,
                block_lines: int = BLOCK_LINES) -> Iterator[RowBlock | Item | LineError]:
    """:func:`read`'s Items and LineErrors in order, runs of plain data lines' Items as one :class:`RowBlock`.

    Records are read as ``csv.reader`` reads them. Once the header is read, the lines come in blocks of
    ``block_lines``: a block without a double quote holds one record a line, and its plain lines (of the header's
    width, no apostrophe, carriage return inside or oversized cell) have their rows made column by column
    (:class:`~cbm.measures.indicators.formats.feed_columns.BlockRows`, docs/adr/0286), the others one by one. A
    block with a double quote is read a line at a time, as the header is: a line without a double quote, a
    carriage return inside or an oversized cell is one record of plain cells, split here, and a data line of the
    header's width in ASCII has its row made at once (:class:`LineRows`); any other line starts a record that
    csv.reader itself reads, taking further lines from the stream as a quoted cell spans them, failing where it
    fails.
    """
    rows = LineRows(d)
    block_rows = BlockRows(rows)
    limit = csv.field_size_limit()
    lines = iter(stream)
    source: Iterator[str] = lines  # where the line-at-a-time reading takes its lines
    until = 0  # the last line of the block read a line at a time
    number = 0  # lines read: the last line of the current record
    columns: dict[str, int] | None = None
    where: list[int] = []  # the column of each of _KEYS (-1: absent)
    width = 0  # the header's cells
    pick: Any = None  # a data line of the header's width, with a "" appended, to its cells in _KEYS order
    comments = False
    try:
        while True:
            if pick is not None:  # the header is read: a block of lines
                block: list[str] = []
                try:
                    block.extend(islice(lines, block_lines))
                except UnicodeDecodeError as e:  # the lines before the undecodable one, a line at a time
                    source, until = _then_raise(block, e), sys.maxsize
                else:
                    if not block:
                        break
                    joined = "".join(block)
                    if '"' not in joined:  # one record a line
                        first = number
                        longest = max(map(len, block))
                        for cells, at, count in _runs(block, joined, width, limit, longest):
                            if cells is None:  # a line of its own
                                number = first + at + 1
                                yield from _one_line(block[at], number, limit, rows, where, d, notes)
                                continue
                            block_made, tlps, odd = block_rows.make(cells, count, where, width, longest)
                            if not odd:
                                yield RowBlock(block_made, tlps)
                                continue
                            done = taken = 0  # lines of the run emitted, rows of ``made`` emitted
                            for line in odd:
                                if line > done:
                                    yield RowBlock(block_made[taken:taken + line - done],
                                                   tlps[taken:taken + line - done])
                                    taken += line - done
                                number = first + at + line + 1
                                yield from _one_line(block[at + line], number, limit, rows, where, d, notes)
                                done = line + 1
                            if taken < len(block_made):
                                yield RowBlock(block_made[taken:], tlps[taken:])
                        number = first + len(block)
                        continue
                    source = chain(block, lines)  # a quoted cell may span lines past the block
                    until = number + len(block)
            for text in source:
                number += 1
                if '"' not in text and "'" not in text and len(text) <= limit:
                    body = text[:-1] if text[-1:] == "\n" else text
                    if body[-1:] == "\r":
                        body = body[:-1]
                    cells = body.split(",") if body else []
                    if pick is not None and len(cells) == width and text.isascii() and "\r" not in body \
                            and "\n" not in body and body[:1] != "#" and not body[:1].isspace():
                        cells.append("")  # the data line of a feed: its row at once, else by the full path below
                        made = rows.csv(pick(cells))
                        if made is not None:
                            yield made
                        else:
                            item = _row(cells, where, number, d, notes)
                            if item is not None:
                                yield item
                        if number >= until:
                            break
                        continue
                    if "\r" in body or "\n" in body:
                        cells = _record(text, source)  # csv.reader's own error
                else:
                    before = number - 1
                    reader = csv.reader(chain((text,), source))
                    try:
                        cells = next(reader)
                    finally:
                        number = before + reader.line_num
                line = number
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    if pick is not None and number >= until:
                        break
                    continue
                if columns is None:
                    if cells[0].lstrip().startswith("#"):
                        comments = True
                        candidate = _header([cells[0].lstrip().lstrip("#")] + cells[1:])
                        if "value" in candidate:
                            if undecodable(cells):
                                yield LineError(line, NOT_UTF8 + " in the header")
                                return
                            columns = candidate
                            notes.ignored_columns = _unused(cells, columns)
                            where, width, pick = _layout(columns, cells)
                            if pick is not None:
                                break  # the data: in blocks
                        continue
                    if undecodable(cells):  # a column name that cannot be read: its column cannot be trusted
                        yield LineError(line, NOT_UTF8 + " in the header")
                        return
                    columns = _header(cells)
                    if "value" not in columns:
                        yield LineError(line, "no value column in the CSV header (expected e.g. "
                                              "'type,value,tlp,...'; 'indicator' and 'ioc' also work)")
                        return
                    notes.ignored_columns = _unused(cells, columns)
                    where, width, pick = _layout(columns, cells)
                    if pick is not None:
                        break  # the data: in blocks
                    continue
                if cells[0].lstrip().startswith("#"):
                    if pick is not None and number >= until:
                        break
                    continue
                if not all(map(str.isascii, cells)) and undecodable(cells):
                    yield LineError(line, NOT_UTF8)
                else:  # as _data, inline: a quoted feed's every line comes here
                    made = rows.csv(_cells(cells, where))
                    if made is not None:
                        yield made
                    else:
                        item = _row(cells, where, line, d, notes)  # the full path decides (and says what is wrong)
                        if item is not None:
                            yield item
                if pick is not None and number >= until:
                    break
            else:
                break  # the stream ended
    except csv.Error as e:
        yield LineError(number, f"not valid CSV: {e}")
        return
    except UnicodeDecodeError as e:
        yield LineError(number + 1, f"not UTF-8 text: {e.reason}")
        return
    if columns is None:
        raise EmptyFeed("the file holds only comments: no CSV header and no indicators" if comments
                        else "the file is empty: no CSV header and no indicators")


def _then_raise(block: list[str], error: Exception) -> Iterator[str]:
    """The lines of ``block``, then ``error`` raised (the stream failed after them)."""
    yield from block
    raise error


def _runs(block: list[str], joined: str, width: int, limit: int,
          longest: int) -> Iterator[tuple[list[str] | None, int, int]]:
    """A block of lines without a double quote (``joined``: its text) as runs of plain lines, each ``(cells, at,
    count)``: the ``count`` lines from ``block[at]`` are each one record of ``width`` plain cells (ASCII, no
    apostrophe or carriage return inside, not a comment, no cell longer than ``limit``) and ``cells`` are theirs,
    ``width`` a line; and the others, each ``(None, at, 1)``, a line for the line-at-a-time path (``longest``:
    the length of the longest line)."""
    n = len(block)
    if "'" not in joined and joined.isascii() and longest <= limit \
            and list(map(str.count, block, repeat(","))).count(width - 1) == n \
            and not any(first == "#" or first.isspace() for first in set(map(itemgetter(0), block))):
        text = joined.replace("\r\n", "\n") if "\r" in joined else joined
        if "\r" not in text:  # else a lone carriage return: a line ending of its own, or inside a line
            yield (text if text[-1] == "\n" else text + "\n").replace("\n", ",").split(","), 0, n
            return
    bodies: list[str] = []
    for at, text in enumerate(block):
        body = _plain_body(text, width, limit)
        if body is not None:
            bodies.append(body)
            continue
        if bodies:
            yield ",".join(bodies).split(","), at - len(bodies), len(bodies)
            bodies = []
        yield None, at, 1
    if bodies:
        yield ",".join(bodies).split(","), n - len(bodies), len(bodies)


def _plain_body(text: str, width: int, limit: int) -> str | None:
    """The text of a plain line of ``width`` cells without its line ending (as :func:`_runs` takes them), or
    None."""
    if "'" in text or len(text) > limit or not text.isascii():
        return None
    body = text[:-1] if text[-1:] == "\n" else text
    if body[-1:] == "\r":
        body = body[:-1]
    if "\r" in body or body.count(",") != width - 1 or body[:1] == "#" or body[:1].isspace():
        return None
    return body


def _one_line(text: str, line: int, limit: int, rows: LineRows, where: list[int], d: Defaults,
          notes: ReadNotes) -> Iterator[Item | LineError]:
    """The Item or LineError (or nothing) of one data line without a double quote: one record, as csv.reader
    reads it; raises csv.Error where it fails."""
    if "'" not in text and len(text) <= limit:
        body = text[:-1] if text[-1:] == "\n" else text
        if body[-1:] == "\r":
            body = body[:-1]
        cells = body.split(",") if body else []
        if "\r" in body or "\n" in body:
            cells = _record(text, iter(()))  # csv.reader's own error
    else:
        cells = next(csv.reader((text,)))
    if cells and (len(cells) > 1 or cells[0].strip()):
        yield from _data(cells, line, rows, where, d, notes)


def _data(cells: list[str], line: int, rows: LineRows, where: list[int], d: Defaults,
          notes: ReadNotes) -> Iterator[Item | LineError]:
    """The Item or LineError (or nothing) of a data line's record ``cells``, not blank."""
    if cells[0].lstrip().startswith("#"):
        return
    if not all(map(str.isascii, cells)) and undecodable(cells):
        yield LineError(line, NOT_UTF8)
        return
    made = rows.csv(_cells(cells, where))
    if made is not None:
        yield made
        return
    item = _row(cells, where, line, d, notes)  # the full path decides (and says what is wrong)
    if item is not None:
        yield item


def _layout(columns: dict[str, int], header: list[str]) -> tuple[list[int], int, Any]:
    """The column of each of _KEYS (-1: absent), the header's width, and what picks a line's cells in _KEYS order
    (a line of that width with a "" appended: the absent columns are that ""), or None for a one-column file."""
    where = [columns.get(k, -1) for k in _KEYS]
    width = len(header)
    return where, width, operator.itemgetter(*[i if i >= 0 else width for i in where]) if width > 1 else None


def _record(text: str, lines: Iterator[str]) -> list[str]:
    """The record of a line with a carriage return or line feed inside, as csv.reader reads it (it fails)."""
    return next(csv.reader(itertools.chain((text,), lines)))


def _unused(cells: list[str], columns: dict[str, int]) -> list[str]:
    used = set(columns.values())
    return [c.strip() for i, c in enumerate(cells) if i not in used and c.strip()
            and c.strip().lower().lstrip("# ") not in _QUIET]


_KEYS = ("revoked", "value", "type", "tlp", "sectors", "labels", "indicator_types", "valid_from", "valid_until",
         "name", "description", "confidence", "origin", "asn")


def _cells(cells: list[str], where: list[int]) -> list[str]:
    n = len(cells)
    return [as_read(cells[i].strip()) if 0 <= i < n else "" for i in where]


# What a spreadsheet runs as a formula when a cell starts with it (OWASP's list: = + - @, a tab, a carriage
# return). The export writes one apostrophe before such a cell, which a spreadsheet shows as text; the import
# takes exactly one away (docs/adr/0268-csv-cells-a-spreadsheet-would-run.md).
_FORMULA_START = frozenset("=+-@\t\r")
_RISKY = _FORMULA_START | {"'"}  # a first character after which a cell may need its apostrophe


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a CSV export writes it: with one ``'`` in front when a spreadsheet would run it as a formula,
    or when it already starts with apostrophes before such a character (so that :func:`as_read` gives back
    exactly ``cell``)."""
    first = cell[:1]
    if first in _FORMULA_START or (first == "'" and cell.lstrip("'")[:1] in _FORMULA_START):
        return "'" + cell
    return cell


def as_read(cell: str) -> str:
    """A CSV cell as the import reads it: one leading ``'`` taken away when apostrophes stand before a formula's
    first character (the inverse of :func:`spreadsheet_safe`)."""
    if cell[:1] == "'" and cell.lstrip("'")[:1] in _FORMULA_START:
        return cell[1:]
    return cell


def _row(cells: list[str], where: list[int], line: int, d: Defaults,
         notes: ReadNotes) -> Item | LineError | None:
    revoked, value, kind_text, tlp_text, sectors, labels, types, start, until, name, description, confidence, \
        origin, asn = _cells(cells, where)
    try:
        if revoked and revoked.lower() in ("true", "yes", "1", "revoked"):
            notes.skip("revoked rows")
            return None
        kind = model.canonical_type(kind_text) if kind_text else ""
        tlp = d.tlp if d.tlp_forced or not tlp_text else tlp_of(tlp_text)
        row = build_row(
            d, kind, value, pattern=value if kind == model.PATTERN_TYPE else None, name=name,
            description=description, confidence=parse_confidence(confidence) if confidence else None,
            valid_from=parse_time(start, "valid_from") if start else None,
            valid_until=parse_time(until, "valid_until") if until else None,
            sectors=_list(sectors) if sectors else None, labels=_list(labels) if labels else None,
            indicator_types=_list(types) if types else None, origin=origin, asn=asn)
        return Item(R.trim(row), tlp)  # as the fast path's rows (LineRows.csv): no trailing nulls
    except model.BadValue as e:
        return LineError(line, str(e))


@lru_cache(maxsize=1024)
def _split(text: str) -> tuple[str, ...]:
    return tuple(split_list(text))


def _list(text: str) -> list[str]:
    return list(_split(text))


# -- export ----------------------------------------------------------------------------------------------

EXPORT_HEADER = ("id", "author", *HEADER[:-2], "revoked", *HEADER[-2:])


def header_line() -> str:
    return _line(EXPORT_HEADER)


def _line(values: tuple[Any, ...] | list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def export_line(author: str, tlp: str, row: list[Any], revoked: bool) -> str:
    return _lines_quoting_cr(author, tlp, [(row, revoked)])


def export_lines(author: str, tlp: str, rows: list[tuple[list[Any], Any]]) -> bytes:
    """The export lines of ``(row, revoked)`` pairs of one batch record (``author``'s, labelled ``tlp``), as
    UTF-8: the same text as :func:`export_line` for each, made by one CSV writer."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        _export_values(author, tlp, row, revoked) for row, revoked in rows)
    text = buffer.getvalue()
    if "\r" in text:  # rare: a description or pattern with a carriage return in it
        text = _lines_quoting_cr(author, tlp, rows)
    return text.encode("utf-8")


def _lines_quoting_cr(author: str, tlp: str, rows: list[tuple[list[Any], Any]]) -> str:
    """Like :func:`export_lines`, a line with a carriage return in a cell quoted whole: Python's csv writer quotes
    a cell for the line terminator's "\n" only, and a lone "\r" left bare ends the record for every reader
    (a spreadsheet, csv.reader, our import)."""
    buffer = io.StringIO()
    plain = csv.writer(buffer, lineterminator="\n")
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row, revoked in rows:
        values = _export_values(author, tlp, row, revoked)
        (quoted if any(isinstance(v, str) and "\r" in v for v in values) else plain).writerow(values)
    return buffer.getvalue()


def _joined(value: Any) -> str:
    return list_cell(value) if isinstance(value, list) else ""


def _export_values(author: str, tlp: str, row: list[Any], revoked: Any) -> list[Any]:
    sid, kind, value, until, confidence, sectors, name, description, valid_from, pattern, types, labels = \
        row[:12]
    safe = spreadsheet_safe
    if (sid[:1] in _RISKY or kind[:1] in _RISKY or (valid_from or "")[:1] in _RISKY
            or (until or "")[:1] in _RISKY):  # a peer's batch holds these to the single-line rule only (ADR 0267)
        sid, kind, valid_from, until = safe(sid), safe(kind), valid_from and safe(valid_from), until and safe(until)
    return [sid, author, kind, safe((pattern if kind == model.PATTERN_TYPE else value) or ""), tlp,
            "" if confidence is None else confidence, valid_from or "", until or "",
            safe(_joined(sectors)) if sectors else "", safe(_joined(labels)) if labels else "",
            safe(_joined(types)) if types else "", safe(name) if name else "",
            safe(description) if description else "", "true" if revoked else "", *_origin_cells(row)]


def _origin_cells(row: list[Any]) -> tuple[str, str]:
    if len(row) <= R.ORIGIN or (row[R.ORIGIN] is None and (len(row) <= R.ASN or row[R.ASN] is None)):
        return "", ""  # the common case: no origin
    country, asn = R.origin_of(row)
    return country or "", "" if asn is None else str(asn)
