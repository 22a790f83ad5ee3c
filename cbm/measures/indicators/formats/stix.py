"""STIX 2.1: read a bundle (or one object); build the objects an export writes as dicts, no ``stix2`` objects
(stix_lines.py encodes them and writes the bundle).

Reading keeps each indicator's STIX id, ``created``, pattern and properties; the importing party becomes its
``created_by_ref``. Related objects (malware, relationships, identities, attack patterns, reports...) are kept
verbatim in the batch record and exported again; sightings and non-TLP marking definitions are skipped and
counted. Every pattern that is not a plain equality is checked by the OASIS pattern validator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, Any

from cbm.core.canonical import loads
from cbm.core.errors import MalformedInput
from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import (
    Defaults,
    EmptyFeed,
    Item,
    LineError,
    ReadNotes,
    blank,
    build_row,
    parse_confidence,
    parse_time,
    stix_time,
)
from cbm.measures.indicators.formats import stix_extension as ext
from cbm.measures.indicators.formats.stix_origin import OriginReader

_MAPPED = {"type", "spec_version", "id", "created", "modified", "created_by_ref", "object_marking_refs", "pattern",
           "pattern_type", "name", "description", "valid_from", "valid_until", "confidence", "indicator_types",
           "labels", "kill_chain_phases", "revoked", "x_cbm_sectors", "granular_markings", "extensions"}
_SKIPPED_TYPES = {"sighting": "sightings (record them with `cbm indicators sighting`)",
                  "marking-definition": "marking definitions (TLP is kept as each indicator's label)"}


_STREAM_HEAD = re.compile(rb'^\{"type":\s*"bundle",\s*"id":\s*"[^"]+",\s*"objects":\s*\[\s*$')
MAX_WHOLE_FILE = 512 * 1024 * 1024


def read(stream: IO[bytes], d: Defaults, notes: ReadNotes) -> Iterator[Item | LineError]:
    """Yield an Item per indicator and a LineError per bad object ("object N"); related objects go to notes.

    A bundle laid out one object per line (as cbm and many exporters write it) is read line by line, in
    constant memory; any other layout is parsed whole (up to 512 MiB).
    """
    first = stream.readline()
    if _STREAM_HEAD.match(first):
        _scan_origins(stream, notes)
        yield from _read_lines(stream, d, notes)
        return
    rest = stream.read(MAX_WHOLE_FILE + 1)
    if len(rest) > MAX_WHOLE_FILE:
        yield LineError(1, "STIX file too large to parse whole (over 512 MiB); write one object per line",
                        "file")
        return
    data = first + rest
    if blank(data):
        raise EmptyFeed("the file is empty: no STIX bundle or object to import")
    try:
        doc = loads(data)
    except MalformedInput as e:
        yield LineError(1, str(e), "file")
        return
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        objects = doc.get("objects")
        if not isinstance(objects, list):
            yield LineError(1, "the bundle has no objects list", "file")
            return
        if not objects:
            raise EmptyFeed("the bundle is empty: no STIX objects to import")
    elif isinstance(doc, dict) and isinstance(doc.get("type"), str):
        objects = [doc]
    else:
        yield LineError(1, "not a STIX 2.1 bundle or object", "file")
        return
    _origins(notes, objects)
    for n, obj in enumerate(objects, 1):
        item = _object(n, obj, d, notes)
        if item is not None:
            yield item


def _origins(notes: ReadNotes, objects: list[Any] = ()) -> OriginReader:  # type: ignore[assignment]
    """The input's origin reader, offered ``objects`` first (an indicator may come before its origin)."""
    if notes.origin_reader is None:
        notes.origin_reader = OriginReader()
    reader: OriginReader = notes.origin_reader
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") in _ORIGIN_TYPES:
            reader.offer(obj)
    return reader


_ORIGIN_TYPES = ("location", "autonomous-system", "relationship")
_ORIGIN_MARKS = (b'"location"', b'"autonomous-system"', b'"relationship"')


