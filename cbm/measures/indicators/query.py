"""Read-only queries: list, count, search by value or range, resolve an id. Light to import (no signing,
no formats), so `cbm indicators search` starts fast."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.tlp import TLP_LABELS, check_tlp, tlp_rank
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import model, queries
from cbm.store.db import Store

# -- list and search -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    id: str
    author: str
    type: str
    value: str | None
    tlp: str
    confidence: int | None
    valid_from: str
    valid_until: str | None
    sectors: list[str]
    versions: int
    modified: str
    state: str  # active | expired | revoked

    @staticmethod
    def of(r: ix.IndicatorRow, now: str) -> Listing:
        state = "revoked" if r.revoked is not None else \
            "expired" if r.valid_until is not None and r.valid_until <= now else "active"
        return Listing(r.id, r.author, r.type, r.value, r.tlp, r.confidence, r.valid_from, r.valid_until,
                       r.sector_list, r.versions, r.modified, state)


def make_filter(*, types: list[str] | None = None, authors: list[str] | None = None,
                tlps: list[str] | None = None, tlp_max: str | None = None, sectors: list[str] | None = None,
                state: str | None = None, since: str | None = None, limit: int | None = None,
                expiring_days: int | None = None) -> queries.Filter:
    """Validate user filters into an index Filter. Raises UsageError."""
    try:
        kinds = tuple(model.canonical_type(t) or "" for t in (types or []))
        if "" in kinds:
            raise UsageError("--type needs a specific type", hint="one of " + ", ".join(model.TYPES))
        sector_names = tuple(model.check_sector(s) for s in (sectors or []))
    except model.BadValue as e:
        raise UsageError(str(e)) from e
    labels = [check_tlp(t) for t in (tlps or [])]
    if tlp_max:
        top = tlp_rank(check_tlp(tlp_max))
        allowed = [t for t in TLP_LABELS if tlp_rank(t) <= top]
        labels = [t for t in labels if t in allowed] if labels else allowed
        if not labels:
            labels = ["-none-"]
    since_iso = clock.iso(clock.parse_time(since, what="--since")) if since else None
    now = clock.now()
    before = clock.iso(now + timedelta(days=expiring_days)) if expiring_days is not None else None
    return queries.Filter(types=kinds, authors=tuple(a.upper() for a in authors or []), tlps=tuple(labels),
                     sectors=sector_names, state=state, since=since_iso, expiring_before=before,
                     now=clock.iso(now), limit=limit)


def listing(store: Store, f: queries.Filter) -> Iterator[Listing]:
    """Current indicators matching ``f``, streamed in landing order."""
    for r in store.query(queries.select, f):
        yield Listing.of(r, f.now)


def count(store: Store, f: queries.Filter) -> int:
    return store.query(queries.count, f)


@dataclass
class SearchHit:
    id: str
    author: str
    type: str
    value: str | None
    tlp: str
    confidence: int | None
    state: str
    valid_until: str | None
    match: str  # exact | range | substring
    sightings: int = 0


@dataclass
class SearchResult:
    query: str
    normalised: str
    type: str | None
    hits: list[SearchHit]
    reported_by: list[str]  # distinct authors: more than one is corroboration

    @property
    def corroborated(self) -> bool:
        return len(self.reported_by) > 1


def search(store: Store, query: str, *, substring: bool = False, limit: int = 200) -> SearchResult:
    """Find indicators by value: exact (normalised, refanged), an IP inside a reported CIDR range, every
    address inside a CIDR query, or (``substring``) a value containing the text. Which parties reported it."""
    text = query.strip()
    if not text:
        raise UsageError("search needs a value")
    now = clock.now_iso()
    hits: dict[tuple[str, str], SearchHit] = {}

    def take(rows: list[ix.IndicatorRow], how: str) -> None:
        for r in rows:
            if (r.id, r.author) not in hits and len(hits) < limit:
                listing_ = Listing.of(r, now)
                hits[(r.id, r.author)] = SearchHit(r.id, r.author, r.type, r.value, r.tlp, r.confidence,
                                                   listing_.state, r.valid_until, how)

    kind: str | None = None
    normalised = model.refang(text)
    try:
        kind, normalised = model.normalise("", text)
    except model.BadValue:
        kind = None
    if kind is None and model.is_stix_id(text, "indicator"):
        take(store.query(queries.get, text), "exact")
    if not substring:
        take(store.query(queries.by_value, normalised), "exact")
        if kind in ("ipv4-addr", "ipv6-addr"):
            if "/" in normalised:
                net = ipaddress.ip_network(normalised, strict=False)
                take(store.query(queries.within, net.version, int(net.network_address), int(net.broadcast_address),
                               limit), "range")
            else:
                addr = ipaddress.ip_address(normalised)
                take(store.query(queries.containing, addr.version, int(addr)), "range")
    else:
        take(store.query(queries.by_substring, normalised.lower() if kind != "url" else normalised, limit),
             "substring")
    totals = store.query(queries.sighting_totals, [h.id for h in hits.values()])
    for h in hits.values():
        h.sightings = totals.get(h.id, 0)
    found = list(hits.values())
    return SearchResult(query, normalised, kind, found, sorted({h.author for h in found}))


# -- resolve ---------------------------------------------------------------------------------------------


def resolve(store: Store, ref: str) -> list[ix.IndicatorRow]:
    """Every author's current version of the indicator ``ref`` names (``indicator--…``, its UUID, or a unique
    prefix of at least 6 characters). Raises UsageError (too short or ambiguous, with candidates), NotFound."""
    return store.query(queries.get, store.query(queries.resolve_id, ref))
