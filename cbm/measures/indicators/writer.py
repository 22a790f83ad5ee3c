"""Writing indicators: group rows per TLP into ``indicators.batch`` records, skip unchanged ones, all in one
transaction (an import with a bad line lands nothing)."""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from cbm.core import clock
from cbm.core.bloom import SeenFilter
from cbm.core.canonical import encode_plain
from cbm.core.errors import InputRejected, OversizedInput
from cbm.core.records import (
    MAX_PAYLOAD_BYTES,
    Record,
    build_payload,
    check_header,
    parse_verified_payload,
    record_hash,
    sign_record,
)
from cbm.measures import malformed
from cbm.measures.indicators import feed_cache, queries, row_digest
from cbm.measures.indicators import held as held_index
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.unchanged import UnchangedScreen
from cbm.store.db import Store
from cbm.store.record_rows import record_from_row


def _plain(body: dict[str, Any]) -> bool:
    """True if the body is rows of str/int/None/list-of-str only (no dicts, floats or odd values)."""
    if set(body) - {"fields", "rows", "source"}:
        return False
    for row in body["rows"]:
        for value in row:
            if value is None or type(value) is str:
                continue
            if type(value) is int:
                if abs(value) > 2**53 - 1:
                    return False
                continue
            if type(value) is list and all(type(v) is str for v in value):
                continue
            return False
    return True


def spliced_payload(author: str, body: bytes, header: dict[str, Any]) -> bytes:
    """The canonical payload of a record by ``author`` whose body's canonical bytes are ``body`` and whose other
    header fields are ``header`` (created, kind, prev, seq, tlp, to, v): the bytes ``encode_plain`` gives for
    the whole, without encoding the body again (keys sort as author, body, created...)."""
    head = encode_plain({"author": author, "body": None, **header})
    marker = b',"body":null,'
    at = head.index(marker)  # the first: only the author's code comes before it
    return b"".join((head[:at], b',"body":', body, head[at + len(marker) - 1:]))


KIND_BATCH = "indicators.batch"
KIND_REVOKE = "indicators.revoke"
KIND_SIGHTING = "indicators.sighting"


@dataclass
class WriteReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated: int = 0  # the same indicator again later in the same input
    records: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # first ids written (for add and small imports)
    by_tlp: dict[str, int] = field(default_factory=dict)
    merged: int = 0  # rows whose pattern the author held (or met earlier) under another id: that id kept

    @property
    def written(self) -> int:
        return self.created + self.updated