def _scan_origins(stream: IO[bytes], notes: ReadNotes) -> None:
    """A bundle laid out one object per line, read from a file: a first pass over the lines that may hold a
    location, an autonomous system or a relationship, so an indicator gets its origin whichever order the
    objects come in (from a pipe, those before the indicator and right after it count: see _read_lines)."""
    reader = _origins(notes)
    try:
        if not stream.seekable():
            return
        start = stream.tell()
    except (OSError, ValueError):
        return
    for line in stream:
        if any(mark in line for mark in _ORIGIN_MARKS):
            line = line.strip()
            try:
                obj = loads(line[:-1] if line.endswith(b",") else line)
            except MalformedInput:
                continue  # reported by the reading pass
            if isinstance(obj, dict) and obj.get("type") in _ORIGIN_TYPES:
                reader.offer(obj)
    stream.seek(start)


def read_objects(objects: list[Any], d: Defaults, notes: ReadNotes) -> Iterator[Item | LineError]:
    """Objects already parsed (a TAXII page): the same rules as a bundle's, numbered from 1."""
    _origins(notes, objects)
    for n, obj in enumerate(objects, 1):
        item = _object(n, obj, d, notes)
        if item is not None:
            yield item


def _read_lines(stream: IO[bytes], d: Defaults, notes: ReadNotes) -> Iterator[Item | LineError]:
    n = 0
    closed = False
    # An indicator is read when the next indicator (or the end) comes, so the objects written right after it
    # (its origin's location and relationship, as cbm's export writes them) count even from a pipe.
    held: tuple[int, Any] | None = None

    def release() -> Iterator[Item | LineError]:
        nonlocal held
        if held is not None:
            item = _object(held[0], held[1], d, notes)
            held = None
            if item is not None:
                yield item

    for line_bytes in stream:
        line = line_bytes.strip()
        if not line:
            continue
        if closed:
            yield from release()
            yield LineError(n, "content after the end of the bundle", "object")
            return
        if line.startswith(b"]"):
            if line.replace(b" ", b"") not in (b"]}", b"]}\n"):
                yield from release()
                yield LineError(n, "the bundle does not end with ]}", "object")
                return
            closed = True
            continue
        n += 1
        try:
            obj = loads(line[:-1] if line.endswith(b",") else line)
        except MalformedInput as e:
            yield LineError(n, str(e), "object")
            continue
        if isinstance(obj, dict) and obj.get("type") == "indicator":
            yield from release()
            held = (n, obj)
            continue
        item = _object(n, obj, d, notes)
        if item is not None:
            yield item
    yield from release()
    if not closed:
        yield LineError(n, "the bundle is truncated (no closing ]})", "object")
    elif n == 0:
        raise EmptyFeed("the bundle is empty: no STIX objects to import")


def _object(n: int, obj: Any, d: Defaults, notes: ReadNotes) -> Item | LineError | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        return LineError(n, "not a STIX object", "object")
    kind = obj["type"]
    if kind == "indicator":
        return _indicator(n, obj, d, notes)
    if kind in _SKIPPED_TYPES:
        notes.skip(_SKIPPED_TYPES[kind])
        return None
    if not isinstance(obj.get("id"), str) or not obj["id"].startswith(kind + "--"):
        return LineError(n, f"{kind} object has no valid STIX id", "object")
    if kind in _ORIGIN_TYPES:
        reader = _origins(notes, [obj])
        if reader.is_origin_link(obj) or reader.is_own_target(obj):
            notes.skip("origin locations and relationships (read as each indicator's origin territory)")
            return None
    if obj["id"] in (ext.EXTENSION_ID, ext.CREATOR_ID):
        notes.skip("cbm's own extension definition (every export carries it)")
        return None
    if kind == "identity" and ext.party_of(obj):
        notes.skip("cbm party identities (the importing party becomes the creator)")
        return None
    notes.objects.append(obj)
    notes.kept_objects[kind] = notes.kept_objects.get(kind, 0) + 1
    return None


