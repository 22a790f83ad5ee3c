"""Read-only queries: list, count, search by value or range, resolve an id. Light to import (no signing,
no formats), so `cbm indicators search` starts fast."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.tlp import TLP_LABELS, check_tlp, tlp_rank
from cbm.measures.indicators import model, queries
from cbm.measures.indicators.index_shape import IndicatorRow
from cbm.store.db import Store

# -- list and search -------------------------------------------------------------------------------------


class Listing(NamedTuple):
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
    flags: list[str] | None = None  # the landing checks' flags, when asked for (list --flagged)
    origin: str | None = None  # the territory it appears to originate from (ISO 3166-1 alpha-2), if given
    asn: int | None = None  # the AS number it appears to originate from, if given
    labels: list[str] | None = None  # its STIX labels as signed, when asked for (list --json reads the records)

    @staticmethod
    def of(r: IndicatorRow, now: str, flags: list[str] | None = None,
           origin: tuple[str | None, int | None] = (None, None), labels: list[str] | None = None) -> Listing:
        state = "revoked" if r.revoked is not None else \
            "expired" if r.valid_until is not None and r.valid_until <= now else "active"
        return Listing(r.id, r.author, r.type, r.value, r.tlp, r.confidence, r.valid_from, r.valid_until,
                       r.sector_list, r.versions, r.modified, state, flags, *origin, labels)


def make_filter(*, types: list[str] | None = None, authors: list[str] | None = None,
                tlps: list[str] | None = None, tlp_max: str | None = None, sectors: list[str] | None = None,
                state: str | None = None, since: str | None = None, limit: int | None = None,
                expiring_days: int | None = None, flagged: bool | None = None, origins: list[str] | None = None,
                asns: list[str] | None = None) -> queries.Filter:
    """Validate user filters into an index Filter. Raises UsageError (an unknown type, sector, TLP label,
    country code or AS number, a bad time)."""
    countries: tuple[str, ...] = ()
    numbers: tuple[int, ...] = ()
    try:
        if origins or asns:  # the formats module is large: loaded only for a filter that needs it
            from cbm.measures.indicators.formats import parse_asn, parse_origin

            countries = tuple(dict.fromkeys(parse_origin(o) for o in origins or []))
            numbers = tuple(dict.fromkeys(parse_asn(a) for a in asns or []))
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
    before = clock.days_ahead(now, expiring_days, what="--expiring") if expiring_days is not None else None
    return queries.Filter(types=kinds, authors=tuple(a.upper() for a in authors or []), tlps=tuple(labels),
                     sectors=sector_names, state=state, since=since_iso, expiring_before=before,
                     now=clock.iso(now), flagged=flagged, origins=countries, asns=numbers,
                     limit=None if limit is None else min(limit, MOST_ROWS))


#: The most rows a query can be asked for: SQLite's LIMIT is a 64-bit integer (a larger --limit means all).
MOST_ROWS = (1 << 63) - 1


def listing(store: Store, f: queries.Filter, *, with_flags: bool = False,
            with_labels: bool = False) -> Iterator[Listing]:
    """Current indicators matching ``f``, streamed in landing order (``with_flags``: each with its flags, ``[]``
    for none; ``with_labels``: with its labels as signed, read from its batch record, ``[]`` for none)."""
    flags = store.query(queries.all_flags) if with_flags else None
    labels_of = _labels_reader(store) if with_labels else None
    chunk: list[IndicatorRow] = []
    for r in store.query(queries.select, f):
        chunk.append(r)
        if len(chunk) >= _ORIGIN_CHUNK:
            yield from _listed(store, chunk, f.now, flags, labels_of)
            chunk = []
    yield from _listed(store, chunk, f.now, flags, labels_of)


def _labels_reader(store: Store) -> Callable[[IndicatorRow], list[str]]:
    """An indicator's labels from its signed batch row (the index holds none): the batches are parsed once each,
    the listing walking them in landing order. The record codec loads only here (not for `search`, ADR 0256)."""
    from cbm.measures.indicators import rows as R
    from cbm.measures.indicators.cache import RecordCache

    cache = RecordCache(store)

    def labels_of(r: IndicatorRow) -> list[str]:
        return cache.row(r)[R.LABELS] or []  # as the STIX object has them (formats/stix.py)

    return labels_of


#: Up to this many batch records, `search --json` reads its hits' labels with the standard library's json (a
#: 5,000-row batch: ~10 ms); past it, through the record codec, whose import costs ~60 ms CPU (ADR 0256, 0299)
LIGHT_LABEL_BATCHES = 6


def _search_labels_reader(store: Store, records: set[int]) -> Callable[[IndicatorRow], list[str]]:
    """An indicator's labels for `search --json`: from a few batch records without loading the record codec (the
    search's start-up, ADR 0256): the stored envelope's payload decoded with json and binascii, both already
    loaded for a JSON answer. The bytes were verified when they landed (``store verify`` re-checks them), as
    :func:`cbm.store.record_rows.record_from_row` takes them too. Many records: :func:`_labels_reader`."""
    if len(records) > LIGHT_LABEL_BATCHES:
        return _labels_reader(store)
    import binascii
    import json

    from cbm.core.errors import StoreCorrupt
    from cbm.measures.indicators import rows as R

    payloads: dict[int, bytes] = {}
    parsed: dict[int, list[list[Any]]] = {}

    def labels_of(r: IndicatorRow) -> list[str]:
        try:
            if r.rec not in payloads:
                envelope, _ = store.query(queries.envelope, r.rec)
                payloads[r.rec] = binascii.a2b_base64(json.loads(envelope)["payload"])
            row = _one_row(payloads[r.rec], r.id) if r.rec not in parsed else None
            if row is None:  # not found alone: the whole batch, as the record codec reads it
                if r.rec not in parsed:
                    parsed[r.rec] = R.rows_of(json.loads(payloads[r.rec])["body"])
                row = parsed[r.rec][r.pos]
        except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as e:
            raise StoreCorrupt(f"a stored record no longer parses: {e}") from e
        return (row[R.LABELS] if len(row) > R.LABELS else None) or []

    return labels_of


def _one_row(payload: bytes, sid: str) -> list[Any] | None:
    """The batch row of indicator ``sid`` parsed alone (a 5,000-row batch is ~1.1 MB of JSON, ~25 ms to parse
    whole): where the batch names our FIELDS in order and exactly one array in it starts with that id; else None
    (the caller parses the whole batch). The payload is canonical JSON (compact), so a row is ``["<sid>",...]``."""
    import json

    from cbm.measures.indicators import rows as R

    text = payload.decode("utf-8")  # ~1 ms; offsets below are in characters
    start = text.find('"fields":')  # the body's (the payload's keys are sorted: "author", then "body")
    if start < 0:
        return None
    decoder = json.JSONDecoder()
    fields, _ = decoder.raw_decode(text, start + len('"fields":'))
    if R.column_map(fields) != list(range(len(R.FIELDS))):
        return None
    opening = f'["{sid}",'
    at = text.find(opening)
    if at < 0 or text.find(opening, at + 1) >= 0:
        return None
    row, _ = decoder.raw_decode(text, at)
    return row if isinstance(row, list) and row[R.ID] == sid and isinstance(row[R.TYPE], str) else None


_ORIGIN_CHUNK = 400  # rows whose origins are looked up in one query


def _listed(store: Store, rows: list[IndicatorRow], now: str, flags: dict[tuple[str, str], list[str]] | None,
            labels_of: Callable[[IndicatorRow], list[str]] | None) -> Iterator[Listing]:
    origins = store.query(queries.origins_of, [(r.id, r.author) for r in rows]) if rows else {}
    for r in rows:
        yield Listing.of(r, now, flags.get((r.id, r.author), []) if flags is not None else None,
                         origins.get((r.id, r.author), (None, None)), labels_of(r) if labels_of else None)


def count(store: Store, f: queries.Filter) -> int:
    return store.query(queries.count, f)


class SearchHit(NamedTuple):
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
    origin: str | None = None  # the territory it appears to originate from (ISO 3166-1 alpha-2), if given
    asn: int | None = None
    # what `list --json` and `show --json` have under the same names, when asked for (`search --json`): the
    # landing checks' flags and the labels as signed ([] for none; ADR 0299)
    flags: list[str] | None = None
    labels: list[str] | None = None


class SearchResult(NamedTuple):
    query: str
    normalised: str
    type: str | None
    hits: list[SearchHit]
    reported_by: list[str]  # distinct authors: more than one is corroboration

    @property
    def corroborated(self) -> bool:
        return len(self.reported_by) > 1


def search(store: Store, query: str, *, substring: bool = False, limit: int = 200,
           origins: list[str] | None = None, asns: list[str] | None = None,
           with_details: bool = False) -> SearchResult:
    """Find indicators by value: exact (normalised, refanged), an IP inside a reported CIDR range, every
    address inside a CIDR query, or (``substring``) a value containing the text. Which parties reported it.
    ``origins``/``asns`` keep only hits of those origin territories / AS numbers; ``with_details``: each hit
    with its flags and labels, as ``list --json`` has them (the labels read from the batch records, so only
    for a JSON answer: the table needs neither, ADR 0256). Raises UsageError."""
    wanted = make_filter(origins=origins, asns=asns)
    text = query.strip()
    if not text:
        raise UsageError("search needs a value")
    now = clock.now_iso()
    hits: dict[tuple[str, str], SearchHit] = {}
    rows_of: dict[tuple[str, str], IndicatorRow] = {}

    def take(rows: list[IndicatorRow], how: str) -> None:
        for r in rows:
            if (r.id, r.author) not in hits and len(hits) < limit:
                rows_of[(r.id, r.author)] = r
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
    found_origins = store.query(queries.origins_of, list(hits))
    flags = store.query(queries.flags_of, list(hits)) if with_details else {}
    labels_of = _search_labels_reader(store, {r.rec for r in rows_of.values()}) if with_details and hits else None
    completed = []
    for key, h in hits.items():
        origin, asn = found_origins.get(key, (None, None))
        h = h._replace(sightings=totals.get(h.id, 0), origin=origin, asn=asn)
        if with_details:
            h = h._replace(flags=flags.get(key, []), labels=labels_of(rows_of[key]) if labels_of else [])
        completed.append(h)
    found = [h for h in completed if (not wanted.origins or h.origin in wanted.origins)
             and (not wanted.asns or h.asn in wanted.asns)]
    return SearchResult(query, normalised, kind, found, sorted({h.author for h in found}))


# -- resolve ---------------------------------------------------------------------------------------------


def resolve(store: Store, ref: str) -> list[IndicatorRow]:
    """Every author's current version of the indicator ``ref`` names (``indicator--…``, its UUID, or a unique
    prefix of at least 6 characters). Raises UsageError (too short or ambiguous, with candidates), NotFound."""
    return store.query(queries.get, store.query(queries.resolve_id, ref))
