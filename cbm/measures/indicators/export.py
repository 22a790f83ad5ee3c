"""``cbm indicators export``: the selected indicators streamed as UTF-8 bytes to a STIX 2.1 bundle, CSV, a
plain list, Suricata rules or a MISP event.

The index gives, in landing order, where each selected indicator lives (its batch record and position), whether
it is revoked and its version number; everything else is read from the signed batch record itself, parsed once
for all of its rows (cache.py), and each format encodes a whole run of rows of one record at once
(docs/adr/0200-exports-write-bytes.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter
from typing import IO, Any

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.memory import cycle_collector_paused
from cbm.core.tlp import TLP_LABELS, tlp_rank
from cbm.measures.indicators import checks, model, queries
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.cache import Batch, BatchReader
from cbm.measures.indicators.formats.jsonbytes import ByteSink
from cbm.measures.indicators.position_runs import position_runs
from cbm.measures.indicators.spool import ThreadedWriter
from cbm.store.db import Store
from cbm.store.record_rows import record_from_row

SENSITIVE_TLPS = ("AMBER", "AMBER+STRICT", "RED")
# Exports a firewall or an IDS sensor enforces: flagged indicators stay out of them unless asked for, and an
# indicator matching every address never goes in (docs/adr/0191-flagged-indicators-in-exports.md).
ENFORCING_FORMATS = ("txt", "csv", "suricata")
NEVER_ENFORCED = (checks.ALL_ADDRESSES,)

# One selected indicator as the index gives it: (rec, pos, revoked 1/0, versions).
Pick = tuple[int, int, int, int]
# A run: consecutive selected indicators of one batch record, with the record.
Run = tuple[Batch, list[Pick]]
# A run as the STIX export reads it: the batch record, the positions of its selected rows in order, and whether
# each is revoked (1 or 0).
PositionRun = tuple[Batch, list[int], list[int]]
# Objects written right after an indicator in a STIX export from the fields a row carries after the STIX
# indicator's own (its origin and AS number: docs/adr/0193-indicator-origin.md): a function of the indicator's
# batch and row, returning STIX objects to write after it. Called only for rows of batches where some row
# carries one of those fields.
PerIndicator = Callable[[Batch, list[Any]], Iterable[dict[str, Any]]]
_ORIGIN_FIELDS = itemgetter(R.ORIGIN, R.ASN)


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
def export(store: Store, f: queries.Filter, fmt: str, out: IO[bytes], *, sid_base: int | None = None,
           include_flagged: bool = False, on_progress: Callable[[int], None] | None = None,
           progress: Callable[[int, int], None] | None = None) -> ExportResult:
    """Stream the selected indicators to ``out`` (a binary stream: UTF-8 text) in ``fmt`` (stix, csv, txt,
    suricata, misp).

    In the enforcing formats (txt, csv, suricata) indicators flagged by the landing checks are left out and
    counted, unless ``include_flagged``; those matching every address are left out even then. STIX and MISP
    keep flagged indicators and mark them. ``on_progress(handled)`` or ``progress(handled, total)`` (the total
    counted from the index first) hear the count every 10,000 indicators or so. Raises UsageError (unknown
    format, bad sid base), StoreCorrupt (a stored record no longer parses)."""
    from cbm.measures.indicators.formats import EXPORT_FORMATS

    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}", hint="one of " + ", ".join(EXPORT_FORMATS))
    result = ExportResult(fmt, 0, {}, {})
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
    total = 0
    if progress is not None:
        total = store.query(queries.count, f._replace(limit=None))
        total = min(total, f.limit) if f.limit is not None else total
        progress(0, total)
        on_progress = _of_total(progress, total)
    counter = _Progress(result, on_progress)
    with ThreadedWriter(out) as sink:
        if fmt == "txt":  # from the index alone: no record is read
            _export_txt(store.query(queries.values, f), sink, result, counter)
        elif fmt == "stix":
            from cbm.measures.indicators.formats.stix_origin import OriginObjects

            origins = OriginObjects()  # an indicator's origin territory: docs/adr/0193-indicator-origin.md
            _export_stix(store, f, _position_runs(store, f), sink, result, counter,
                         (lambda batch, row: origins.of(batch.author, batch.tlp, row, batch.created),),
                         origins.written)
        else:
            runs = _runs(store, f)
            if fmt in ENFORCING_FORMATS:
                runs = _never_everything(runs, result)
            if fmt == "csv":
                _export_csv(runs, sink, counter)
            elif fmt == "suricata":
                _export_suricata(runs, sink, result, counter, sid_base)
            else:
                _export_misp(store, f, runs, sink, result, counter)
    if progress is not None:
        progress(total, total)
    return result


def _of_total(progress: Callable[[int, int], None], total: int) -> Callable[[int], None]:
    return lambda done: progress(done, total)


def _runs(store: Store, f: queries.Filter) -> Iterator[Run]:
    """The indicators ``f`` selects, in landing order, in runs of consecutive ones from one batch record."""
    reader = BatchReader(store)
    for rec, picks in groupby(store.query(queries.positions, f), key=itemgetter(0)):
        yield reader.get(rec), list(picks)


def _position_runs(store: Store, f: queries.Filter) -> Iterator[PositionRun]:
    """The indicators ``f`` selects, in landing order, in runs from one batch record: (batch, positions, revoked
    flags), read a range of the index at a time (position_runs.py)."""
    reader = BatchReader(store)
    for rec, positions, revoked in store.query(position_runs, f):
        yield reader.get(rec), positions, revoked


def _never_everything(runs: Iterator[Run], result: ExportResult) -> Iterator[Run]:
    """``runs`` without any indicator whose value is a range of every address, whatever the index says (a
    second line of defence behind the landing checks' flag)."""
    for batch, picks in runs:
        rows = batch.rows
        kept = [p for p in picks if not _every_address(rows[p[1]])]
        result.all_addresses_left_out += len(picks) - len(kept)
        if kept:
            yield batch, kept


def _every_address(row: list[Any]) -> bool:
    value = row[R.VALUE]
    return type(value) is str and value.endswith("/0") and row[R.TYPE] in ("ipv4-addr", "ipv6-addr")


class _Progress:
    """Counts what an export writes (in ``result``) and reports progress every 10,000 indicators or so."""

    def __init__(self, result: ExportResult, on_progress: Callable[[int], None] | None) -> None:
        self.result = result
        self.on_progress = on_progress
        self.seen = 0
        self.next_report = 10000

    def written(self, tlp: str, n: int) -> None:
        """``n`` indicators labelled ``tlp`` written."""
        if n:
            self.result.written += n
            self.result.by_tlp[tlp] = self.result.by_tlp.get(tlp, 0) + n

    def passed(self, n: int) -> None:
        """``n`` more indicators handled (written or skipped)."""
        self.seen += n
        if self.on_progress and self.seen >= self.next_report:
            self.on_progress(self.seen)
            self.next_report = self.seen - self.seen % 10000 + 10000


def _carries_origin(batch: Batch) -> bool:
    """Whether some row of ``batch`` carries an origin or an AS number (a feed without origins has none: its
    signed rows end before the origin cell)."""
    if max(map(len, batch.signed_rows), default=0) <= R.ORIGIN:
        return False
    return any(map(any, map(_ORIGIN_FIELDS, batch.rows)))


def _after(batch: Batch, per_indicator: Sequence[PerIndicator]) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """The objects ``per_indicator`` adds after each of ``batch``'s rows."""
    return lambda row: [obj for extra in per_indicator for obj in extra(batch, row)]


def _export_csv(runs: Iterator[Run], out: ByteSink, progress: _Progress) -> None:
    from cbm.measures.indicators.formats import csv as csv_format

    out.write(csv_format.header_line().encode("utf-8"))
    for batch, picks in runs:
        rows = batch.rows
        out.write(csv_format.export_lines(batch.author, batch.tlp, [(rows[pos], revoked)
                                                                    for _, pos, revoked, _ in picks]))
        progress.written(batch.tlp, len(picks))
        progress.passed(len(picks))


def _export_txt(values: Iterator[tuple[str, str | None, str]], out: ByteSink, result: ExportResult,
                progress: _Progress) -> None:
    from cbm.measures.indicators.formats import plain

    skipped = 0
    for chunk in iter(lambda: list(islice(values, 10000)), []):
        text = []
        by_tlp: dict[str, int] = {}
        for kind, value, tlp in chunk:
            if value is not None and kind in ("ipv4-addr", "ipv6-addr") and value.endswith("/0"):
                result.all_addresses_left_out += 1
                continue
            line = plain.export_line([None, kind, value])
            if line is None:
                skipped += 1
                continue
            text.append(line)
            by_tlp[tlp] = by_tlp.get(tlp, 0) + 1
        out.write("".join(text).encode("utf-8"))
        for tlp, n in by_tlp.items():
            progress.written(tlp, n)
        progress.passed(len(chunk))
    if skipped:
        result.skipped["free STIX patterns"] = skipped


def _export_suricata(runs: Iterator[Run], out: ByteSink, result: ExportResult, progress: _Progress,
                     sid_base: int | None) -> None:
    from cbm.measures.indicators.formats import suricata

    try:
        sids = suricata.SidAllocator(sid_base or suricata.DEFAULT_SID_BASE)
    except ValueError as e:
        raise UsageError(str(e)) from e
    for batch, picks in runs:
        rows, author = batch.rows, batch.author
        text: list[str] = []
        written = 0
        for _, pos, _, versions in picks:
            row = rows[pos]
            why = suricata.why_not(row)
            if why:
                result.skipped[why] = result.skipped.get(why, 0) + 1
                continue
            made, why = suricata.rules(author, row, sids.sid(author, row[R.ID]), versions)
            if why:  # a value too long for a rule: its sid is spent, none is ever reused
                result.skipped[why] = result.skipped.get(why, 0) + 1
                continue
            text.extend(made)
            written += 1
        out.write("".join(text).encode("utf-8"))
        progress.written(batch.tlp, written)
        progress.passed(len(picks))
    result.sid_collisions = sids.collisions


def _export_misp(store: Store, f: queries.Filter, runs: Iterator[Run], out: ByteSink, result: ExportResult,
                 progress: _Progress) -> None:
    from cbm.measures.indicators.formats import misp

    present = store.query(queries.tlps_present, f)
    top = max(present, key=tlp_rank) if present else "GREEN"
    writer = misp.EventWriter(out, store.party, f"cbm indicators export by {store.party}", clock.now_iso(), top)
    flags = store.query(queries.all_flags) if result.flagged_included else None
    context = misp.Context()
    for batch, picks in runs:
        rows, author, tlp, modified = batch.rows, batch.author, batch.tlp, batch.created
        for _, pos, _, _ in picks:
            row = rows[pos]
            attr = misp.attribute(author, tlp, row, modified, context.galaxies(batch.rec, batch.objects, row[R.ID]))
            if flags is not None:
                misp.mark_flagged(attr, flags.get((row[R.ID], author), []))
            writer.write(attr)
        progress.written(tlp, len(picks))
        progress.passed(len(picks))
    writer.close()


def _export_stix(store: Store, f: queries.Filter, runs: Iterator[PositionRun], out: ByteSink, result: ExportResult,
                 progress: _Progress, per_indicator: Sequence[PerIndicator] = (),
                 written_ids: set[str] | frozenset[str] = frozenset()) -> None:
    """A closed bundle: the indicators (each followed by what ``per_indicator`` adds for it), then exactly the
    related objects, sightings, identities and markings they reach (docs/adr/0161-closed-stix-exports.md), then
    cbm's extension definition."""
    from cbm.measures.indicators.formats import stix, stix_extension
    from cbm.measures.indicators.formats.closure import Closure
    from cbm.measures.indicators.formats.stix_lines import BundleWriter, IndicatorEncoder
    from cbm.store.trust import list_keys

    seed = f"{store.party}|{f}|{store.head(store.party)}"
    writer = BundleWriter(out, model.object_id("bundle", seed))
    names: dict[str, str] = {}
    for key in list_keys(store):
        names.setdefault(key.party, key.name)
    parties: set[str] = set()
    tlps: set[str] = set()
    closure = Closure()
    offered: set[int] = set()
    listed: set[str] | None = set() if f.limit is not None else None  # with --limit, a match may not be written
    encoder = IndicatorEncoder()
    for batch, positions, revoked in runs:
        if per_indicator and _carries_origin(batch):  # the hook reads a row's origin cells: padded rows
            rows, after = batch.rows, _after(batch, per_indicator)
        else:
            rows, after = batch.signed_rows, None
        writer.run(encoder.run(encoder.version(batch.author, batch.tlp, batch.created), rows, positions, revoked,
                               after))
        parties.add(batch.author)
        tlps.add(batch.tlp)
        if listed is not None:
            listed.update(rows[pos][R.ID] for pos in positions)
        if batch.rec not in offered:
            offered.add(batch.rec)
            for obj in batch.objects:
                closure.offer(obj)
        progress.written(batch.tlp, len(positions))
        progress.passed(len(positions))

    def written(ref: str) -> bool:
        if not ref.startswith("indicator--"):
            return False
        if listed is not None:
            return ref in listed
        return any(store.query(queries.selected, r, f) for r in store.query(queries.get, ref))

    party_of_identity = {model.identity_id(party): party for party in names}
    tlp_of_marking = {marking: label for label, marking in model.TLP_MARKING_IDS.items()}
    objects, supplied = closure.close(
        written, lambda ref: ref in party_of_identity or ref in tlp_of_marking)
    objects = [obj for obj in objects if obj.get("id") not in written_ids]  # written with their indicators
    for obj in objects:
        writer.write(obj)
    result.objects = len(objects)
    for envelope, keyid in store.query(queries.sighting_records):
        record = record_from_row(envelope, keyid)
        sid = record.body.get("ref")
        matching = [r for r in store.query(queries.get, str(sid)) if store.query(queries.selected, r, f)]
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