class BatchWriter:
    """Collects rows and appends them as signed batch records. Use inside ``store.transaction()``.

    ``objects`` (related STIX objects an import carries) go into the first batch record written.
    """

    def __init__(self, store: Store, to: tuple[str, ...], *, source: str | None = None,
                 objects: list[dict[str, Any]] | None = None, batch_size: int = R.MAX_ROWS,
                 on_progress: Callable[[int], None] | None = None, bulk: bool = False,
                 expected_rows: int = 0, large: bool | None = None) -> None:
        self.store = store
        self.expected_rows = expected_rows  # about how many rows the feed holds (0: unknown): sizes the id filter
        self.to = to
        self.source = source
        self.objects = objects or []
        self.objects_tlp = "GREEN"
        # rows from cbm's own CSV and plain-list readers hold only str/int/None/lists of str by construction
        self.trusted_rows = False
        self.batch_size = batch_size
        self.pending: dict[str, dict[str, list[Any]]] = {}
        self.report = WriteReport()
        self.on_progress = on_progress
        self.seen = 0
        self._pair = store.signer()
        head = store.head(store.party)
        self._seq: int = head[0] if head else 0
        self._prev: str | None = head[1] if head else None
        # the current versions' batch records, parsed: a re-import walks them in order, with a few jumps to the
        # records that held an earlier import's held-back rows, so a handful kept avoids re-parsing on each jump
        self._old: OrderedDict[int, tuple[list[list[Any]], str, tuple[str, ...], str]] = OrderedDict()
        held = bool(store.query(ix.holds_any, store.party))
        # The ids this import met (and, in a bulk load into a store holding some of ours, the ids we hold): a
        # row whose id is certainly not among them is certainly new. None: every row is looked up.
        self._seen: SeenFilter | None = None
        # in a bulk load into a store holding some of ours, the values we hold (docs/adr/0280)
        self._held_values: SeenFilter | None = None
        # values the filter of values held may have met twice (for held_digests; None: no such filter was made)
        self._held_twice: list[str] | None = None
        if not held:
            self._seen = SeenFilter(expected_rows)
        elif bulk:
            self._seen, self._held_values, self._held_twice = store.query(held_index.held_filters, store.party,
                                                                          expected_rows)
        # Bulk load (a large feed, docs/adr/0280): the indicator index's own indexes are suspended when the
        # first batch lands and rebuilt once at the end; rows whose id may already have been written in this
        # import or be held, and rows whose value may be held, are held back until then and take the exact path
        # (a few false positives of the filters, and true repeats).
        self._bulk = bulk
        self._suspended = False
        # the page cache the connection had before the bulk load of a fresh feed enlarged it (feed_cache.feed_cache)
        self._cache_before: int | None = None
        if bulk and not held:  # a fresh feed into a store without ours: every batch will land in bulk
            self._suspend()
            self._cache_before = self.store.query(feed_cache.feed_cache)
        self._deferred: list[tuple[list[Any], str]] = []
        # A large feed into a store holding ours (the next day's feed) skips the rows that are the version we hold
        # by their digest, before any look-up (docs/adr/0292, unchanged.py). Worth it for a large feed (``large``:
        # a file the bulk paths take, pipeline.large; by default ``bulk``) unless the store holds far more than
        # comes: loading the digests costs a pass over what we hold.
        large = bulk if large is None else large
        self._screen: UnchangedScreen | None = None
        if held and large and expected_rows * self.SCREEN_RATIO >= store.query(held_index.row_bound):
            self._screen = UnchangedScreen(to, expected_rows, self._held_digests, self._count_unchanged)
        self._filters_handed = False  # the seeded filters went to the reader process (hand_over_filters)
        self._replaying = False  # rows held back, landing at the end: each was screened as it was held back
        from cbm.measures.indicators.dedup import OneIdPerPattern

        # one pattern, one id per author, whatever ids the input brings (docs/adr/0169)
        self.dedup = OneIdPerPattern(store, held_before=held, trusted=False,
                                     load_row=lambda rec, pos: self._old_row(rec, pos)[0])

    def add(self, row: list[Any], tlp: str) -> None:
        self.seen += 1
        self._add(row, tlp)

    def _add(self, row: list[Any], tlp: str) -> None:
        rows = self.pending.setdefault(tlp, {})
        sid = row[R.ID]
        if sid in rows:
            self.report.repeated += 1
        rows[sid] = row
        if len(rows) >= self.batch_size:
            self._flush(tlp)

    def add_many(self, items: Iterable[tuple[list[Any], str]]) -> None:
        for row, tlp in items:
            self.add(row, tlp)

    def hand_over_filters(self) -> tuple[SeenFilter, SeenFilter] | None:
        """The filters of the ids and values we held when this bulk load began (None: we held none, or this is
        no bulk load), for the reader process that makes the batches to start from (docs/adr/0280). This writer
        keeps no reference to them: only the reader asks them from here, in its own copy (it sets bits in every
        page of it, so the pages are not shared for long); the bits it met come back with an ``unbulk``
        (docs/adr/0303). Without them every row the writer groups itself is looked up, as after a ``lookup``."""
        if self._seen is None or self._held_values is None:
            return None
        handed, self._seen, self._held_values = (self._seen, self._held_values), None, None
        self._filters_handed = True
        return handed

    @property
    def takes_made_batches(self) -> bool:
        """Whether this writer can land batches the reader process made (:mod:`cbm.measures.indicators.batches`):
        a bulk load of cbm-made rows, no related objects (docs/adr/0225, 0280)."""
        return self._bulk and self.trusted_rows and not self.objects and not self.pending and not self.seen

    def add_made(self, message: tuple[Any, ...]) -> None:
        """Take one message of a reader that makes the batches (see :mod:`cbm.measures.indicators.batches` for
        what each says), in the order sent: the records land as the rows would have landed through :meth:`add`."""
        tag = message[0]
        if tag == "batch":
            _, tlp, body, count, first_ids, flags, read, repeated = message
            self.seen += read
            self.report.repeated += repeated
            self.report.created += count
            self.report.by_tlp[tlp] = self.report.by_tlp.get(tlp, 0) + count
            if len(self.report.ids) < 100:
                self.report.ids.extend(first_ids[:100 - len(self.report.ids)])
            collecting = gc.isenabled()
            # A batch's parsed body, columns and index rows are some 20,000 containers, all freed by their
            # reference counts once it has landed: the cycle collector, run every 700 allocations, would walk
            # them a dozen times for nothing (a third of the body's parse). It runs again once the batch is in.
            gc.disable()
            try:
                self._append_made(tlp, body, flags)
            finally:
                if collecting:
                    gc.enable()
            if self.on_progress:
                self.on_progress(self.seen)
        elif tag == "held":
            if self._screen is not None and self.trusted_rows:
                self._screen.hold(self._deferred, message[1], self.seen + message[2])
            else:
                self._deferred.extend(message[1])
        elif tag == "unbulk":  # it held back too many: the bulk load ends now, checked by the ids the reader met
            self._seen = SeenFilter.holding(message[1])
            self._end_bulk()
        elif tag == "lookup":  # the feed's end: the reader met every held row's id, so each is looked up
            self._seen = None
        elif tag == "rows":
            _, rows, read, repeated = message
            for row, tlp in rows:
                self.add(row, tlp)
            self.seen += read
            self.report.repeated += repeated
        else:
            raise ValueError(f"unknown message from the reader: {tag!r}")

    def finish(self) -> WriteReport:
        self.dedup.trusted = self.trusted_rows
        for tlp in list(self.pending):  # every id settled before the related objects are written with them
            # screened here, in the order the batches are flushed below, so the index is asked only for the rest
            self.pending[tlp], repeats = self.dedup.collapse(self._without_unchanged(self.pending[tlp], tlp))
            self.report.repeated += repeats
        self.objects = self.dedup.rewrite(self.objects)
        for tlp in list(self.pending):
            self._flush(tlp, screened=True)
        if self._bulk:
            self._end_bulk()  # writes what it held back: nothing is pending after it
        self.report.merged = self.dedup.merged
        self.objects = self.dedup.rewrite(self.objects) + self.dedup.links
        # related objects not yet written: with new indicators, or when the file carries no indicator at all
        if self.objects and (self.report.written or not self.report.unchanged):
            self._append(KIND_BATCH, self.objects_tlp, self._body([]))
        return self.report

    def _body(self, rows: list[list[Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {"fields": list(R.FIELDS), "rows": rows}
        if self.source:
            body["source"] = self.source
        if self.objects:
            body["objects"] = self.objects
            self.objects = []
        return body

    def _flush(self, tlp: str, *, screened: bool = False) -> None:
        rows = self.pending.pop(tlp, {})
        if not rows:
            return
        if not (screened or self._replaying):
            rows = self._without_unchanged(rows, tlp)
        self.dedup.trusted = self.trusted_rows
        if self._bulk and self._filters_handed:
            self._end_bulk()  # a reader's messages bring no such rows: should one, it lands as without bulk
        if self._bulk and self._held_values is not None:
            rows = self._hold_back_held_values(rows, tlp)
        # in a bulk load, no row left here has a value we hold: the index (its indexes suspended) is not asked
        rows, repeats = self.dedup.collapse(rows, held=not self._bulk)
        self.report.repeated += repeats
        if self._seen is not None:
            # only ids we held when this import began (the filter was seeded with them) or met earlier in it can
            # exist already
            candidates = [sid for sid, maybe in zip(rows, self._seen.seen_before(rows), strict=True) if maybe]
            if self._bulk and candidates:
                self._deferred.extend((rows.pop(sid), tlp) for sid in candidates)
                candidates = []
            if self._bulk and len(self._deferred) > self.MAX_DEFERRED:
                self._end_bulk()  # a feed of many repeats (a daily re-import): bulk loading gains nothing
            known = self.store.query(ix.existing, self.store.party, candidates) if candidates else {}
        else:
            known = self.store.query(ix.existing, self.store.party, list(rows))
        if not known:  # a fresh feed's batches: every row is new, so no per-row look-up or merge
            fresh = [row if not row or row[-1] is not None else R.trim(row) for row in rows.values()]
            self.report.created += len(fresh)
            rows = {}
        else:
            fresh = []
        for sid, row in rows.items():
            old = known.get(sid)
            if old is None:
                self.report.created += 1
                fresh.append(row if not row or row[-1] is not None else R.trim(row))
                continue
            previous, label, audience, modified = self._old_row(*old)
            row = R.merge(previous, R.without_echoes(previous, row, modified))
            if R.same_content(previous, row) and label == tlp and audience == self.to:
                self.report.unchanged += 1
                continue
            self.report.updated += 1
            fresh.append(R.trim(row))
        if fresh:
            self.report.by_tlp[tlp] = self.report.by_tlp.get(tlp, 0) + len(fresh)
            if len(self.report.ids) < 100:
                self.report.ids.extend(r[R.ID] for r in fresh[:100 - len(self.report.ids)])
            self._append(KIND_BATCH, tlp, self._body(fresh))
        if self.on_progress:
            self.on_progress(self.seen)

    MAX_DEFERRED = 50_000
    OLD_RECORDS = 8
    # A large feed skips unchanged rows by digest unless the store holds more than this many times the rows it
    # brings: the exact path costs about 30 us a held row, loading the digests under 1 us a row held.
    SCREEN_RATIO = 32

    def _hold_back_held_values(self, rows: dict[str, list[Any]], tlp: str) -> dict[str, list[Any]]:
        """``rows`` without those whose value we may hold, which are held back for the exact path (one pattern,
        one id: such a row may take the id we hold its pattern under, docs/adr/0169). Their ids join the filter
        of ids met, so that a later row with one of them is held back behind it."""
        assert self._held_values is not None and self._seen is not None
        values = [row[R.VALUE] if len(row) > R.VALUE and row[R.VALUE] is not None else "" for row in rows.values()]
        if not self.trusted_rows:  # a source's rows may bring one pattern under two ids: the second is held back
            maybe = self._held_values.seen_before(values)
        else:
            maybe = self._held_values.may_hold(values)
        if True not in maybe:
            return rows
        held = [sid for sid, m in zip(rows, maybe, strict=True) if m]
        self._seen.seen_before(held)
        self._deferred.extend((rows.pop(sid), tlp) for sid in held)
        return rows

    def _end_bulk(self) -> None:
        """Rebuild the suspended indexes, then write the rows held back, now checked against them."""
        self._bulk = False
        if self._suspended:
            if self._cache_before is not None:  # before the sorter sizes its runs by it
                self.store.query(feed_cache.restore_cache, self._cache_before)
                self._cache_before = None
            self.store.query(ix.resume_indexes)
        deferred, self._deferred = self._deferred, []
        stream, self.pending = self.pending, {}  # rows read after the held-back ones land after them
        self._replaying = True  # each was screened for unchanged rows as it was held back, or by none
        if self._screen is not None:
            self._screen.landing()
        try:
            with self.store.query(ix.few_rows_landing):  # at most MAX_DEFERRED: SQLite's cache stays small
                for row, tlp in deferred:
                    sid = row[R.ID]
                    for other in [t for t, rows in self.pending.items() if sid in rows]:
                        # held back from different batches (of any TLP): each is a version of its own, landing in
                        # the order read, as without bulk loading
                        self._flush(other)
                    self._add(row, tlp)
                for tlp in list(self.pending):
                    self._flush(tlp)
        finally:
            self._replaying = False
        self.pending = stream

    def _without_unchanged(self, rows: dict[str, list[Any]], tlp: str) -> dict[str, list[Any]]:
        """``rows`` without those :class:`UnchangedScreen` skips (only cbm-made rows of a large import into a store
        holding ours); the others are returned as they are."""
        return rows if self._screen is None or not self.trusted_rows else self._screen.rows(rows, tlp)

    def _held_digests(self) -> row_digest.HeldDigests:
        return self.store.query(held_index.held_digests, self.store.party, self._held_twice)

    def _count_unchanged(self, rows: int) -> None:
        self.report.unchanged += rows

    def _append_made(self, tlp: str, body: bytes, flags: dict[tuple[str, str | None], list[str]] | None) -> None:
        """Sign and land a batch record whose body's canonical bytes the reader made (and, unless None, the
        landing checks' flags of its rows): the same record :meth:`_append` makes of the same rows."""
        self._seq += 1
        created = clock.now_iso()
        payload = spliced_payload(self.store.party, body, self._header(KIND_BATCH, tlp, created))
        # the body the gate and the index read is parsed back from the signed bytes
        record = self._signed(KIND_BATCH, tlp, created, payload, orjson.loads(body))
        if flags is None:
            self._land(record)
        else:
            with ix.checked_beforehand(record.hash, flags):
                self._land(record)

    def _old_row(self, rec: int, pos: int) -> tuple[list[Any], str, tuple[str, ...], str]:
        """The current version's row, the TLP and audience it went out with, and when it was made."""
        cached = self._old.get(rec)
        if cached is None:
            record = record_from_row(*self.store.query(queries.envelope, rec))
            cached = self._old[rec] = (R.rows_of(record.body), record.tlp, record.to, record.created)
            if len(self._old) > self.OLD_RECORDS:
                self._old.popitem(last=False)
        else:
            self._old.move_to_end(rec)
        return cached[0][pos], cached[1], cached[2], cached[3]

    def _append(self, kind: str, tlp: str, body: dict[str, Any]) -> Record:
        self._seq += 1
        created = clock.now_iso()
        if self.trusted_rows and set(body) <= {"fields", "rows", "source"} or _plain(body):
            # Rows cbm built itself hold only str/int/None/lists of str: encode them directly (the same bytes
            # canonical_bytes gives, without its per-value walk) and keep the body we already have.
            payload = encode_plain({"author": self.store.party, "body": body, **self._header(kind, tlp, created)})
            record = self._signed(kind, tlp, created, payload, body)
        else:
            payload = build_payload(author=self.store.party, seq=self._seq, prev=self._prev, created=created,
                                    kind=kind, to=self.to, tlp=tlp, body=body)
            record = parse_verified_payload(sign_record(payload, kind, self._pair), payload, self._pair.keyid)
        self._land(record)
        return record

    def _header(self, kind: str, tlp: str, created: str) -> dict[str, Any]:
        """The next record's fields other than author and body, checked (ValueError on a bad one)."""
        check_header(self.store.party, self._seq, self._prev, created, kind, list(self.to), tlp)
        return {"created": created, "kind": kind, "prev": self._prev, "seq": self._seq, "tlp": tlp,
                "to": list(self.to), "v": 1}

    def _signed(self, kind: str, tlp: str, created: str, payload: bytes, body: dict[str, Any]) -> Record:
        """The record of our canonical ``payload`` (whose body is ``body``), signed; OversizedInput past the
        record size limit."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise OversizedInput("an indicator batch exceeds the record size limit; use fewer rows per batch")
        return Record(envelope=sign_record(payload, kind, self._pair), payload=payload, hash=record_hash(payload),
                      author=self.store.party, seq=self._seq, prev=self._prev, created=created, kind=kind,
                      to=self.to, tlp=tlp, body=body, keyid=self._pair.keyid)

    def _suspend(self) -> None:
        """Suspend the indexes on ``ind`` for the rest of this bulk load (:func:`ix.suspend_indexes`). Into a
        store holding some of ours this waits for the first batch to land in bulk: a daily re-import, whose
        first rows are all held, ends its bulk load before that and rebuilds nothing (docs/adr/0280)."""
        self.store.query(ix.suspend_indexes, self.store.party)  # other parties' ids stay findable (import_file)
        self._suspended = True

    def _land(self, record: Record) -> None:
        if self._bulk and not self._suspended:  # the first batch of a bulk load into a store holding ours
            self._suspend()
        self.store.land([record])
        # the gate judged it as it landed (a look-up by hash): a batch of our own that breaks the rules we hold a
        # peer's to would be signed evidence against us and fold nowhere; the readers refuse such lines first
        # (formats.row_text), so this is the last guard: the import fails and its transaction rolls back
        why = malformed.reason(record)
        left_out = malformed.left_out(record) if why is None else None  # a row we would fold nowhere (ADR 0269)
        why = why if left_out is None else left_out.reason
        if why is not None:
            raise InputRejected(f"cbm made an indicator record that breaks its own record rules ({why}); "
                                "nothing was imported")
        self._prev = record.hash
        self.report.records.append(record.hash)
