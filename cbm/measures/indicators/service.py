"""What ``cbm indicators`` does: add, import, list, search, show, revoke, sighting, export, stats.

Each function takes an open Store and returns a result dataclass; nothing here prints. Bulk paths (import,
list, export) stream: rows go from the reader through the batch writer, or from the index through the
record cache to the writer, without building one object per indicator beyond a short-lived dict.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cbm.core import clock, stdio
from cbm.core.errors import IllegalTransition, MalformedInput, NotFound, UsageError
from cbm.core.memory import cycle_collector_paused
from cbm.core.tlp import check_tlp
from cbm.measures.indicators import authorship, model, queries, records
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.batches import maker_for
from cbm.measures.indicators.cache import RecordCache
from cbm.measures.indicators.export import ExportResult, export, sensitive_tlps  # noqa: F401  (re-exported)
from cbm.measures.indicators.formats import Defaults, Item, LineError, ReadNotes, build_row, guess_format
from cbm.measures.indicators.query import (  # noqa: F401  (re-exported: the service is the one entry point)
    Listing,
    SearchHit,
    SearchResult,
    listing,
    make_filter,
    resolve,
    search,
)
from cbm.measures.indicators.shown import Shown, Version, show  # noqa: F401  (re-exported: the CLI's entry point)
from cbm.measures.indicators.stats import stats  # noqa: F401  (re-exported: the CLI's entry point)
from cbm.measures.indicators.writer import KIND_REVOKE, KIND_SIGHTING, BatchWriter, WriteReport
from cbm.store.db import Store

MAX_REPORTED_ERRORS = 1000


class BadLines(MalformedInput):
    """An import found bad lines; nothing was imported. ``errors`` lists every one."""

    def __init__(self, errors: list[LineError], total: int) -> None:
        units = {error.where for error in errors}  # a CSV's lines, a STIX bundle's objects, a MISP event's attributes
        #: what was bad: "line", "object", "attribute", "item" (several kinds), or "file" (the file as a whole)
        self.unit = units.pop() if len(units) == 1 else "item"
        if self.unit == "file":  # not JSON, no objects list, not an event: no good part to keep
            super().__init__(f"nothing imported: {errors[0].message}",
                             hint="is it the file you meant, and its --format?")
        else:
            first = f" (first: {errors[0]})" if errors else ""
            super().__init__(f"{total} bad {self.unit}(s); nothing imported{first}",
                             hint=f"fix them, or pass --skip-invalid to import the good {self.unit}s only")
        self.errors = errors
        self.total = total


# -- options shared by add and import --------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    tlp: str | None = None
    to: tuple[str, ...] = ("*",)
    confidence: int | None = None
    valid_until: str | None = None
    sectors: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    indicator_types: tuple[str, ...] = ()
    origin: str | None = None  # origin territory (ISO 3166-1 alpha-2) for indicators that give none
    asn: str | None = None  # origin AS number (64500 or AS64500) for indicators that give none


def _defaults(store: Store, opts: Options) -> Defaults:
    config = store.config.get("indicators", {})
    tlp = check_tlp(opts.tlp) if opts.tlp else check_tlp(str(config.get("default_tlp", "GREEN")))
    from cbm.measures.indicators.formats import parse_asn, parse_origin

    try:
        origin = parse_origin(opts.origin) if opts.origin is not None else None
        asn = parse_asn(opts.asn) if opts.asn is not None else None
    except model.BadValue as e:
        raise UsageError(str(e)) from e
    try:
        sectors = tuple(model.check_sector(s) for s in opts.sectors)
        until = clock.iso(clock.parse_time(opts.valid_until, what="--valid-until")) if opts.valid_until else None
    except model.BadValue as e:
        raise UsageError(str(e), hint="see `cbm indicators add --help` for the sector list") from e
    if opts.confidence is not None and not 0 <= opts.confidence <= 100:
        raise UsageError(f"--confidence {opts.confidence} is outside 0-100")
    from cbm.store.trust import list_keys

    others = frozenset(model.identity_id(key.party) for key in list_keys(store) if key.party != store.party)
    return Defaults(author=store.party, tlp=tlp, tlp_forced=opts.tlp is not None, confidence=opts.confidence,
                    valid_until=until, sectors=sectors, labels=opts.labels,
                    indicator_types=opts.indicator_types, now=clock.now_iso(), others=others, origin=origin,
                    asn=asn)


# -- add -------------------------------------------------------------------------------------------------


@dataclass
class AddResult:
    id: str
    type: str
    value: str | None
    action: str  # created | updated | unchanged
    tlp: str
    record: str | None
    flags: list[str] = field(default_factory=list)  # what the landing checks flagged (kept all the same)
    origin: str | None = None  # the territory it appears to originate from, as signed
    asn: int | None = None


def add(store: Store, opts: Options, *, kind: str | None, value: str | None, pattern: str | None,
        name: str | None = None, description: str | None = None, valid_from: str | None = None,
        kill_chain: list[dict[str, str]] | None = None) -> AddResult:
    """Add (or version) one indicator. Raises UsageError for a bad value, type, pattern or time."""
    d = _defaults(store, opts)
    if (value is None) == (pattern is None):
        raise UsageError("give either --value (with --type, or recognised) or --pattern")
    try:
        start = clock.iso(clock.parse_time(valid_from, what="--valid-from")) if valid_from else None
        if pattern is not None:
            row = build_row(d, model.PATTERN_TYPE, "", pattern=pattern, name=name, description=description,
                            valid_from=start, kill_chain=kill_chain)
        else:
            row = build_row(d, model.canonical_type(kind) if kind else "", value or "", name=name,
                            description=description, valid_from=start, kill_chain=kill_chain)
    except model.BadValue as e:
        raise UsageError(str(e)) from e
    to = store.check_recipients(opts.to)
    with store.transaction():
        writer = BatchWriter(store, to)
        writer.add(row, d.tlp)
        report = writer.finish()
    action = "created" if report.created else "updated" if report.updated else "unchanged"
    return AddResult(row[R.ID], row[R.TYPE], row[R.VALUE], action, d.tlp,
                     report.records[0] if report.records else None,
                     store.query(queries.flags, row[R.ID], store.party), *store.query(queries.origin, row[R.ID],
                                                                                       store.party))


# -- import ----------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    source: str
    format: str
    read: int
    created: int
    updated: int
    unchanged: int
    repeated: int
    invalid: int
    records: int
    by_tlp: dict[str, int]
    errors: list[str]
    skipped: dict[str, int]
    kept_objects: dict[str, int]
    ignored_columns: list[str]
    ids: list[str] = field(default_factory=list)
    notices: dict[str, int] = field(default_factory=dict)
    flagged: int = 0  # of the indicators this import created or updated, how many the landing checks flagged
    by_flag: dict[str, int] = field(default_factory=dict)


@cycle_collector_paused()
def import_file(store: Store, path: str, opts: Options, *, fmt: str | None = None, skip_invalid: bool = False,
                kind: str | None = None, on_progress: Callable[[int], None] | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a feed file ('-' = stdin) in one transaction. With bad lines: BadLines (nothing lands) unless
    ``skip_invalid``. Raises NotFound (no file), UsageError (bad options), MalformedInput.

    ``on_progress(read)`` hears how many indicators have been read; for a JSON feed (STIX, MISP) in a regular
    file, ``progress(done, total)`` hears the bytes of the file read so far and its size."""
    import io

    from cbm.measures.indicators import compiled

    d = _defaults(store, opts)
    to = store.check_recipients(opts.to)
    try:
        raw: IO[bytes] = stdio.stdin() if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as e:
        raise NotFound(f"cannot read {path}: {e.strerror}") from e
    with raw:
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
        head = buffered.peek(4096)[:4096]
        fmt = fmt or guess_format(path, head)
        if progress is not None and fmt in ("stix", "misp"):
            on_progress = _bytes_read(buffered, progress) or on_progress
        notes = ReadNotes()
        from cbm.measures.indicators import pipeline

        large = pipeline.large(path)
        parallel = large and pipeline.worthwhile(path, fmt)
        # the landing checks are made before the feed is read: the first time in a store, that compiles the
        # warninglists in a child process (ADR 0245), a fork of this process while it is still small, not while
        # it holds a parsed MISP event or STIX bundle (the benchmark sums both processes' pages); a feed read by
        # a reader process does not wait for that compile, it is read beside it (docs/adr/0285)
        checks_ready = store.query(ix.checks_started)
        if not parallel:
            store.query(ix.checker)  # waits for the compile, if one is under way
        items: Iterator[Any] = iter(()) if parallel else _reader(fmt, buffered, d, notes, kind)
        errors: list[LineError] = []
        invalid = 0
        mark = store.query(queries.last_flag)
        source = Path(path).name if path != "-" else None

        def new_writer() -> BatchWriter:
            expected = _rows_in(path)
            made = BatchWriter(store, to, source=source, on_progress=on_progress, expected_rows=expected,
                               bulk=large and store.query(ix.bulk_pays, expected), large=large)
            made.trusted_rows = fmt in ("csv", "txt")
            return made

        try:
            with store.transaction():
                writer: BatchWriter | None = None
                if parallel:  # the reader process starts under the write lock, once the writer knows its path
                    writer = new_writer()
                    items = pipeline.read(path, fmt, d, _plain_kind(kind), notes,
                                          maker_for(store, writer, source, checks_ready))
                for item in items:
                    if isinstance(item, LineError):
                        if item.where == "file":  # no good part to keep: --skip-invalid does not pass over it
                            raise BadLines([item], 1)
                        invalid += 1
                        if len(errors) < MAX_REPORTED_ERRORS:
                            errors.append(item)
                        continue
                    if writer is None:  # after the reader saw the objects a STIX file carries
                        writer = new_writer()
                    if invalid and not skip_invalid:
                        continue  # keep reading to report every bad line; nothing will land
                    if type(item[0]) is str:  # a message of a reader that makes the batches
                        writer.add_made(item)
                        continue
                    if fmt == "stix":
                        item = _own(store, item, notes)
                    writer.add(item[0], item[1])
                if invalid and not skip_invalid:
                    raise BadLines(errors, invalid)
                if writer is None:
                    writer = BatchWriter(store, to, source=source)
                if notes.objects:
                    writer.objects = _own_objects(d, notes)
                    writer.objects_tlp = d.tlp
                report = writer.finish()
        finally:
            close = getattr(items, "close", None)  # a generator: stop a reader process now, not when freed
            if close is not None:
                close()
            compiled.settle()  # a compile no check waited for (the import failed first): its child reaped
    return _import_result(path, fmt, writer.seen, report, invalid, errors, notes,
                          store.query(queries.flagged_since, mark))


