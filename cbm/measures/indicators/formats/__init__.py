"""Import and export formats: one module each (csv, plain, stix, misp; suricata is export only).

Readers yield :class:`Item` (a row ready for a batch, with its TLP) or :class:`LineError` (with the line, or
the object's position for JSON formats); they never touch the store. Writers take rows and stream text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from cbm.core import clock
from cbm.core.errors import CbmError, MalformedInput
from cbm.core.fields import control_character
from cbm.core.tlp import check_tlp
from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats.list_cells import split_items

FORMATS = ("csv", "txt", "stix", "misp")
EXPORT_FORMATS = ("stix", "csv", "txt", "suricata", "misp")


class LineError(NamedTuple):
    line: int
    message: str
    where: str = "line"

    def __str__(self) -> str:
        if self.where == "file":  # the file as a whole: no position to give
            return f"the file: {self.message}"
        return f"{self.where} {self.line}: {self.message}"


class EmptyFeed(MalformedInput):
    """The input holds nothing to read: no bytes, only blank lines (or, in a CSV, only comments). One error
    for the whole input, not a bad line: ``--skip-invalid`` does not pass over it."""


def blank(data: bytes) -> bool:
    """Whether ``data`` is empty but for whitespace and a UTF-8 byte order mark."""
    return not data.removeprefix(b"\xef\xbb\xbf").strip()


class Item(NamedTuple):
    row: list[Any]
    tlp: str


class RowBlock(NamedTuple):
    """The Items of consecutive good lines of a text feed as two columns: their rows (trimmed of trailing nulls)
    and their TLPs. A feed reader yields one for a run of lines whose rows it made column by column, so that the
    batch maker takes them a block at a time (docs/adr/0286)."""

    rows: list[list[Any]]
    tlps: list[str]


@dataclass
class ReadNotes:
    """What a reader skipped on purpose (not errors), e.g. STIX objects it does not keep, MISP types."""

    skipped: dict[str, int] = field(default_factory=dict)
    kept_objects: dict[str, int] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    notices: dict[str, int] = field(default_factory=dict)  # what cbm added or chose, e.g. a default TLP
    context_ids: set[str] = field(default_factory=set)  # related objects already kept (MISP galaxies)
    renamed: dict[str, str] = field(default_factory=dict)  # re-authored indicators: original id -> ours
    origin_reader: Any = None  # STIX: the indicators' origins (formats.stix_origin.OriginReader), once read

    def skip(self, what: str, n: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + n

    def tell(self, what: str, n: int = 1) -> None:
        self.notices[what] = self.notices.get(what, 0) + n


@dataclass(frozen=True)
class Defaults:
    """Values the user gave on the command line, applied where the input has none."""

    author: str
    tlp: str
    tlp_forced: bool = False  # --tlp given: overrides labels in the input
    confidence: int | None = None
    valid_until: str | None = None
    sectors: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    indicator_types: tuple[str, ...] = ()
    now: str = ""
    others: frozenset[str] = frozenset()  # identity ids of the other parties this store knows (authorship)
    origin: str | None = None  # origin territory (ISO 3166-1 alpha-2) for rows that give none
    asn: int | None = None  # origin AS number for rows that give none


_DATE = re.compile(r"^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?)?$")


@lru_cache(maxsize=4096)
def parse_time(text: str, what: str) -> str:
    """An input time as ``YYYY-MM-DDTHH:MM:SSZ``; raises model.BadValue. Cached: feeds repeat dates."""
    raw = text.strip()
    if not _DATE.match(raw):
        raise model.BadValue(f"{what} {text!r} is not an ISO 8601 UTC time")
    try:
        if "T" in raw and raw[-1] != "Z" and "+" not in raw[10:] and "-" not in raw[10:]:
            raw += "Z"
        return clock.iso(clock.parse_time(raw, what=what))
    except CbmError as e:
        raise model.BadValue(f"{what} {text!r} is not an ISO 8601 UTC time") from e


def undecodable(texts: Iterable[str]) -> bool:
    """Whether any of ``texts`` holds bytes that were not UTF-8. Feeds are read with ``surrogateescape``, so one
    bad byte marks its own line, and the lines after it are still read (and numbered) as they are."""
    for text in texts:
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


NOT_UTF8 = "not UTF-8 text (an undecodable byte on this line)"


_CONFIDENCES = {str(n): n for n in range(101)}


def parse_confidence(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if type(value) is str and value in _CONFIDENCES:  # the common case: a feed's plain 0-100
        return _CONFIDENCES[value]
    try:
        number = int(str(value).strip())
    except ValueError:
        raise model.BadValue(f"confidence {value!r} is not a whole number 0-100") from None
    if not 0 <= number <= 100:
        raise model.BadValue(f"confidence {number} is outside 0-100")
    return number


def split_list(value: str) -> list[str]:
    """The items of a CSV list cell (docs/adr/0277-csv-list-cells-round-trip.md)."""
    return split_items(value)


@lru_cache(maxsize=64)
def tlp_of(text: str) -> str:
    try:
        return check_tlp(text)
    except CbmError as e:
        raise model.BadValue(str(e)) from e


def build_row(d: Defaults, kind: str, value: str, *, pattern: str | None = None, sid: str | None = None,
              name: str | None = None, description: str | None = None, confidence: int | None = None,
              valid_from: str | None = None, valid_until: str | None = None,
              sectors: list[str] | None = None, labels: list[str] | None = None,
              indicator_types: list[str] | None = None, kill_chain: list[Any] | None = None,
              created: str | None = None, extra: dict[str, Any] | None = None,
              origin: str | None = None, asn: str | int | None = None) -> list[Any]:
    """A batch row for one indicator, with defaults applied and every field checked (raises BadValue).

    ``origin`` is the territory the indicator appears to originate from (an ISO 3166-1 alpha-2 code, any case)
    and ``asn`` its AS number (``64500`` or ``AS64500``); empty means none (the import's default applies).

    ``kind`` ``""`` means recognise the type from ``value``. For ``kind == "pattern"`` give ``pattern``.
    """
    if kind == model.PATTERN_TYPE:
        if pattern is None:
            raise model.BadValue("a pattern indicator needs a pattern")
        from cbm.measures.indicators import patterns

        patterns.validate(pattern)
        simple = patterns.simple(pattern)
        if simple is not None and sid is None:
            kind, value = simple  # a plain pattern is a plain indicator: one id whichever way it came
            pattern = None
        else:
            found = patterns.values(pattern)
            value = found[0][1] if found else ""
            if simple is not None:
                kind = simple[0]
                if pattern == model.pattern_for(*simple):  # derivable from type and value: not stored twice
                    value, pattern = simple[1], None
    else:
        kind, value = model.normalise(kind, value)
    if pattern is None:
        pattern_text = model.pattern_for(kind, value)
    else:
        pattern_text = pattern
    sectors = valid_sectors(tuple(sectors or ()) + d.sectors) if sectors or d.sectors else None
    until = valid_until or d.valid_until
    start = valid_from
    if until is not None and until <= (start or d.now):
        raise model.BadValue(f"valid_until {until} is not after valid_from {start or d.now}"
                             if start else f"valid_until {until} is already past")
    row: list[Any] = [None] * len(R.FIELDS)
    row[R.ID] = sid or model.indicator_id(d.author, pattern_text)
    row[R.TYPE] = kind
    row[R.VALUE] = row_text("value", value, single_line=True)
    row[R.VALID_UNTIL] = until
    row[R.CONFIDENCE] = confidence if confidence is not None else d.confidence
    row[R.SECTORS] = sectors
    row[R.NAME] = row_text("name", name, single_line=True)
    row[R.DESCRIPTION] = row_text("description", description, single_line=False)
    row[R.VALID_FROM] = start
    row[R.PATTERN] = row_text("pattern", pattern, single_line=False)
    if indicator_types or d.indicator_types:
        row[R.INDICATOR_TYPES] = union(tuple(indicator_types or ()), d.indicator_types)
    if labels or d.labels:
        row[R.LABELS] = union(tuple(labels or ()), d.labels)
    row[R.KILL_CHAIN] = kill_chain or None
    row[R.CREATED] = row_text("created", created, single_line=True)
    row[R.EXTRA] = extra or None
    row[R.ORIGIN] = parse_origin(origin) if origin else d.origin
    row[R.ASN] = parse_asn(asn) if asn not in (None, "") else d.asn
    return row


def row_text(field: str, text: str | None, *, single_line: bool) -> str | None:
    """``text`` as a row holds it (None when empty), kept to the rules the landing gate holds every batch row to
    (cbm.measures.malformed): at most ``rows.MAX_TEXT`` characters and, for a single-line field, no control
    character. Raises BadValue naming ``field``, so a reader reports the line and cbm never signs a batch its own
    gate would refuse."""
    if not text:
        return None
    if len(text) > R.MAX_TEXT:
        raise model.BadValue(f"{field} is longer than {R.MAX_TEXT:,} characters")
    if single_line and not text.isprintable():
        found = control_character(text)
        if found is not None:
            raise model.BadValue(f"{field} holds a control character (U+{ord(found):04X})")
    return text


def parse_origin(text: str) -> str:
    """An origin territory as stored: the ISO 3166-1 alpha-2 code ``text`` names; raises BadValue."""
    from cbm.core.countries import country_code

    code = country_code(text)
    if code is None:
        raise model.BadValue(f"origin {text!r} is not an ISO 3166-1 alpha-2 country code (e.g. RU, US)")
    return code


def parse_asn(value: str | int) -> int:
    """An AS number as stored (``64500``, ``"AS64500"``); raises BadValue outside 1..4294967295."""
    from cbm.core.countries import asn_number

    number = asn_number(value)
    if number is None:
        raise model.BadValue(f"AS number {value!r} is not a number 1-4294967295 (e.g. 64500 or AS64500)")
    return number


def union(given: tuple[str, ...], defaults: tuple[str, ...]) -> list[str]:
    """A row's list as the input ordered it when it has no defaults to add and no repeats (a STIX list stays as
    it was); else the sorted, de-duplicated union with the import's defaults (feeds repeat a few)."""
    if not defaults and len(set(given)) == len(given):
        return list(given)
    return list(_sorted_union(given, defaults))