def _indicator(n: int, obj: dict[str, Any], d: Defaults, notes: ReadNotes) -> Item | LineError | None:
    sid = obj.get("id")
    where = f"indicator {sid}" if isinstance(sid, str) else "indicator"
    try:
        if not isinstance(sid, str) or not model.is_stix_id(sid, "indicator"):
            raise model.BadValue("no valid STIX id")
        if obj.get("pattern_type", "stix") != "stix":
            notes.skip(f"indicators with pattern_type {obj.get('pattern_type')!r} (only STIX patterns)")
            return None
        pattern = obj.get("pattern")
        if not isinstance(pattern, str):
            raise model.BadValue("no pattern")
        if not isinstance(obj.get("valid_from"), str):
            raise model.BadValue("no valid_from")
        refs = obj.get("object_marking_refs")
        if refs is not None and not (isinstance(refs, list) and all(isinstance(r, str) for r in refs)):
            raise model.BadValue("object_marking_refs is not a list of marking ids")
        tlp = d.tlp
        if not d.tlp_forced:
            marked = False
            for ref in refs or []:
                if ref in model.TLP_BY_MARKING:
                    tlp = model.TLP_BY_MARKING[ref]
                    marked = True
            if not marked:
                notes.tell(f"indicator(s) without a TLP marking, labelled TLP:{tlp} (--tlp sets another)")
        extra = {k: v for k, v in obj.items() if k not in _MAPPED}
        for key in ("name", "description"):
            if obj.get(key) == "":  # kept as it came: an empty text is the source's, not cbm's, to drop
                extra[key] = ""
        others = ext.other_extensions(obj)
        if others:
            extra["extensions"] = others
        if obj.get("revoked") is True:
            extra["revoked"] = True
        until = obj.get("valid_until")
        if until is not None and not isinstance(until, str):
            raise model.BadValue("valid_until is not a time")
        created = obj.get("created")
        if created is not None:  # kept as the source wrote it, once it is a moment (not 0000-01-01, not month 13)
            stix_timestamp(created, "created")
        valid_from = parse_time(obj["valid_from"], "valid_from")
        if obj["valid_from"] != valid_from:  # sub-second precision: kept as written, the index keeps seconds
            extra["valid_from"] = obj["valid_from"]
        if isinstance(obj.get("modified"), str):  # the source's own version time, kept for this version
            extra["modified"] = stix_timestamp(obj["modified"], "modified")
        origin, asn = _origins(notes).origin(sid)
        row = build_row(
            d, model.PATTERN_TYPE, "", pattern=pattern, sid=sid, name=_text(obj.get("name")),
            description=_text(obj.get("description")), confidence=parse_confidence(obj.get("confidence")),
            valid_from=valid_from,
            valid_until=parse_time(until, "valid_until") if until else None,
            sectors=_strings(ext.sectors_of(obj)), labels=_strings(obj.get("labels")),
            indicator_types=_strings(obj.get("indicator_types")),
            kill_chain=obj.get("kill_chain_phases") if isinstance(obj.get("kill_chain_phases"), list) else None,
            created=created if isinstance(created, str) else None, extra=extra, origin=origin, asn=asn)
        creator = obj.get("created_by_ref")
        if isinstance(creator, str) and creator in d.others:  # another party's indicator, not through its own records
            from cbm.measures.indicators import authorship

            original = row[R.ID]
            row, link = authorship.reauthor(d.author, row)
            notes.renamed[original] = row[R.ID]
            notes.objects.append(link)
            notes.tell("indicator(s) with another party's id, re-authored under ids of ours (derived-from the "
                       "original)")
        return Item(row, tlp)
    except model.BadValue as e:
        return LineError(n, f"{where}: {e}", "object")


_STIX_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", re.ASCII)


def stix_timestamp(value: Any, what: str) -> str:
    """``value`` if it is a STIX timestamp (``YYYY-MM-DDTHH:MM:SS[.s]Z``, UTC) naming a moment, as an export
    writes it back; raises BadValue naming ``what`` (``created``, ``modified``)."""
    if not isinstance(value, str):
        raise model.BadValue(f"{what} is not a time")
    parse_time(value, what)  # a moment: not year 0000, not month 13, not 30 February
    if not _STIX_TIMESTAMP.fullmatch(value):
        raise model.BadValue(f"{what} {value!r} is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.sss]Z)")
    return value