def _held_by_another(store: Store, indicator_id: str) -> bool:
    """Whether another party's signed records hold an indicator under this id."""
    return bool(store.query(ix.held_by_others, indicator_id, store.party))


def _own(store: Store, item: Item, notes: ReadNotes) -> Item:
    """``item``, re-authored under an id of ours if another party holds its id (docs/adr/0165)."""
    if not _held_by_another(store, item[0][R.ID]):
        return item
    row, link = authorship.reauthor(store.party, item[0])
    notes.objects.append(link)
    notes.tell("indicator(s) with another party's id, re-authored under ids of ours (derived-from the original)")
    return Item(row, item[1])


def _own_objects(d: Defaults, notes: ReadNotes) -> list[Any]:
    """The related objects an import keeps, those by another known party re-authored (docs/adr/0165)."""
    objects, count = authorship.reauthor_objects(d.author, notes.objects, d.others, notes.renamed)
    if count:
        notes.tell("related object(s) by another party, re-authored under ids of ours (derived-from the original)",
                   count)
    return objects


def import_objects(store: Store, objects: list[Any], opts: Options, *, source: str, skip_invalid: bool = False,
                   then: Callable[[Any], None] | None = None) -> ImportResult:
    """Import STIX objects already parsed (a TAXII page) by the STIX importer's rules, in one transaction that
    also runs ``then(conn)`` (a pull's cursor lands with its page). Bad objects: BadLines, nothing lands, unless
    ``skip_invalid``. Raises UsageError for bad options."""
    from cbm.measures.indicators.formats import stix

    d = _defaults(store, opts)
    to = store.check_recipients(opts.to)
    notes = ReadNotes()
    items = list(stix.read_objects(objects, d, notes))
    errors = [item for item in items if isinstance(item, LineError)]
    if errors and not skip_invalid:
        raise BadLines(errors[:MAX_REPORTED_ERRORS], len(errors))
    mark = store.query(queries.last_flag)
    with store.transaction() as conn:
        writer = BatchWriter(store, to, source=source)
        for item in items:
            if not isinstance(item, LineError):
                writer.add(*_own(store, item, notes))
        if notes.objects:
            writer.objects = _own_objects(d, notes)
            writer.objects_tlp = d.tlp
        report = writer.finish()
        if then is not None:
            then(conn)
    return _import_result(source, "stix", writer.seen, report, len(errors), errors[:MAX_REPORTED_ERRORS], notes,
                          store.query(queries.flagged_since, mark))


