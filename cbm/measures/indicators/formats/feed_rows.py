"""The rows of a text feed's lines (CSV, plain list), made at feed speed.

A feed of a million lines repeats a few dozen TLP labels, confidences, dates, tag lists, names and descriptions.
:class:`LineRows` parses each distinct cell text once (remembering what it became, a few thousand texts per
column at a time) and makes a line's row in one step. Its row is the one :func:`build_row` makes from the same
cells; where a line needs more than that (a pattern, a revoked flag, anything the full path refuses), it returns
None and the reader takes the full path, which then decides, reporting its errors in its order. The tests hold
both paths to the same rows and errors (tests/measures/test_indicators_fast_paths.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import (
    Defaults,
    Item,
    build_row,
    parse_asn,
    parse_confidence,
    parse_origin,
    parse_time,
    split_list,
    tlp_of,
    union,
    valid_sectors,
)

MAX_REMEMBERED = 4096  # distinct texts remembered per column (a column of unique texts: cleared when full)
# Item(row, tlp) of a feed's line without the NamedTuple's Python-level __new__ (a third of its cost, once a line)
_new_item: Callable[[type[Item], tuple[list[Any], str]], Item] = tuple.__new__


def _remember(memo: dict[str, Any], text: str, parse: Callable[[str], Any]) -> None:
    """Keep what ``parse`` makes of ``text`` (of the stripped cell, as the full path sees it), unless it refuses
    it: a refused text stays out, so its lines take the full path, which reports it."""
    try:
        value = parse(text.strip())
    except model.BadValue:
        return
    if len(memo) >= MAX_REMEMBERED:
        memo.clear()
    memo[text] = value


class LineRows:
    """Makes the rows of one feed's lines, with the import's defaults ``d``."""

    def __init__(self, d: Defaults) -> None:
        self.d = d
        self._kinds: dict[str, Any] = {}
        self._tlps: dict[str, Any] = {}
        self._confidences: dict[str, Any] = {}
        self._starts: dict[str, Any] = {}
        self._untils: dict[str, Any] = {}
        self._sectors: dict[str, Any] = {}
        self._labels: dict[str, Any] = {}
        self._types: dict[str, Any] = {}
        self._origins: dict[str, Any] = {}
        self._asns: dict[str, Any] = {}
        # a plain list's lines carry only a value: the rest of each row is the defaults, the same every line
        self._plain_rest: tuple[Any, ...] | None = None
        try:
            self._plain_rest = (self._until(""), self._sectors_of(""), self._confidence(""), self._types_of(""),
                                self._labels_of(""), self._origin(""), self._asn(""))
        except model.BadValue:
            pass  # a default that every row refuses: each line takes the full path and reports it

    # -- each column's text, as build_row's caller in formats.csv reads it -----------------------------------

    def _kind(self, text: str) -> str:
        kind = model.canonical_type(text) if text else ""
        if kind == model.PATTERN_TYPE:
            raise model.BadValue("a pattern: the full path validates it")
        return kind

    def _tlp(self, text: str) -> str:
        return self.d.tlp if self.d.tlp_forced or not text else tlp_of(text)

    def _confidence(self, text: str) -> int | None:
        confidence = parse_confidence(text) if text else None
        return confidence if confidence is not None else self.d.confidence

    def _start(self, text: str) -> str | None:
        return parse_time(text, "valid_from") if text else None

    def _until(self, text: str) -> str | None:
        return (parse_time(text, "valid_until") if text else None) or self.d.valid_until

    def _sectors_of(self, text: str) -> tuple[str, ...] | None:
        sectors = split_list(text) if text else None
        return tuple(valid_sectors(tuple(sectors or ()) + self.d.sectors)) if sectors or self.d.sectors else None

    def _labels_of(self, text: str) -> tuple[str, ...] | None:
        labels = split_list(text) if text else None
        return tuple(union(tuple(labels or ()), self.d.labels)) if labels or self.d.labels else None

    def _types_of(self, text: str) -> tuple[str, ...] | None:
        types = split_list(text) if text else None
        return tuple(union(tuple(types or ()), self.d.indicator_types)) if types or self.d.indicator_types else None

    def _origin(self, text: str) -> str | None:
        return parse_origin(text) if text else self.d.origin

    def _asn(self, text: str) -> int | None:
        return parse_asn(text) if text else self.d.asn

    # -- rows ------------------------------------------------------------------------------------------------

    def csv(self, texts: Sequence[str], *, learn: bool = True) -> Item | None:
        """The Item of a CSV line whose cells, in ``formats.csv._KEYS`` order, are ``texts`` (stripped or
        not), its row trimmed of trailing nulls (:func:`~cbm.measures.indicators.rows.trim`: as it lands, built
        no wider than its last value, docs/adr/0272); None when the line takes the full path."""
        revoked, value, kind, tlp, sectors, labels, types, start, until, name, description, confidence, origin, \
            asn = texts
        if revoked and revoked.strip():
            return None
        try:  # each cell through its column's memo (a text the full path refuses is never in it)
            kind = self._kinds[kind]
            tlp = self._tlps[tlp]
            confidence = self._confidences[confidence]
            start = self._starts[start]
            until = self._untils[until]
            sectors = self._sectors[sectors]
            labels = self._labels[labels]
            types = self._types[types]
            origin = self._origins[origin]
            asn = self._asns[asn]
        except KeyError:
            if not learn:
                return None
            self._learn(texts)
            return self.csv(texts, learn=False)
        if until is not None and until <= (start or self.d.now):
            return None
        try:
            kind, value = model.normalise(kind, value)
        except model.BadValue:
            return None
        name, description = name.strip(), description.strip()
        if not (name.isprintable() and len(name) <= R.MAX_TEXT and len(description) <= R.MAX_TEXT
                and len(value) <= R.MAX_TEXT and value.isprintable()):
            return None  # the full path says which rule of build_row the line breaks (or keeps it, as the gate would)
        sid = model.simple_indicator_id(self.d.author, kind, value)
        sector_list = None if sectors is None else list(sectors)
        type_list = None if types is None else list(types)
        if origin is None and asn is None:  # a feed's common line: the row ends at its labels at the latest
            row = [sid, kind, value or None, until, confidence, sector_list, name or None, description or None, start,
                   None, type_list, None if labels is None else list(labels)]
            return _new_item(Item, (row if labels is not None else R.trim(row), tlp))
        row = [sid, kind, value or None, until, confidence, sector_list, name or None, description or None, start,
               None, type_list, None if labels is None else list(labels), None, None, None, origin, asn]
        return _new_item(Item, (row if asn is not None else R.trim(row), tlp))

    def _learn(self, texts: Sequence[str]) -> None:
        """Parse each cell text of a line its column's memo does not hold yet (those the full path accepts)."""
        _, _, kind, tlp, sectors, labels, types, start, until, _, _, confidence, origin, asn = texts
        for memo, text, parse in ((self._kinds, kind, self._kind), (self._tlps, tlp, self._tlp),
                                  (self._confidences, confidence, self._confidence),
                                  (self._starts, start, self._start), (self._untils, until, self._until),
                                  (self._sectors, sectors, self._sectors_of), (self._labels, labels, self._labels_of),
                                  (self._types, types, self._types_of), (self._origins, origin, self._origin),
                                  (self._asns, asn, self._asn)):
            if text not in memo:
                _remember(memo, text, parse)

    def plain(self, kind: str, value: str) -> list[Any]:
        """``build_row(d, kind, value)``: the row of a plain list's value (``kind`` a canonical type, or ``""``:
        recognise); raises BadValue as it does."""
        rest = self._plain_rest
        if rest is None or kind == model.PATTERN_TYPE:
            return build_row(self.d, kind, value)
        until, sectors, confidence, types, labels, origin, asn = rest
        if until is not None and until <= self.d.now:
            return build_row(self.d, kind, value)
        kind, value = model.normalise(kind, value)
        if len(value) > R.MAX_TEXT or not value.isprintable():
            return build_row(self.d, kind, value)  # says which rule the value breaks, or keeps it as the gate would
        return [model.simple_indicator_id(self.d.author, kind, value), kind, value or None, until, confidence,
                None if sectors is None else list(sectors), None, None, None, None,
                None if types is None else list(types), None if labels is None else list(labels),
                None, None, None, origin, asn]
