"""``cbm indicators export``: the selected indicators streamed to a STIX 2.1 bundle, CSV, a plain list,
Suricata rules or a MISP event, each read back from its signed record through a small record cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.memory import cycle_collector_paused
from cbm.core.tlp import TLP_LABELS, tlp_rank
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import model, queries
from cbm.measures.indicators.cache import RecordCache
from cbm.store.db import Store, record_from_row

SENSITIVE_TLPS = ("AMBER", "AMBER+STRICT", "RED")


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


@cycle_collector_paused()
def export(store: Store, f: queries.Filter, fmt: str, out: IO[str], *, sid_base: int | None = None,
           on_progress: Callable[[int], None] | None = None) -> ExportResult:
    """Stream the selected indicators to ``out`` in ``fmt`` (stix, csv, txt, suricata, misp)."""
    from cbm.measures.indicators.formats import EXPORT_FORMATS

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint="one of " + ", ".join(EXPORT_FORMATS))
    result = ExportResult(fmt, 0, {}, {})
    cache = RecordCache(store)
    rows = store.query(queries.select, f)
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

        sid = sid_base or suricata.DEFAULT_SID_BASE
        for n, r in enumerate(rows, 1):
            rules, why = suricata.rules(r.author, cache.row(r), sid)
            if why:
                result.skipped[why] = result.skipped.get(why, 0) + 1
                continue
            for rule in rules:
                out.write(rule)
            sid += len(rules)
            _count(result, r, n, on_progress)
    else:
        from cbm.measures.indicators.formats import misp

        present = store.query(queries.tlps_present, f)
        top = max(present, key=tlp_rank) if present else "GREEN"
        writer = misp.EventWriter(out, store.party, f"cbm indicators export by {store.party}",
                                  clock.now_iso(), top)
        for n, r in enumerate(rows, 1):
            writer.write(misp.attribute(r.author, r.tlp, cache.row(r), r.modified))
            _count(result, r, n, on_progress)
        writer.close()
    return result


def _count(result: ExportResult, r: ix.IndicatorRow, n: int, on_progress: Callable[[int], None] | None) -> None:
    result.written += 1
    result.by_tlp[r.tlp] = result.by_tlp.get(r.tlp, 0) + 1
    if on_progress and n % 10000 == 0:
        on_progress(n)


def _export_stix(store: Store, f: queries.Filter, rows: Iterator[ix.IndicatorRow], cache: RecordCache, out: IO[str],
                 result: ExportResult, on_progress: Callable[[int], None] | None) -> None:
    from cbm.measures.indicators.formats import stix
    from cbm.store.trust import list_keys

    seed = f"{store.party}|{f}|{store.head(store.party)}"
    writer = stix.BundleWriter(out, model.object_id("bundle", seed))
    names: dict[str, str] = {}
    for key in list_keys(store):
        names.setdefault(key.party, key.name)
    for party in sorted(names):
        writer.write(stix.identity(party, names[party]))
    for label in TLP_LABELS:
        writer.write(model.tlp_marking(label))
    objects_seen: set[str] = set()
    for n, r in enumerate(rows, 1):
        record, batch = cache.get(r.rec)
        writer.write(stix.indicator(r.author, r.tlp, batch[r.pos], r.modified, r.revoked is not None))
        for obj in record.body.get("objects") or []:
            if isinstance(obj, dict) and obj.get("id") not in objects_seen:
                objects_seen.add(str(obj.get("id")))
                writer.write(obj)
                result.objects += 1
        _count(result, r, n, on_progress)
    for envelope, keyid in store.query(queries.sighting_records):
        record = record_from_row(envelope, keyid)
        sid = record.body.get("ref")
        matching = [r for r in store.query(queries.get, str(sid)) if queries.matches(r, f)]
        if not matching or tlp_rank(record.tlp) > max((tlp_rank(t) for t in f.tlps), default=4):
            continue
        writer.write(stix.sighting(model.sighting_id(record.hash), record.author, str(sid), record.body,
                                   record.created, record.tlp))
        result.sightings += 1
    writer.close()
