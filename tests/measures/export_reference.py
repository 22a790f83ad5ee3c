"""The indicator exporter as it was before issue 20 (commit 9189c63), kept verbatim as the reference the fast
exporter is compared with, byte for byte (tests/measures/test_indicators_export_equivalence.py). Not used by
cbm itself. Only the imports and the module docstring differ from the original."""


from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.memory import cycle_collector_paused
from cbm.core.tlp import TLP_LABELS, tlp_rank
from cbm.measures.indicators import checks, model, queries
from cbm.measures.indicators import index as ix
from cbm.measures.indicators.cache import RecordCache
from cbm.measures.indicators.formats import misp
from cbm.store.db import Store
from cbm.store.record_rows import record_from_row

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

SENSITIVE_TLPS = ("AMBER", "AMBER+STRICT", "RED")
# Exports a firewall or an IDS sensor enforces: flagged indicators stay out of them unless asked for, and an
# indicator matching every address never goes in (docs/adr/0191-flagged-indicators-in-exports.md).
ENFORCING_FORMATS = ("txt", "csv", "suricata")
NEVER_ENFORCED = (checks.ALL_ADDRESSES,)


def sensitive_tlps(store: Store, f: queries.Filter) -> list[str]:
    """The TLP labels above GREEN among the indicators ``f`` selects: an export of them deserves a warning."""
    return [t for t in store.query(queries.tlps_present, f) if t in SENSITIVE_TLPS]


@dataclass
class ExportResult:
    format: str
    written: int
    skipped: dict[str, int]
    by_tlp: dict[str, int]
    sightings: int = 0
    objects: int = 0
    sid_collisions: int = 0  # suricata: indicators whose derived sid was taken and that got their next one
    flagged_left_out: int = 0  # flagged by the landing checks and left out (enforcing formats)
    flagged_included: int = 0  # flagged and written anyway (--include-flagged, or marked in STIX and MISP)
    all_addresses_left_out: int = 0  # matching every address: never exported, even with --include-flagged


@cycle_collector_paused()
def reference_export(store: Store, f: queries.Filter, fmt: str, out: IO[str], *, sid_base: int | None = None,
           include_flagged: bool = False, on_progress: Callable[[int], None] | None = None) -> ExportResult:
    """Stream the selected indicators to ``out`` in ``fmt`` (stix, csv, txt, suricata, misp).

    In the enforcing formats (txt, csv, suricata) indicators flagged by the landing checks are left out and
    counted, unless ``include_flagged``; those matching every address are left out even then. STIX and MISP
    keep flagged indicators and mark them. Raises UsageError (unknown format, bad sid base)."""
    from cbm.measures.indicators.formats import EXPORT_FORMATS

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint="one of " + ", ".join(EXPORT_FORMATS))
    result = ExportResult(fmt, 0, {}, {})
    cache = RecordCache(store)
    if fmt in ENFORCING_FORMATS:
        if include_flagged:
            result.all_addresses_left_out = store.query(
                queries.count, f._replace(limit=None, flagged=True)) - store.query(
                queries.count, f._replace(limit=None, flagged=True, never_flags=NEVER_ENFORCED))
            f = f._replace(never_flags=NEVER_ENFORCED)
            result.flagged_included = store.query(queries.count, f._replace(limit=None, flagged=True))
        else:
            result.flagged_left_out = store.query(queries.count, f._replace(limit=None, flagged=True))
            f = f._replace(flagged=False)
    else:
        result.flagged_included = store.query(queries.count, f._replace(limit=None, flagged=True))
    rows = store.query(queries.select, f)
    if fmt in ENFORCING_FORMATS:
        rows = _never_everything(rows, result)
    if fmt == "stix":
        _export_stix(store, f, rows, cache, out, result, on_progress)
    elif fmt == "csv":
        from cbm.measures.indicators.formats import csv as csv_format

        out.write(csv_format.header_line())
        for n, r in enumerate(rows, 1):
            out.write(csv_format.export_line(r.author, r.tlp, cache.row(r), r.revoked is not None))
            _count(result, r, n, on_progress)
    elif fmt == "txt":
        from cbm.measures.indicators.formats import plain

        for n, r in enumerate(rows, 1):
            line = plain.export_line([r.id, r.type, r.value])
            if line is None:
                result.skipped["free STIX patterns"] = result.skipped.get("free STIX patterns", 0) + 1
                continue
            out.write(line)
            _count(result, r, n, on_progress)
    elif fmt == "suricata":
        from cbm.measures.indicators.formats import suricata

        try:
            sids = suricata.SidAllocator(sid_base or suricata.DEFAULT_SID_BASE)
        except ValueError as e:
            raise UsageError(str(e)) from e
        for n, r in enumerate(rows, 1):
            row = cache.row(r)
            why = suricata.why_not(row)
            if why:
                result.skipped[why] = result.skipped.get(why, 0) + 1
                continue
            for rule in suricata.rules(r.author, row, sids.sid(r.author, r.id), r.versions)[0]:
                out.write(rule)
            _count(result, r, n, on_progress)
        result.sid_collisions = sids.collisions
    else:
        from cbm.measures.indicators.formats import misp

        present = store.query(queries.tlps_present, f)
        top = max(present, key=tlp_rank) if present else "GREEN"
        writer = _EventWriter(out, store.party, f"cbm indicators export by {store.party}",
                                  clock.now_iso(), top)
        flagged = _FlagLookup(store) if result.flagged_included else None
        context = misp.Context()
        for n, r in enumerate(rows, 1):
            record, batch = cache.get(r.rec)
            galaxies = context.galaxies(r.rec, record.body.get("objects"), r.id)
            attr = misp.attribute(r.author, r.tlp, batch[r.pos], r.modified, galaxies)
            if flagged is not None:
                misp.mark_flagged(attr, flagged.of(r))
            writer.write(attr)
            _count(result, r, n, on_progress)
        writer.close()
    return result


