"""Land records received from elsewhere: verify each, check its chain link, hold gaps, keep evidence.

:func:`ingest` is what ``cbm bundle import`` calls with a bundle's contents in (author, seq) order. Everything
lands in one transaction or nothing does; the only write that survives a refusal is equivocation evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import overload

from cbm.core import clock
from cbm.core.errors import ChainBroken, Equivocation
from cbm.core.records import Record, verify_record
from cbm.core.rosters import KIND as ROSTER_KIND
from cbm.store.db import Store, record_from_row
from cbm.store.indexes import bulk_landing
from cbm.store.rosters import RosterChange, reconcile
from cbm.store.trust import apply_key_record


@dataclass(frozen=True)
class WithheldRange:
    """Records the sender may not show us: known only by position, and the hash of the last one."""

    author: str
    first_seq: int
    last_seq: int
    last_hash: str


class LandedRecords(Sequence[Record]):
    """The records an import landed, in landing order, read back from the store one at a time.

    Only (hash, author) pairs are kept: a 1M-indicator bundle lands ~200 records of ~1 MB whose parsed bodies
    would otherwise all stay in memory until the import hooks have run (1.5 GB measured by the benchmark).
    """

    def __init__(self, store: Store | None = None, entries: list[tuple[str, str, str]] | None = None) -> None:
        self._store = store
        self._entries: list[tuple[str, str, str]] = entries if entries is not None else []  # hash, author, kind

    def append(self, record: Record) -> None:
        self._entries.append((record.hash, record.author, record.kind))

    def of_kinds(self, prefix: str) -> LandedRecords:
        """Only the records whose kind starts with ``prefix`` (chosen without reading any back)."""
        return LandedRecords(self._store, [e for e in self._entries if e[2].startswith(prefix)])

    def entries(self) -> list[tuple[str, str, str]]:
        """(hash, author, kind) of every landed record, in landing order (nothing read back)."""
        return list(self._entries)

    def by_author(self) -> dict[str, int]:
        """How many records landed per author (without reading any back)."""
        counts: dict[str, int] = {}
        for _, author, _ in self._entries:
            counts[author] = counts.get(author, 0) + 1
        return counts

    def excluding(self, author: str) -> LandedRecords:
        """The same view without ``author``'s records (e.g. our own, coming back from a peer)."""
        return LandedRecords(self._store, [e for e in self._entries if e[1] != author])

    def _load(self, digest: str) -> Record:
        if self._store is None:
            raise LookupError("landed records are read from their store, and this view has none")
        return self._store.get(digest)

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self._load(digest) for digest, _, _ in self._entries[index]]
        return self._load(self._entries[index][0])

    def __iter__(self) -> Iterator[Record]:
        for digest, _, _ in self._entries:
            yield self._load(digest)


@dataclass
class IngestReport:
    landed: LandedRecords = field(default_factory=LandedRecords)
    duplicates: int = 0
    withheld_new: int = 0
    held: list[tuple[str, int]] = field(default_factory=list)
    # author -> (first missing seq, last missing seq) for records held behind a gap
    missing: dict[str, tuple[int, int]] = field(default_factory=dict)
    roster_changes: list[RosterChange] = field(default_factory=list)  # introduced keys a roster changed

    @property
    def changed(self) -> bool:
        return bool(self.landed or self.withheld_new or self.held)


def _known_hash(store: Store, author: str, seq: int, batch: dict[tuple[str, int], str]) -> str | None:
    """Hash of (author, seq) as far as we know it: landed, withheld, or landed earlier in this batch."""
    if (author, seq) in batch:
        return batch[(author, seq)]
    row = store.conn.execute("SELECT hash FROM records WHERE author = ? AND seq = ?", (author, seq)).fetchone()
    if row:
        return str(row[0])
    row = store.conn.execute("SELECT last_hash FROM withheld WHERE author = ? AND last_seq = ?",
                             (author, seq)).fetchone()
    return str(row[0]) if row else None


def ingest(store: Store, items: Iterable[bytes | WithheldRange], *, source: str | None = None,
           finish: Callable[[IngestReport], None] | None = None,
           bulk_authors: Iterable[str] = (), bulk_bytes: int = 0) -> IngestReport:
    """Verify and land ``items`` (envelope bytes or withheld ranges, in (author, seq) order) atomically.

    ``finish``, if given, runs inside the same transaction after the last item (e.g. to write a receipt), so
    it commits with the records or not at all. ``bulk_authors``: a large landing of these authors' records
    (about ``bulk_bytes``) follows, a peer's feed: indexes may fold it in bulk (:func:`cbm.store.indexes.bulk_landing`).
    Raises (and lands nothing): UnknownSigner/RevokedKey (3), BadSignature/ChainBroken/Equivocation (1),
    MalformedInput (4). Equivocation evidence is kept even though the import is refused.
    """
    try:
        with store.transaction():
            with bulk_landing(store.conn, bulk_authors, bulk_bytes) if bulk_authors else nullcontext():
                report = _ingest(store, items)
            if finish is not None:
                finish(report)
            return report
    except Equivocation as e:
        evidence = getattr(e, "record", None)
        if isinstance(evidence, Record):
            store.record_equivocation(evidence, source)
        raise