CSV_BYTES_PER_ROW = 130  # a national feed's CSV line, about (132 MB for 1M in the benchmark's feed)


def _rows_in(path: str) -> int:
    """About how many indicators a feed file of this size carries."""
    try:
        return os.path.getsize(path) // CSV_BYTES_PER_ROW
    except OSError:
        return 0


def _bytes_read(stream: IO[bytes], progress: Callable[[int, int], None]) -> Callable[[int], None] | None:
    """A reader's ``on_progress`` that reports the bytes of ``stream`` read (of its size), if it is a file."""
    import os
    import stat

    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return lambda _read: progress(stream.tell(), info.st_size)


def _reader(fmt: str, stream: IO[bytes], d: Defaults, notes: ReadNotes, kind: str | None) -> Iterator[Item | LineError]:
    import io

    from cbm.measures.indicators.formats import csv as csv_format
    from cbm.measures.indicators.formats import misp, plain, stix

    if fmt in ("csv", "txt"):
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape",
                                newline="" if fmt == "csv" else None)
        if fmt == "csv":
            return csv_format.read(text, d, notes)
        return plain.read(text, d, notes, _plain_kind(kind))
    if fmt == "stix":
        return stix.read(stream, d, notes)
    if fmt == "misp":
        return misp.read(stream, d, notes)
    raise UsageError(f"unknown import format {fmt!r}", hint="one of csv, txt, stix, misp")