class _FlagLookup:
    """Flags of the rows an export writes (read once: few indicators are flagged)."""

    def __init__(self, store: Store) -> None:
        self.flags = store.query(queries.all_flags)

    def of(self, r: ix.IndicatorRow) -> list[str]:
        return self.flags.get((r.id, r.author), [])


def _never_everything(rows: Iterator[ix.IndicatorRow], result: ExportResult) -> Iterator[ix.IndicatorRow]:
    """``rows`` without any whose value is a range of every address, whatever the index says (a second line of
    defence behind the landing checks' flag)."""
    for r in rows:
        if r.value is not None and r.value.endswith("/0") and r.type in ("ipv4-addr", "ipv6-addr"):
            result.all_addresses_left_out += 1
            continue
        yield r


def _count(result: ExportResult, r: ix.IndicatorRow, n: int, on_progress: Callable[[int], None] | None) -> None:
    result.written += 1
    result.by_tlp[r.tlp] = result.by_tlp.get(r.tlp, 0) + 1
    if on_progress and n % 10000 == 0:
        on_progress(n)


def _export_stix(store: Store, f: queries.Filter, rows: Iterator[ix.IndicatorRow], cache: RecordCache, out: IO[str],
                 result: ExportResult, on_progress: Callable[[int], None] | None) -> None:
    """A closed bundle: the indicators, then exactly the related objects, sightings, identities and markings
    they reach (docs/adr/0161-closed-stix-exports.md), then cbm's extension definition."""
    from cbm.measures.indicators.formats import stix, stix_extension
    from cbm.measures.indicators.formats.closure import Closure
    from cbm.store.trust import list_keys

    seed = f"{store.party}|{f}|{store.head(store.party)}"
    writer = _BundleWriter(out, model.object_id("bundle", seed))
    names: dict[str, str] = {}
    for key in list_keys(store):
        names.setdefault(key.party, key.name)
    parties: set[str] = set()
    tlps: set[str] = set()
    closure = Closure()
    offered: set[int] = set()
    listed: set[str] | None = set() if f.limit is not None else None  # with --limit, a match may not be written
    for n, r in enumerate(rows, 1):
        record, batch = cache.get(r.rec)
        writer.write(stix.indicator(r.author, r.tlp, batch[r.pos], r.modified, r.revoked is not None))
        parties.add(r.author)
        tlps.add(r.tlp)
        if listed is not None:
            listed.add(r.id)
        if r.rec not in offered:
            offered.add(r.rec)
            for obj in record.body.get("objects") or ():
                closure.offer(obj)
        _count(result, r, n, on_progress)

    def written(ref: str) -> bool:
        if not ref.startswith("indicator--"):
            return False
        if listed is not None:
            return ref in listed
        return any(queries.matches(r, f) for r in store.query(queries.get, ref))

    party_of_identity = {model.identity_id(party): party for party in names}
    tlp_of_marking = {marking: label for label, marking in model.TLP_MARKING_IDS.items()}
    objects, supplied = closure.close(
        written, lambda ref: ref in party_of_identity or ref in tlp_of_marking)
    for obj in objects:
        writer.write(obj)
    result.objects = len(objects)
    for envelope, keyid in store.query(queries.sighting_records):
        record = record_from_row(envelope, keyid)
        sid = record.body.get("ref")
        matching = [r for r in store.query(queries.get, str(sid)) if queries.matches(r, f)]
        if not matching or tlp_rank(record.tlp) > max((tlp_rank(t) for t in f.tlps), default=4):
            continue
        writer.write(stix.sighting(model.sighting_id(record.hash), record.author, str(sid), record.body,
                                   record.created, record.tlp))
        parties.add(record.author)
        tlps.add(record.tlp)
        result.sightings += 1
    parties.update(party_of_identity[ref] for ref in supplied if ref in party_of_identity)
    tlps.update(tlp_of_marking[ref] for ref in supplied if ref in tlp_of_marking)
    for party in sorted(parties):
        writer.write(stix.identity(party, names.get(party, party)))
    for label in TLP_LABELS:
        if label in tlps:
            writer.write(model.tlp_marking(label))
    if parties:
        for obj in stix_extension.definition_objects():
            writer.write(obj)
    writer.close()