@lru_cache(maxsize=4096)
def created_or(created: str, fallback: str) -> str:
    """The ``created`` an export writes for a row's stored ``created``: as stored (with milliseconds) when it is a
    STIX timestamp naming a moment, else ``fallback`` (the version's time, as for a row without one). A store may
    hold another (landed before 2026-12-07, or signed so by a peer): it never makes an export invalid STIX."""
    try:
        return stix_time(stix_timestamp(created, "created"))
    except model.BadValue:
        return fallback


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


# -- export ----------------------------------------------------------------------------------------------

def identity(party: str, name: str) -> dict[str, Any]:
    """A party's identity (stable id; its party code in cbm's property extension)."""
    return ext.with_party({"type": "identity", "spec_version": "2.1", "id": model.identity_id(party),
                           "created": "2013-06-17T00:00:00.000Z", "modified": "2013-06-17T00:00:00.000Z",
                           "name": name, "identity_class": "organization"}, party)


def indicator(author: str, tlp: str, row: list[Any], modified: str, revoked: bool) -> dict[str, Any]:
    """The STIX 2.1 indicator for a batch row (dict in a fixed key order: deterministic output).

    The export encodes the same object without building it (``stix_lines.IndicatorEncoder``): a change here
    goes there too, or tests/measures/test_stix_lines.py fails."""
    kind, value = row[R.TYPE], row[R.VALUE]
    obj: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": row[R.ID],
        "created": created_or(row[R.CREATED], stix_time(modified)) if type(row[R.CREATED]) is str
        else stix_time(modified),
        "modified": stix_time(modified), "created_by_ref": model.identity_id(author),
    }
    if row[R.NAME]:
        obj["name"] = row[R.NAME]
    if row[R.DESCRIPTION]:
        obj["description"] = row[R.DESCRIPTION]
    if row[R.INDICATOR_TYPES]:
        obj["indicator_types"] = row[R.INDICATOR_TYPES]
    obj["pattern"] = row[R.PATTERN] or model.pattern_for(kind, value)
    obj["pattern_type"] = "stix"
    obj["valid_from"] = row[R.VALID_FROM] or modified
    extra = row[R.EXTRA] if isinstance(row[R.EXTRA], dict) else {}
    if _same_second(extra.get("valid_from"), obj["valid_from"]):
        obj["valid_from"] = extra["valid_from"]
    if isinstance(extra.get("modified"), str):
        obj["modified"] = extra["modified"]
    if row[R.VALID_UNTIL]:
        obj["valid_until"] = row[R.VALID_UNTIL]
    if row[R.KILL_CHAIN]:
        obj["kill_chain_phases"] = row[R.KILL_CHAIN]
    if row[R.CONFIDENCE] is not None:
        obj["confidence"] = row[R.CONFIDENCE]
    if row[R.LABELS]:
        obj["labels"] = row[R.LABELS]
    if revoked:
        obj["revoked"] = True
    obj["object_marking_refs"] = [model.TLP_MARKING_IDS[tlp]]
    for key, item in extra.items():
        if key not in obj and key != "revoked":
            obj[key] = item
    if row[R.SECTORS]:
        ext.add_sectors(obj, row[R.SECTORS])
    return obj


def _same_second(precise: Any, seconds: str) -> bool:
    """Whether ``precise`` (a STIX time as the source wrote it) is ``seconds`` (the index's form) with more
    precision, so it may be written instead of it."""
    if not isinstance(precise, str):
        return False
    try:
        return parse_time(precise, "valid_from") == seconds
    except model.BadValue:
        return False


def sighting(sighting_id: str, by: str, sid: str, body: dict[str, Any], created: str, tlp: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "sighting", "spec_version": "2.1", "id": sighting_id,
                           "created": stix_time(created), "modified": stix_time(created),
                           "created_by_ref": model.identity_id(by), "sighting_of_ref": sid,
                           "count": body.get("count", 1)}
    for key in ("first_seen", "last_seen", "description"):
        if isinstance(body.get(key), str):
            obj[key] = body[key]
    obj["where_sighted_refs"] = [model.identity_id(by)]
    obj["object_marking_refs"] = [model.TLP_MARKING_IDS[tlp]]
    return obj