def _plain_kind(kind: str | None) -> str:
    try:
        return model.canonical_type(kind) if kind else ""
    except model.BadValue as e:
        raise UsageError(str(e)) from e


def _import_result(path: str, fmt: str, read: int, report: WriteReport, invalid: int, errors: list[LineError],
                   notes: ReadNotes, flagged: tuple[int, dict[str, int]]) -> ImportResult:
    if report.merged:
        notes.tell("indicator(s) with a pattern we already hold under another id: kept as that one indicator",
                   report.merged)
    return ImportResult(source=path, format=fmt, read=read, created=report.created, updated=report.updated,
                        unchanged=report.unchanged, repeated=report.repeated, invalid=invalid,
                        records=len(report.records), by_tlp=report.by_tlp, errors=[str(e) for e in errors],
                        skipped=notes.skipped, kept_objects=notes.kept_objects,
                        ignored_columns=notes.ignored_columns, ids=report.ids[:10], notices=notes.notices,
                        flagged=flagged[0], by_flag=flagged[1])


# -- revoke and sighting ---------------------------------------------------------------------------------


@dataclass
class Appended:
    id: str
    author: str
    record: str
    kind: str


def revoke(store: Store, ref: str, reason: str) -> Appended:
    """Revoke one of our indicators (to the audience it went to). Raises IllegalTransition if not ours or
    already revoked, NotFound."""
    rows = resolve(store, ref)
    own = [r for r in rows if r.author == store.party]
    if not own:
        raise IllegalTransition(f"{rows[0].id} is {rows[0].author}'s indicator; only its author can revoke it",
                                hint="report a false positive to its author with `cbm indicators sighting`"
                                     " and a description, or by inquiry")
    r = own[0]
    if r.revoked is not None:
        raise IllegalTransition(f"{r.id} is already revoked")
    record = RecordCache(store).get(r.rec)[0]
    body = records.Revoke.from_body({"ref": r.id, "ids": [r.id], "reason": reason}).to_body()
    made = store.append(KIND_REVOKE, body, to=record.to, tlp=r.tlp)
    return Appended(r.id, r.author, made.hash, KIND_REVOKE)


def sighting(store: Store, ref: str, *, count: int, first_seen: str | None, last_seen: str | None,
             description: str | None = None, author: str | None = None) -> Appended:
    """Report a sighting of an indicator to its author (STIX Sighting). Raises NotFound, UsageError."""
    if count < 1 or count > 999_999_999:
        raise UsageError("--count must be 1 to 999999999")
    rows = resolve(store, ref)
    if author:
        rows = [r for r in rows if r.author == author.upper()] or rows
    peers = [r for r in rows if r.author != store.party]
    r = (peers or rows)[0]
    first = clock.iso(clock.parse_time(first_seen, what="--first-seen")) if first_seen else None
    last = clock.iso(clock.parse_time(last_seen, what="--last-seen")) if last_seen else None
    if first and last and last < first:
        raise UsageError("--last-seen is before --first-seen")
    body: dict[str, Any] = {"ref": r.id, "indicator_author": r.author, "count": count}
    if first:
        body["first_seen"] = first
    if last:
        body["last_seen"] = last
    if description:
        body["description"] = description
    to = (r.author,) if r.author != store.party else RecordCache(store).get(r.rec)[0].to
    made = store.append(KIND_SIGHTING, records.Sighting.from_body(body).to_body(), to=to, tlp=r.tlp)
    return Appended(r.id, r.author, made.hash, KIND_SIGHTING)