# -- the stream writers as they were (the library's now write bytes) --

class _BundleWriter:
    """Writes ``{"type": "bundle", "id": ..., "objects": [...]}`` one object per line, streaming."""

    def __init__(self, out: IO[str], bundle_id: str) -> None:
        self.out = out
        self.count = 0
        out.write('{"type":"bundle","id":' + _encode(bundle_id) + ',"objects":[\n')

    def write(self, obj: dict[str, Any]) -> None:
        self.out.write(",\n" + _encode(obj) if self.count else _encode(obj))
        self.count += 1

    def close(self) -> None:
        self.out.write("\n]}\n")


class _EventWriter:
    """Streams one MISP event ``{"Event": {..., "Attribute": [...], "Object": [...]}}``: attributes as they
    come, objects (free STIX patterns) spooled to a temporary file and written after them."""

    def __init__(self, out: IO[str], party: str, info: str, date: str, tlp: str) -> None:
        import tempfile

        self.out = out
        self.count = 0
        self.objects = 0
        self.spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8")  # noqa: SIM115
        event = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:{party}:{info}:{date}")), "info": info,
                 "date": date[:10], "timestamp": str(misp._epoch(date)), "threat_level_id": "2", "analysis": "2",
                 "distribution": "0", "published": False, "Org": misp.org(party), "Orgc": misp.org(party),
                 "Tag": [{"name": f"tlp:{tlp.lower()}"}]}
        head = json.dumps({"Event": event}, ensure_ascii=False)
        out.write(head[:-2] + ', "Attribute": [\n')

    def write(self, attr: dict[str, Any]) -> None:
        if attr["type"] == "stix2-pattern":
            self.spool.write(",\n" if self.objects else "")
            self.spool.write(json.dumps(misp.pattern_object(attr), ensure_ascii=False, separators=(",", ":")))
            self.objects += 1
            return
        if self.count:
            self.out.write(",\n")
        self.out.write(json.dumps(attr, ensure_ascii=False, separators=(",", ":")))
        self.count += 1

    def close(self) -> None:
        self.out.write('\n], "Object": [\n')
        self.spool.seek(0)
        while chunk := self.spool.read(1 << 20):
            self.out.write(chunk)
        self.spool.close()
        self.out.write("\n]}}\n")