def _ingest(store: Store, items: Iterable[bytes | WithheldRange]) -> IngestReport:
    report = IngestReport(landed=LandedRecords(store))
    batch: dict[tuple[str, int], str] = {}
    now = clock.now_iso()
    for item in items:
        if isinstance(item, WithheldRange):
            have = store.conn.execute(
                "SELECT COUNT(*) FROM records WHERE author = ? AND seq BETWEEN ? AND ?",
                (item.author, item.first_seq, item.last_seq)).fetchone()[0]
            known = _known_hash(store, item.author, item.last_seq, batch)
            if known is not None and known != item.last_hash:
                raise ChainBroken(f"withheld range {item.author} {item.first_seq}-{item.last_seq} "
                                  f"contradicts the record we hold at seq {item.last_seq}")
            if have == 0 and known is None:
                store.conn.execute(
                    "INSERT OR IGNORE INTO withheld (author, first_seq, last_seq, last_hash) VALUES (?, ?, ?, ?)",
                    (item.author, item.first_seq, item.last_seq, item.last_hash))
                report.withheld_new += 1
            batch[(item.author, item.last_seq)] = item.last_hash
            continue
        record = verify_record(item, store)
        existing = _known_hash(store, record.author, record.seq, batch)
        if existing == record.hash:
            report.duplicates += 1
            continue
        if existing is not None:
            error = Equivocation(f"{record.author} signed two different records with seq {record.seq} "
                                 f"({existing[:12]} and {record.hash[:12]})",
                                 hint="both are kept as evidence; see `cbm status`")
            error.record = record  # type: ignore[attr-defined]
            raise error
        if _land_or_hold(store, record, batch, report, now):
            _release_held(store, record.author, batch, report)
    if any(kind == ROSTER_KIND for _, _, kind in report.landed.entries()):
        report.roster_changes = reconcile(store).changes
    _report_gaps(store, report)
    return report


def _land_or_hold(store: Store, record: Record, batch: dict[tuple[str, int], str], report: IngestReport,
                  now: str) -> bool:
    """Land ``record`` if its predecessor is known (checking the link), else hold it. True if landed."""
    if record.seq > 1:
        before = _known_hash(store, record.author, record.seq - 1, batch)
        if before is None:
            store.conn.execute(
                "INSERT OR IGNORE INTO held (author, seq, hash, envelope, received) VALUES (?, ?, ?, ?, ?)",
                (record.author, record.seq, record.hash, record.envelope, now))
            report.held.append((record.author, record.seq))
            return False
        if before != record.prev:
            raise ChainBroken(f"{record.author} record {record.seq} does not link to record {record.seq - 1} "
                              f"(prev {str(record.prev)[:12]}, expected {before[:12]})")
    store.land([record])
    if record.kind.startswith("keys."):
        apply_key_record(store, record)
    batch[(record.author, record.seq)] = record.hash
    report.landed.append(record)
    return True


def _release_held(store: Store, author: str, batch: dict[tuple[str, int], str], report: IngestReport) -> None:
    """Land held records of ``author`` whose gap has just closed, in seq order."""
    while True:
        head = store.head(author)
        if head is None:
            return
        row = store.conn.execute("SELECT envelope, received FROM held WHERE author = ? AND seq = ?",
                                 (author, head[0] + 1)).fetchone()
        if row is None:
            return
        store.conn.execute("DELETE FROM held WHERE author = ? AND seq = ?", (author, head[0] + 1))
        record = verify_record(row[0], store)
        if (record.author, record.seq) in report.held:
            report.held.remove((record.author, record.seq))
        if record.prev != head[1]:
            # a fork: its author also signed another record at head[0]. Refusing would refuse every future
            # import that closes this gap; keep it as equivocation evidence instead (`cbm status` shows it).
            store.conn.execute(
                "INSERT OR IGNORE INTO equivocations (author, seq, hash, envelope, detected, source)"
                " VALUES (?, ?, ?, ?, ?, ?)", (record.author, record.seq, record.hash, record.envelope,
                                               clock.now_iso(), "held record that does not link"))
            return
        _land_or_hold(store, record, batch, report, row[1])


def _report_gaps(store: Store, report: IngestReport) -> None:
    report.missing = missing_ranges(store)


def missing_ranges(store: Store) -> dict[str, tuple[int, int]]:
    """For each author with held records: the exact seq range still missing before the first held one."""
    result = {}
    for author, first_held in store.conn.execute("SELECT author, MIN(seq) FROM held GROUP BY author"):
        head = store.head(author)
        result[author] = ((head[0] if head else 0) + 1, first_held - 1)
    return result


def held_records(store: Store) -> list[Record]:
    return [record_from_row(env, "") for (env,) in store.conn.execute(
        "SELECT envelope FROM held ORDER BY author, seq")]
