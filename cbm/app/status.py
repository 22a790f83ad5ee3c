"""``cbm status``: one screen of who we are, who we trust, what we hold, and what needs attention."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from cbm.app.outbox import Outbox, outboxes
from cbm.app.reactions import attention
from cbm.measures.base import Attention
from cbm.store.trust import list_keys

if TYPE_CHECKING:
    from cbm.measures.malformed import Malformed, Tally
    from cbm.store.claims import Claim
    from cbm.store.db import Store
    from cbm.store.indexes import Connection

# The tables that are empty in a store at peace (nothing held back, no contradicted claim, no malformed peer
# record): ``status`` imports the module that reads one only when it has a row (issue 20: the three modules
# were 7 % of `cbm status`; docs/adr/0242-status-reads-only-tables-that-hold-rows.md).
_OPTIONAL_TABLES = ("claims", "malformed")


class StatusReport(NamedTuple):
    party: str
    name: str
    store: str
    fingerprint: str
    peers: list[dict[str, Any]]
    counts: dict[str, Any]
    missing: dict[str, tuple[int, int]]
    attention: list[Attention]
    # claims a peer made about another party's log that the author's own records contradicted, held against
    # the claimant (docs/adr/0110-claims-about-a-log.md)
    claims: list[Claim]
    # per peer: how many records wait for the next bundle and since when (docs/adr/0146-status-check-and-outbox.md)
    outbox: list[Outbox]
    # well-signed peer records whose bodies break their kind's rules: kept as evidence, folded nowhere
    # (docs/adr/0116-malformed-peer-records.md); the first 1000, and how many there are in all
    malformed: list[Malformed]
    malformed_count: int
    # well-formed indicator batches folded without the rows whose value is not in normal form (ADR 0269): the
    # first 1000, how many such batches there are, and how many rows they leave out in all (docs/adr/0291)
    batches_with_rows_left_out: list[Malformed]
    batches_with_rows_left_out_count: int
    rows_left_out_count: int

    @property
    def needs_attention(self) -> bool:
        """Whether anything is overdue or waits on us (rank 0 or 1): what ``status --check`` alerts on.
        Informational items (rank 2: a sighting this week, a link test due) do not page anyone."""
        return any(item.rank <= 1 for item in self.attention)

    @property
    def summary(self) -> dict[str, Any]:
        """What a monitoring job reads: whether anything needs attention, counts by rank, the first item."""
        ranks = {"overdue": 0, "due": 0, "info": 0}
        for item in self.attention:
            ranks[("overdue", "due", "info")[min(item.rank, 2)]] += 1
        first = self.attention[0] if self.attention else None
        return {"needs_attention": self.needs_attention, "items": len(self.attention), **ranks,
                "first": None if first is None else {"measure": first.measure, "rank": first.rank,
                                                     "text": first.text, "ref": first.ref, "due": first.due},
                "peers_ahead": sum(1 for o in self.outbox if o.ahead),
                "peers_not_sent_to": [o.peer for o in self.outbox if o.overdue]}


def _has_rows(conn: Connection, table: str) -> bool:
    """Whether ``table`` (one of :data:`_OPTIONAL_TABLES`) holds a row: one step into its b-tree."""
    if table not in _OPTIONAL_TABLES:
        raise ValueError(f"not a table status probes: {table}")
    return bool(conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0])


def collect(store: Store) -> StatusReport:
    """Everything ``cbm status`` shows, from one store. Raises UsageError for a bad ``[status]`` setting in
    config.toml, StoreCorrupt (through the store) for a damaged database."""
    keys = list_keys(store)
    own = next(k for k in keys if k.is_self and k.status == "active")
    peers: dict[str, dict[str, Any]] = {}
    for k in keys:
        if k.is_self:
            continue
        entry = peers.setdefault(k.party, {"party": k.party, "name": k.name, "status": k.status,
                                           "fingerprint": k.fingerprint, "trust": k.trust,
                                           "introduced_by": k.introduced_by})
        if k.status == "active" or entry["status"] != "active":
            entry.update(status=k.status, fingerprint=k.fingerprint, trust=k.trust, introduced_by=k.introduced_by)
    counts = store.counts()
    for peer in peers.values():
        peer["records"] = counts["by_author"].get(peer["party"], 0)
    items = list(attention(store, counts["by_measure"]))
    waiting = outboxes(store)
    for box in waiting:
        if box.overdue:
            sent = f"last bundle {box.last_sent}" if box.last_sent else "never sent a bundle"
            items.append(Attention("bundle", 1, f"{box.peer}: ahead by {box.ahead} record(s) since {box.since}; "
                                                f"{sent}: `cbm bundle export --to {box.peer}`", ref=box.peer))
    items.sort(key=lambda a: (a.rank, a.due or "9999"))  # stable: the measures' order stays within a rank
    missing: dict[str, tuple[int, int]] = {}
    if counts["held"]:  # records wait for earlier ones a peer has yet to send
        from cbm.store.ingest import missing_ranges

        missing = missing_ranges(store)
    for author, (first, last) in missing.items():
        items.insert(0, Attention("store", 0, f"{author} records {first}-{last} are missing; later ones are held",
                                  ref=author))
    peer_codes = store.peers()
    if peer_codes:  # a peer's receipt acknowledging more of our log than we hold (docs/adr/0304)
        from cbm.bundle.receipts import own_log_unmatched

        for ack in reversed(own_log_unmatched(store, peer_codes)):
            items.insert(0, Attention("store", 0, ack.describe(), ref=ack.peer))
    if counts["equivocations"]:
        items.insert(0, Attention("store", 0, f"{counts['equivocations']} equivocating record(s) kept as "
                                              "evidence: a peer signed two versions of one log position"))
    found: list[Claim] = []
    if store.query(_has_rows, "claims"):
        from cbm.store.claims import contradicted

        found = store.query(contradicted)
    by_claimant: dict[str, list[Claim]] = {}
    for claim in found:
        by_claimant.setdefault(claim.claimant or "an unknown peer", []).append(claim)
    for claimant, made in sorted(by_claimant.items(), reverse=True):
        latest = made[-1]
        text = (f"{claimant} made {len(made)} claim(s) about other parties' logs that their own records contradict "
                f"(latest: {latest.author} {latest.first_seq}-{latest.last_seq}, from "
                f"{latest.source or 'an earlier import'})")
        items.insert(0, Attention("store", 1, text, ref=claimant))
    bad: list[Malformed] = []
    partial: list[Malformed] = []
    tallies: list[Tally] = []
    if store.query(_has_rows, "malformed"):
        from cbm.measures import malformed

        tallies = store.query(malformed.tallies)
        bad = store.query(malformed.listed)
        if any(t.left_out for t in tallies):
            partial = store.query(malformed.listed, rows_left_out=True)
    for tally in sorted((t for t in tallies if not t.left_out), key=lambda t: t.author, reverse=True):
        newest = tally.newest
        items.insert(0, Attention("store", 1, f"{tally.author} signed {tally.records} malformed record(s), kept as "
                                              f"evidence and shown nowhere (latest: {newest.kind} seq {newest.seq}: "
                                              f"{newest.reason})", ref=tally.author))
    for tally in sorted((t for t in tallies if t.left_out), key=lambda t: t.author, reverse=True):
        items.insert(0, Attention("store", 1, f"{tally.author} signed {tally.rows} indicator row(s) in {tally.records} "
                                              "batch(es) whose value is not in its type's normal form: left out, "
                                              f"kept as evidence (latest: seq {tally.newest.seq}: "
                                              f"{tally.newest.reason})", ref=tally.author))
    return StatusReport(store.party, store.name, str(store.root), own.fingerprint, list(peers.values()),
                        counts, missing, items, found, waiting, bad,
                        sum(t.records for t in tallies if not t.left_out), partial,
                        sum(t.records for t in tallies if t.left_out), sum(t.rows for t in tallies if t.left_out))
