"""Receipts: the signed ``bundle.receipt`` records that say how far we hold each log.

Contract (cbm/store/index_receipts.py): a ``bundle.receipt`` by P with ``body["logs"] = {author: {"seq": N,
"hash": H}}`` means P holds author's log up to N. We add ``bundle`` (the acknowledged bundle's id), ``from``
and ``number`` when the receipt answers an import. A receipt is addressed to the party it informs
(docs/adr/0012-bundle-numbers-and-receipts.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cbm.core import clock
from cbm.store import index_bundles, index_receipts
from cbm.store.db import Store

TYPE_CHECKING = False  # typing.TYPE_CHECKING, spelled as cbm.cli.main does
if TYPE_CHECKING:  # the record codec loads where a receipt is written, not for `cbm status` (docs/adr/0256)
    from cbm.core.records import Record

KIND = "bundle.receipt"


def holdings(store: Store, peer: str) -> dict[str, dict[str, Any]]:
    """Our contiguous position in every log but our own, as told to ``peer``: ``{author: {"seq": N, "hash":
    H}}``; ``{"seq": 0, "hash": ""}`` for a log of which we hold only records waiting behind a gap (e.g. after a
    claimed range was overridden), so that the sender carries it again from the start.

    ``peer``'s own log counts only up to the first range another party claimed is withheld from us: that is a
    claim, not ``peer``'s word, and ``peer`` may well have records there that we may see (docs/adr/0110).
    """
    result: dict[str, dict[str, Any]] = {}
    authors = set(store.query(index_bundles.authors))
    authors.update(store.query(index_bundles.held_authors))
    for author in sorted(authors - {store.party}):
        head = store.head(author)
        if head is not None and author == peer:
            head = _by_own_word(store, author, head)
        result[author] = {"seq": head[0], "hash": head[1]} if head is not None else {"seq": 0, "hash": ""}
    return result


def _by_own_word(store: Store, author: str, head: tuple[int, str]) -> tuple[int, str] | None:
    """``head``, or the position just before the first withheld range that someone else claimed for ``author``."""
    first = store.query(index_bundles.first_claimed_withheld, author)
    if first is None or first > head[0]:
        return head
    before = first - 1
    digest = store.query(index_bundles.hash_at, author, before) if before else None
    return (before, digest) if digest is not None else None


def needs_receipt(store: Store, peer: str) -> bool:
    """Whether our newest receipt addressed to ``peer`` is behind what we hold now, by more than receipts.

    Progress made only of receipts is acknowledged with the next substantive receipt, never on its own, so
    two peers never acknowledge each other's acknowledgements forever.
    """
    last = store.query(index_bundles.last_receipt_to, store.party, peer) or {}
    for author, position in holdings(store, peer).items():
        before = last.get(author, {}).get("seq", 0)
        if not isinstance(before, int) or position["seq"] < before:
            return True
        if position["seq"] > before and store.query(index_bundles.substantive, author, before, position["seq"]):
            return True
    return False


def append_in_transaction(store: Store, to: str, body: dict[str, Any]) -> Record:
    """Sign and land a receipt by us, inside the caller's open transaction (so it commits with the import)."""
    from cbm.core.records import build_payload, parse_verified_payload, sign_record

    pair = store.signer()
    head = store.head(store.party)
    seq, prev = (head[0] + 1, head[1]) if head else (1, None)
    payload = build_payload(author=store.party, seq=seq, prev=prev, created=clock.now_iso(), kind=KIND,
                            to=(to,), tlp="GREEN", body=body)
    record = parse_verified_payload(sign_record(payload, KIND, pair), payload, pair.keyid)
    store.land([record])
    return record


def write_receipt(store: Store, to: str) -> Record | None:
    """Our receipt for ``to`` if ours is stale (its own transaction). None when nothing changed."""
    with store.transaction():
        return due_in_transaction(store, to)


def due_in_transaction(store: Store, to: str) -> Record | None:
    """Our receipt for ``to`` if ours is stale, inside the caller's open transaction (an export: it lands with
    the bundle that carries it, or not at all: docs/adr/0300). None when nothing changed."""
    if not needs_receipt(store, to) or own_log_unmatched(store):  # a receipt would fork our log (ADR 0304)
        return None
    return append_in_transaction(store, to, {"logs": holdings(store, to)})