@lru_cache(maxsize=1024)
def _sorted_union(given: tuple[str, ...], defaults: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(given) | set(defaults)))


@lru_cache(maxsize=1024)
def _sector_tuple(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({model.check_sector(s) for s in names}))


def valid_sectors(names: tuple[str, ...]) -> list[str]:
    """The sorted, de-duplicated sector names of ``names``, each checked; raises BadValue for an unknown one."""
    return list(_sector_tuple(names))


@lru_cache(maxsize=4096)
def stix_time(iso_seconds: str) -> str:
    """STIX created/modified with millisecond precision."""
    if iso_seconds.endswith("Z") and len(iso_seconds) == 20:
        return iso_seconds[:-1] + ".000Z"
    return iso_seconds


def guess_format(path: str, head: bytes) -> str:
    """The format of a feed file, from its name, else from its first bytes ``head``: csv, txt, stix or misp."""
    name = path.lower()
    for suffix, fmt in ((".csv", "csv"), (".txt", "txt"), (".list", "txt"), (".stix", "stix"),
                        (".stix.json", "stix"), (".misp.json", "misp")):
        if name.endswith(suffix):
            return fmt
    text = head.lstrip()
    if text.startswith(b"{") or text.startswith(b"["):
        if b'"type"' in head and (b'"bundle"' in head or b'"spec_version"' in head or b'"indicator"' in head):
            return "stix"
        return "misp"
    first = text.split(b"\n", 1)[0]
    if b"," in first:
        return "csv"
    return "txt"
