"""``cbm status``: one screen of who we are, who we trust, what we hold, and what needs attention."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cbm.app.reactions import attention
from cbm.measures.base import Attention
from cbm.store.claims import Claim, contradicted
from cbm.store.db import Store
from cbm.store.ingest import missing_ranges
from cbm.store.trust import list_keys


@dataclass
class StatusReport:
    party: str
    name: str
    store: str
    fingerprint: str
    peers: list[dict[str, Any]]
    counts: dict[str, Any]
    missing: dict[str, tuple[int, int]]
    attention: list[Attention] = field(default_factory=list)
    # claims a peer made about another party's log that the author's own records contradicted, held against
    # the claimant (docs/adr/0110-claims-about-a-log.md)
    claims: list[Claim] = field(default_factory=list)


def collect(store: Store) -> StatusReport:
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
    missing = missing_ranges(store)
    for author, (first, last) in missing.items():
        items.insert(0, Attention("store", 0, f"{author} records {first}-{last} are missing; later ones are held",
                                  ref=author))
    if counts["equivocations"]:
        items.insert(0, Attention("store", 0, f"{counts['equivocations']} equivocating record(s) kept as "
                                              "evidence: a peer signed two versions of one log position"))
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
    return StatusReport(store.party, store.name, str(store.root), own.fingerprint, list(peers.values()),
                        counts, missing, items, found)