class LogAck(NamedTuple):
    author: str
    held: int  # our position in that log
    acknowledged: int  # the peer's acknowledged position
    hash_matches: bool  # the peer acknowledges the same record at that position as we hold (or nothing yet)
    when: str | None

    @property
    def pending(self) -> int:
        return max(0, self.held - self.acknowledged)


class PeerAck(NamedTuple):
    peer: str
    logs: list[LogAck]
    bundles_sent: int
    last_sent: int | None
    last_receipt: str | None  # when the peer's newest receipt was written

    @property
    def pending(self) -> int:
        return sum(log.pending for log in self.logs)


def peer_status(store: Store, peer: str) -> PeerAck:
    """What ``peer`` has acknowledged of every log we hold (except its own)."""
    logs = []
    for author in store.query(index_bundles.authors):
        if author == peer:
            continue
        head = store.head(author)
        if head is None:
            continue
        seq, digest, when = store.query(index_receipts.acknowledged, peer, author)
        ours = store.query(index_bundles.hash_at, author, seq) if seq else None
        logs.append(LogAck(author, head[0], seq, seq == 0 or ours is None or ours == digest, when))
    last = store.query(index_bundles.last_sent, peer)
    newest = store.query(index_bundles.last_receipt_from, peer)
    return PeerAck(peer, logs, store.query(index_bundles.sent_count, peer), last[0] if last else None,
                   newest[1] if newest else None)


class OwnLogAck(NamedTuple):
    """A peer's newest receipt about our own log where it does not match what we hold (docs/adr/0304)."""

    peer: str
    acknowledged: int  # the position in our log that the peer's newest receipt acknowledges
    held: int  # our own newest position
    forked: bool  # we hold that position, but with another record (else: we hold less than that)
    when: str | None  # when the peer wrote that receipt

    def describe(self) -> str:
        """One line for ``cbm status`` and ``bundle import``: the peer's word, never more than its word."""
        if self.forked:
            return (f"{self.peer} acknowledged a record #{self.acknowledged} of ours ({self.when}) that is not the "
                    f"one this store holds: our log has forked (was this store restored from an older copy, "
                    f"then written to?), or {self.peer}'s receipt is wrong; see `cbm bundle status`")
        return (f"{self.peer} acknowledged our log up to #{self.acknowledged} ({self.when}), but this store "
                f"holds it only to #{self.held}: was it restored from an older copy? Records written here would "
                f"reuse numbers {self.peer} holds, and be taken for equivocation: restore the newest copy of "
                f"the store, its keys file too, before writing")


def own_log_unmatched(store: Store, peers: list[str] | None = None) -> list[OwnLogAck]:
    """The peers (all, or ``peers``) whose newest receipt acknowledges our own log beyond our newest record, or
    a record at a position we hold that is not ours there: the signs of a store restored from an older copy.

    A receipt is its signer's word about our log, not our records: it is shown, and only holds back what we would
    write on our own (receipts, automatic replies), never what an operator writes (docs/adr/0304). A peer whose
    key we revoked has no word here any more."""
    head = store.head(store.party)
    held = head[0] if head else 0
    found = []
    for peer in store.peers() if peers is None else peers:
        if not any(key.status == "active" for key in store.party_keys(peer)):
            continue
        seq, digest, when = store.query(index_receipts.acknowledged, peer, store.party)
        if seq > held:
            found.append(OwnLogAck(peer, seq, held, False, when))
        elif seq:
            ours = store.query(index_bundles.hash_at, store.party, seq)
            if ours is not None and ours != digest:
                found.append(OwnLogAck(peer, seq, held, True, when))
    return found


def own_log_warnings(unmatched: list[OwnLogAck], last: str) -> list[str]:
    """What a command says of ``unmatched`` (:func:`own_log_unmatched`): each finding, then ``last`` (what it
    held back or wrote, and why), its ``{holders}`` replaced by the peers."""
    if not unmatched:
        return []
    holders = " and ".join(sorted({ack.peer for ack in unmatched}))
    return [ack.describe() for ack in unmatched] + [last.format(holders=holders)]
