"""Land records received from elsewhere: verify each, check its chain link, hold gaps, keep evidence.

:func:`ingest` is what ``cbm bundle import`` calls with a bundle's contents in (author, seq) order. Everything
lands in one transaction or nothing does; the only write that survives a refusal is equivocation evidence (two
records signed by one author for one position). Withheld ranges are the sender's claims: hints that the
author's own records override, recorded against the sender when they do (:mod:`cbm.store.claims`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from cbm.core import clock, dsse
from cbm.core.errors import ChainBroken, Equivocation
from cbm.core.records import Record, verify_record
from cbm.store import claims
from cbm.store.claims import Claim
from cbm.store.db import Store
from cbm.store.indexes import bulk_landing
from cbm.store.record_rows import record_from_row
from cbm.store.trust import apply_key_record

if TYPE_CHECKING:  # rosters load when one lands, not for `cbm status` (which reads missing_ranges here)
    from cbm.store.rosters import RosterChange


@dataclass(frozen=True)
class ReadRecord:
    """A record as a bundle reader has read it already: the envelope's bytes, its DSSE parts (the payload
    decoded) and the payload's SHA-256, all from those bytes; its signature NOT checked yet. It lands like its
    envelope bytes would, without decoding, parsing or hashing a feed-sized payload a second time."""

    envelope: bytes
    parsed: dsse.Envelope
    hash: str


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
    # claims about a log that its author's own records contradicted, newly recorded against their claimants
    claims: list[Claim] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.landed or self.withheld_new or self.held or self.claims)


def _record_hash(store: Store, author: str, seq: int, batch: dict[tuple[str, int], str]) -> str | None:
    """Hash of ``author``'s record ``seq`` in our chain (landed, or landed earlier in this batch)."""
    if (author, seq) in batch:
        return batch[(author, seq)]
    return claims.own_hash(store.conn, author, seq)


def ingest(store: Store, items: Iterable[bytes | ReadRecord | WithheldRange], *, source: str | None = None,
           claimant: str | None = None, claim_source: str | None = None,
           finish: Callable[[IngestReport], None] | None = None,
           bulk_authors: Iterable[str] = (), bulk_bytes: int = 0,
           progress: Callable[[int, int], None] | None = None, expected: int = 0) -> IngestReport:
    """Verify and land ``items`` (envelopes, as bytes or already read, or withheld ranges, in (author, seq)
    order) atomically.

    Withheld ranges are ``claimant``'s word (the bundle's sender; ``claim_source`` names the bundle): hints that
    the authors' own records override, never evidence against the authors (:mod:`cbm.store.claims`).
    ``finish``, if given, runs inside the same transaction after the last item (e.g. to write a receipt), so
    it commits with the records or not at all. ``bulk_authors``: a large landing of these authors' records
    (about ``bulk_bytes``) follows, a peer's feed: indexes may fold it in bulk (:func:`cbm.store.indexes.bulk_landing`).
    ``progress(done, total)``, if given, hears as each record is taken up, and once at the end, how many of the
    ``expected`` records have been dealt with (landed, held or found known); it must not raise.
    Raises (and lands nothing): UnknownSigner/RevokedKey (3), BadSignature/ChainBroken/Equivocation (1),
    MalformedInput (4). Equivocation evidence is kept even though the import is refused.
    """
    try:
        with store.transaction():
            with bulk_landing(store.conn, store.indexes, bulk_authors, bulk_bytes) if bulk_authors else nullcontext():
                report = _ingest(store, items, claimant, claim_source, progress, expected)
            if finish is not None:
                finish(report)
            return report
    except Equivocation as e:
        evidence = getattr(e, "record", None)
        if isinstance(evidence, Record):
            store.record_equivocation(evidence, source)
        raise


def _ingest(store: Store, items: Iterable[bytes | ReadRecord | WithheldRange], claimant: str | None,
            claim_source: str | None, progress: Callable[[int, int], None] | None = None,
            expected: int = 0) -> IngestReport:
    report = IngestReport(landed=LandedRecords(store))
    report.claims.extend(claims.forget_own_log(store.conn, store.party))  # stores from before the rule
    batch: dict[tuple[str, int], str] = {}
    now = clock.now_iso()
    done = 0
    for item in items:
        if isinstance(item, WithheldRange):
            _consider_range(store, item, claimant, claim_source, batch, report)
            continue
        if progress is not None:
            progress(done, expected)  # before the record: its landing is the slow part
            done += 1
        record = verify_record(item, store) if isinstance(item, bytes) else \
            verify_record(item.envelope, store, parsed=item.parsed, digest=item.hash)
        existing = _record_hash(store, record.author, record.seq, batch)
        if existing == record.hash:
            report.duplicates += 1
            continue
        if existing is not None:
            error = Equivocation(f"{record.author} signed two different records with seq {record.seq} "
                                 f"({existing[:12]} and {record.hash[:12]})",
                                 hint="both are kept as evidence; see `cbm status`")
            error.record = record  # type: ignore[attr-defined]
            raise error
        covering = claims.hint_covering(store.conn, record.author, record.seq)
        if covering is not None and covering.last_seq == record.seq:
            if covering.last_hash == record.hash and covering.first_seq < record.seq:
                report.duplicates += 1  # known already, as the end of a withheld range
                continue
            if covering.last_hash != record.hash:  # the author's own word wins over the claim
                _note(report, claims.drop_hint(store.conn, covering, f"{record.author}'s own record {record.seq} "
                                                                     f"has hash {record.hash[:12]}"))
                covering = None
        if _land_or_hold(store, record, batch, report, now, covering):
            _release_held(store, record.author, batch, report)
    if progress is not None:
        progress(done, expected)
    from cbm.core.rosters import KIND as ROSTER_KIND  # rosters and cards: not for `cbm status`, which reads here

    if any(kind == ROSTER_KIND for _, _, kind in report.landed.entries()):
        from cbm.store.rosters import reconcile

        report.roster_changes = reconcile(store).changes
    claims.clear_false_evidence(store.conn)
    _report_gaps(store, report)
    return report


