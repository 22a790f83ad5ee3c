"""What ``cbm indicators show`` tells about one indicator: every author's current version with its record,
signature, earlier versions, sightings, revocations, landing flags and who else reports its value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cbm.core import clock
from cbm.core.errors import NotFound
from cbm.measures.indicators import queries
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.cache import RecordCache
from cbm.measures.indicators.query import Listing, resolve
from cbm.store.db import Store


@dataclass
class Version:
    modified: str
    record: str
    stix: dict[str, Any]


@dataclass
class Shown:
    id: str
    author: str
    tlp: str
    audience: list[str]
    state: str
    record: str
    seq: int
    keyid: str
    signed: str
    stix: dict[str, Any]
    earlier_versions: list[Version]  # the superseded versions, oldest first (``versions`` counts them all)
    sightings: list[dict[str, Any]]
    revocations: list[dict[str, str]]
    also_reported_by: list[str]
    flags: list[str] = field(default_factory=list)
    origin: str | None = None  # the territory it appears to originate from (ISO 3166-1 alpha-2), as signed
    origin_name: str | None = None  # that territory's English short name
    asn: int | None = None  # the AS number it appears to originate from, as signed
    type: str = ""  # from here: what `indicators list --json` has, under the same names and values (ADR 0291)
    value: str | None = None
    labels: list[str] = field(default_factory=list)
    confidence: int | None = None
    valid_from: str = ""
    valid_until: str | None = None
    sectors: list[str] = field(default_factory=list)
    modified: str = ""
    versions: int = 1  # how many versions there are, this one included: as in `list --json` (ADR 0299)


def show(store: Store, ref: str, author: str | None = None) -> list[Shown]:
    """Everything about one indicator (per author holding that id). Raises NotFound, UsageError."""
    from cbm.measures.indicators.formats import stix

    rows = resolve(store, ref)
    if author:
        rows = [r for r in rows if r.author == author.upper()]
        if not rows:
            raise NotFound(f"{author.upper()} has no indicator {ref}")
    cache, now = RecordCache(store), clock.now_iso()
    result = []
    for r in rows:
        record, batch = cache.get(r.rec)
        row = batch[r.pos]
        earlier = []
        for rec, pos, modified in store.query(queries.history, r.id, r.author):
            old_record, old_rows = cache.get(rec)
            earlier.append(Version(modified, old_record.hash,
                                    stix.indicator(r.author, old_record.tlp, old_rows[pos], modified, False)))
        sightings = [{"by": s.by, "count": s.count, "first_seen": s.first_seen, "last_seen": s.last_seen,
                      "reported": s.created, "record": s.record} for s in store.query(queries.sightings, r.id)]
        revocations = [{"by": a, "reason": why, "at": at} for a, why, at in store.query(queries.revocations, r.id)
                       if a == r.author]
        others = sorted({o.author for o in store.query(queries.by_value, r.value)} - {r.author}) if r.value else []
        result.append(Shown(r.id, r.author, r.tlp, list(record.to), Listing.of(r, now).state, record.hash,
                            record.seq, record.keyid, record.created,
                            stix.indicator(r.author, r.tlp, row, r.modified, r.revoked is not None),
                            earlier, sightings, revocations, others, store.query(queries.flags, r.id, r.author),
                            *_origin_shown(row), r.type, r.value, row[R.LABELS] or [], r.confidence,
                            r.valid_from, r.valid_until, r.sector_list, r.modified, r.versions))
    return result


def _origin_shown(row: list[Any]) -> tuple[str | None, str | None, int | None]:
    from cbm.core.countries import COUNTRIES

    country, asn = R.origin_of(row)
    return country, COUNTRIES.get(country) if country else None, asn