def _note(report: IngestReport, claim: Claim | None) -> None:
    if claim is not None:
        report.claims.append(claim)


def _consider_range(store: Store, item: WithheldRange, claimant: str | None, source: str | None,
                    batch: dict[tuple[str, int], str], report: IngestReport) -> None:
    """Keep a withheld range as a hint, unless the author's own signed records contradict it (then it is
    recorded against ``claimant``) or we know those positions already."""
    conn, author, last, digest = store.conn, item.author, item.last_seq, item.last_hash
    if author == store.party:
        _note(report, claims.claim_about_own_log(conn, author, claimant, item.first_seq, last, digest, source))
        return
    problem = None
    ours = _record_hash(store, author, last, batch)
    if ours is not None:
        if ours == digest:
            return  # true, and we hold the record itself
        problem = f"{author}'s own record {last} has hash {ours[:12]}"
    else:
        held, after = _held(store, author, last), _held(store, author, last + 1)
        row = store.conn.execute("SELECT prev FROM records WHERE author = ? AND seq = ?", (author, last + 1)).fetchone()
        after_prev = row[0] if row else after.prev if after else None
        if held is not None and held.hash != digest:
            problem = f"{author}'s own record {last} has hash {held.hash[:12]}"
        elif after_prev is not None and after_prev != digest:
            problem = f"{author}'s own record {last + 1} links to {str(after_prev)[:12]}"
    if problem is not None:
        _note(report, claims.record_claim(conn, claimant, author, item.first_seq, last, digest, source, problem))
        return
    covering = claims.hint_covering(conn, author, last)
    if covering is not None:  # the first claim stands until the author's own records settle it
        if covering.last_seq == last and covering.last_hash == digest and covering.claimant != claimant \
                and (covering.claimant is None or claimant == author):
            claims.confirm_hint(conn, covering, claimant, source)  # the author's own word, or a known claimant
        return
    below = conn.execute(
        "SELECT MAX(s) FROM (SELECT MAX(seq) AS s FROM records WHERE author = ? AND seq BETWEEN ? AND ?"
        " UNION ALL SELECT MAX(last_seq) FROM withheld WHERE author = ? AND last_seq BETWEEN ? AND ?)",
        (author, item.first_seq, last, author, item.first_seq, last)).fetchone()[0]
    first = item.first_seq if below is None else below + 1
    claims.keep_hint(conn, claims.Hint(author, first, last, digest, claimant, source))
    report.withheld_new += 1
    _release_held(store, author, batch, report)


def _held(store: Store, author: str, seq: int) -> Record | None:
    row = store.conn.execute("SELECT envelope FROM held WHERE author = ? AND seq = ?", (author, seq)).fetchone()
    return record_from_row(row[0], "") if row else None


_UNKNOWN = claims.Hint("", 0, 0, "", None, None)  # "not looked up yet", for _land_or_hold's ``covering``


def _land_or_hold(store: Store, record: Record, batch: dict[tuple[str, int], str], report: IngestReport,
                  now: str, covering: claims.Hint | None = _UNKNOWN) -> bool:
    """Land ``record`` if its predecessor is known (checking the link), else hold it. True if landed.

    A predecessor known only by a hint that the record's ``prev`` contradicts: the record wins, the hint goes.
    ``covering``: the hint holding the record's position, when the caller has looked it up already.
    """
    if record.seq > 1:
        before = _record_hash(store, record.author, record.seq - 1, batch)
        if before is None:
            hint = claims.hint_ending_at(store.conn, record.author, record.seq - 1)
            if hint is not None and hint.last_hash != record.prev:
                _note(report, claims.drop_hint(store.conn, hint, f"{record.author}'s own record {record.seq} "
                                                                 f"links to {str(record.prev)[:12]}"))
                hint = None
            before = hint.last_hash if hint is not None else None
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
    if covering is _UNKNOWN:
        covering = claims.hint_covering(store.conn, record.author, record.seq)
    if covering is not None:  # a record we may see after all: the hint keeps only what is still withheld
        claims.trim_hint(store.conn, covering, record.seq)
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
        record = verify_record(row[0], store)
        if record.prev != head[1]:
            hint = claims.hint_ending_at(store.conn, author, head[0])
            if hint is not None:  # only a claim stands against the author's record: the record wins
                _note(report, claims.drop_hint(store.conn, hint, f"{author}'s own record {record.seq} links to "
                                                                 f"{str(record.prev)[:12]}"))
                continue
            # a fork: its author also signed another record at head[0]. Refusing would refuse every future
            # import that closes this gap; keep it as equivocation evidence instead (`cbm status` shows it).
            store.conn.execute("DELETE FROM held WHERE author = ? AND seq = ?", (author, head[0] + 1))
            store.conn.execute(
                "INSERT OR IGNORE INTO equivocations (author, seq, hash, envelope, detected, source)"
                " VALUES (?, ?, ?, ?, ?, ?)", (record.author, record.seq, record.hash, record.envelope,
                                               clock.now_iso(), "held record that does not link"))
            return
        store.conn.execute("DELETE FROM held WHERE author = ? AND seq = ?", (author, head[0] + 1))
        if (record.author, record.seq) in report.held:
            report.held.remove((record.author, record.seq))
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
