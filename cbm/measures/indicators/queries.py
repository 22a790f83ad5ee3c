"""Queries over the indicator index (``cbm/measures/indicators/index.py`` holds its tables and fold): current
versions by id, value, CIDR or substring; filtered selections for ``list``/``export``/``stats``; history,
revocations and sightings (what ``cbm status`` counts is in ``status_queries.py``, which loads faster). Every
function takes the store's connection first; call it through ``store.query(function, ...)``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from cbm.core import refs
from cbm.measures.indicators.index_shape import CHUNK as _CHUNK
from cbm.measures.indicators.index_shape import COLUMNS, IndicatorRow
from cbm.measures.indicators.status_queries import flagged_total
from cbm.store.indexes import Connection, Cursor


def _rows(cursor: Cursor) -> Iterator[IndicatorRow]:
    return map(IndicatorRow._make, cursor)


STIX_PREFIX = "indicator--"


def get(conn: Connection, sid: str) -> list[IndicatorRow]:
    """Every author's current version of the indicator with this STIX id."""
    return list(_rows(conn.execute(f"SELECT {COLUMNS} FROM ind WHERE sid = ? ORDER BY author", (sid,))))


def by_prefix(conn: Connection, prefix: str, limit: int = 3) -> list[IndicatorRow]:
    """Indicators whose STIX id starts with ``prefix`` (e.g. ``indicator--1a2b``)."""
    return list(_rows(conn.execute(f"SELECT {COLUMNS} FROM ind WHERE sid >= ? AND sid < ? LIMIT ?",
                                   (prefix, prefix + "\U0010ffff", limit))))


def own_by_values(conn: Connection, author: str, values: Sequence[str]) -> list[tuple[str, str, str, int, int]]:
    """(sid, type, value, rec, pos) of ``author``'s current indicators whose value is among ``values``, in
    landing order (the one-pattern-one-id rule, docs/adr/0169)."""
    found: list[tuple[str, str, str, int, int]] = []
    for i in range(0, len(values), _CHUNK):
        chunk = values[i:i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.extend(conn.execute(f"SELECT sid, type, value, rec, pos FROM ind WHERE value IN ({marks})"
                                  " AND author = ? ORDER BY k", (*chunk, author)))
    return found


def by_value(conn: Connection, value: str) -> list[IndicatorRow]:
    """Indicators whose normalised value (or one of the values in their pattern) equals ``value``."""
    found = {r.k: r for r in _rows(conn.execute(f"SELECT {COLUMNS} FROM ind WHERE value = ?", (value,)))}
    for sid, author in conn.execute("SELECT sid, author FROM ind_alt WHERE value = ?", (value,)).fetchall():
        for r in _rows(conn.execute(f"SELECT {COLUMNS} FROM ind WHERE sid = ? AND author = ?", (sid, author))):
            found[r.k] = r
    return sorted(found.values(), key=lambda r: r.k)


def containing(conn: Connection, version: int, number: int) -> list[IndicatorRow]:
    """Indicators for a CIDR range that contains the address ``number`` (IPv``version``)."""
    key = f"{number:0{8 if version == 4 else 32}x}"
    pairs = conn.execute("SELECT sid, author FROM ind_net WHERE version = ? AND first <= ? AND last >= ?",
                         (version, key, key)).fetchall()
    return _by_pairs(conn, pairs)


def within(conn: Connection, version: int, first: int, last: int, limit: int) -> list[IndicatorRow]:
    """Indicators for addresses or ranges inside ``first..last`` (IPv``version``)."""
    width = 8 if version == 4 else 32
    pairs = conn.execute("SELECT sid, author FROM ind_net WHERE version = ? AND first >= ? AND last <= ?"
                         " LIMIT ?", (version, f"{first:0{width}x}", f"{last:0{width}x}", limit)).fetchall()
    found = _by_pairs(conn, pairs)
    kind = "ipv4-addr" if version == 4 else "ipv6-addr"
    # single addresses are not in ind_net: scan the type (bounded by limit)
    for r in _rows(conn.execute(f"SELECT {COLUMNS} FROM ind WHERE type = ? AND instr(value, '/') = 0", (kind,))):
        try:
            number = int(ipaddress.ip_address(r.value or ""))
        except ValueError:
            continue
        if first <= number <= last:
            found.append(r)
            if len(found) >= limit:
                break
    return found


def _by_pairs(conn: Connection, pairs: list[tuple[str, str]]) -> list[IndicatorRow]:
    found: list[IndicatorRow] = []
    for sid, author in pairs:
        found.extend(_rows(conn.execute(f"SELECT {COLUMNS} FROM ind WHERE sid = ? AND author = ?",
                                        (sid, author))))
    return found


def by_substring(conn: Connection, text: str, limit: int) -> list[IndicatorRow]:
    """Indicators whose value contains ``text`` (a full scan: slower on a national feed)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(_rows(conn.execute(
        f"SELECT {COLUMNS} FROM ind WHERE value LIKE ? ESCAPE '\\' ORDER BY k LIMIT ?",
        (f"%{escaped}%", limit))))


class Filter(NamedTuple):
    """What ``list``/``export``/``stats`` select. ``state``: active | expired | revoked | None (all)."""

    types: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    tlps: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    state: str | None = None
    since: str | None = None
    expiring_before: str | None = None
    now: str = ""
    limit: int | None = None
    flagged: bool | None = None  # True: only flagged indicators; False: only unflagged ones; None: both
    never_flags: tuple[str, ...] = ()  # indicators with any of these flags are never selected
    origins: tuple[str, ...] = ()  # only indicators whose origin territory is one of these ISO 3166-1 codes
    asns: tuple[int, ...] = ()  # only indicators whose origin AS number is one of these


# The current indicators carrying a flag (with ``extra`` conditions on the flag ``f``), as a set of ``k``: SQLite
# builds it once from the small ind_flag table and probes it by integer key, where a correlated EXISTS looked
# ind_flag up by (sid, author) strings once per indicator (docs/adr/0221-flag-filter-as-a-key-set.md).
_FLAGGED = ("ind.k IN (SELECT i.k FROM ind_flag f JOIN ind i ON i.sid = f.sid AND i.author = f.author"
            "{extra})")


_ORIGIN = "EXISTS (SELECT 1 FROM ind_origin o WHERE o.sid = ind.sid AND o.author = ind.author{extra})"


def _origin_terms(f: Filter) -> str:
    terms = ""
    if f.origins:
        terms += f" AND o.country IN ({','.join('?' * len(f.origins))})"
    if f.asns:
        terms += f" AND o.asn IN ({','.join('?' * len(f.asns))})"
    return terms


def where_of(f: Filter) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (with its leading space; empty for no condition) and its arguments for ``f``, over
    ``ind``."""
    where: list[str] = []
    args: list[Any] = []
    for column, values in (("type", f.types), ("author", f.authors), ("tlp", f.tlps)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    if f.sectors:
        where.append("(" + " OR ".join("sectors LIKE ?" for _ in f.sectors) + ")")
        args.extend(f"%,{s},%" for s in f.sectors)
    if f.state == "active":
        where.append("revoked IS NULL AND (valid_until IS NULL OR valid_until > ?)")
        args.append(f.now)
    elif f.state == "expired":
        where.append("revoked IS NULL AND valid_until <= ?")
        args.append(f.now)
    elif f.state == "revoked":
        where.append("revoked IS NOT NULL")
    if f.since:
        where.append("modified >= ?")
        args.append(f.since)
    if f.expiring_before:
        where.append("revoked IS NULL AND valid_until > ? AND valid_until <= ?")
        args.extend([f.now, f.expiring_before])
    if f.flagged is not None:
        where.append(("" if f.flagged else "NOT ") + _FLAGGED.format(extra=""))
    if f.never_flags:
        where.append("NOT " + _FLAGGED.format(extra=f" AND f.flag IN ({','.join('?' * len(f.never_flags))})"))
        args.extend(f.never_flags)
    if f.origins or f.asns:
        where.append(_ORIGIN.format(extra=_origin_terms(f)))
        args.extend([*f.origins, *f.asns])
    return (" WHERE " + " AND ".join(where)) if where else "", args


def select(conn: Connection, f: Filter) -> Iterator[IndicatorRow]:
    """Current indicators matching ``f``, in landing order (so rows of one batch come together). Streams."""
    where, args = where_of(f)
    sql = f"SELECT {COLUMNS} FROM ind{where} ORDER BY k"
    if f.limit is not None:
        sql += " LIMIT ?"
        args.append(f.limit)
    return _rows(conn.execute(sql, args))


def positions(conn: Connection, f: Filter) -> Iterator[tuple[int, int, int, int]]:
    """(rec, pos, revoked, versions) of the current indicators matching ``f``, in landing order: where each
    lives in its batch record, whether it is revoked (1 or 0) and its version number. The lean form of
    :func:`select` for exports, which read everything else from the record. Streams."""
    where, args = where_of(f)
    sql = f"SELECT rec, pos, revoked IS NOT NULL, versions FROM ind{where} ORDER BY k"
    if f.limit is not None:
        sql += " LIMIT ?"
        args.append(f.limit)
    return conn.execute(sql, args)


def values(conn: Connection, f: Filter) -> Iterator[tuple[str, str | None, str]]:
    """(type, value, tlp) of the current indicators matching ``f``, in landing order: all a plain list needs,
    from the index alone. Streams."""
    where, args = where_of(f)
    sql = f"SELECT type, value, tlp FROM ind{where} ORDER BY k"
    if f.limit is not None:
        sql += " LIMIT ?"
        args.append(f.limit)
    return conn.execute(sql, args)


def matches(r: IndicatorRow, f: Filter) -> bool:
    """Whether one row passes ``f`` (the same rules as :func:`select`, checked in Python)."""
    if (f.types and r.type not in f.types) or (f.authors and r.author not in f.authors) or \
            (f.tlps and r.tlp not in f.tlps):
        return False
    if f.sectors and not set(f.sectors) & set(r.sector_list):
        return False
    expired = r.valid_until is not None and r.valid_until <= f.now
    if f.state == "active" and (r.revoked is not None or expired):
        return False
    if f.state == "expired" and (r.revoked is not None or not expired):
        return False
    if f.state == "revoked" and r.revoked is None:
        return False
    if f.since and r.modified < f.since:
        return False
    return not (f.expiring_before and (r.revoked is not None or expired or r.valid_until is None
                                       or r.valid_until > f.expiring_before))


def selected(conn: Connection, r: IndicatorRow, f: Filter) -> bool:
    """Whether one row passes ``f``: :func:`matches`, and the origin filters looked up in the index."""
    if not matches(r, f):
        return False
    if not (f.origins or f.asns):
        return True
    return conn.execute("SELECT 1 FROM ind_origin o WHERE o.sid = ? AND o.author = ?" + _origin_terms(f),
                        (r.id, r.author, *f.origins, *f.asns)).fetchone() is not None


def origin(conn: Connection, sid: str, author: str) -> tuple[str | None, int | None]:
    """(country, AS number) of ``author``'s indicator ``sid`` as indexed; (None, None) without an origin."""
    row = conn.execute("SELECT country, asn FROM ind_origin WHERE sid = ? AND author = ?", (sid, author)).fetchone()
    return (row[0], row[1]) if row else (None, None)


def origins_of(conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[str | None,
                                                                                                  int | None]]:
    """(sid, author) -> (country, AS number), for those of ``pairs`` that have an origin."""
    found: dict[tuple[str, str], tuple[str | None, int | None]] = {}
    sids = sorted({sid for sid, _ in pairs})
    wanted = set(pairs)
    for i in range(0, len(sids), _CHUNK):
        chunk = sids[i:i + _CHUNK]
        for sid, author, country, asn in conn.execute(
                f"SELECT sid, author, country, asn FROM ind_origin WHERE sid IN ({','.join('?' * len(chunk))})",
                chunk):
            if (sid, author) in wanted:
                found[(sid, author)] = (country, asn)
    return found


def flags(conn: Connection, sid: str, author: str) -> list[str]:
    """The landing checks' flags on ``author``'s indicator ``sid`` (empty: none matched)."""
    return [str(flag) for (flag,) in conn.execute(
        "SELECT flag FROM ind_flag WHERE sid = ? AND author = ? ORDER BY rowid", (sid, author))]


def flags_of(conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """(sid, author) -> flags, for those of ``pairs`` that carry any."""
    found: dict[tuple[str, str], list[str]] = {}
    sids = sorted({sid for sid, _ in pairs})
    wanted = set(pairs)
    for i in range(0, len(sids), _CHUNK):
        chunk = sids[i:i + _CHUNK]
        for sid, author, flag in conn.execute(
                f"SELECT sid, author, flag FROM ind_flag WHERE sid IN ({','.join('?' * len(chunk))})"
                " ORDER BY rowid", chunk):
            if (sid, author) in wanted:
                found.setdefault((sid, author), []).append(flag)
    return found


def all_flags(conn: Connection) -> dict[tuple[str, str], list[str]]:
    """(sid, author) -> flags, for every flagged indicator."""
    found: dict[tuple[str, str], list[str]] = {}
    for sid, author, flag in conn.execute("SELECT sid, author, flag FROM ind_flag ORDER BY rowid"):
        found.setdefault((sid, author), []).append(flag)
    return found


def last_flag(conn: Connection) -> int:
    """A mark to pass to :func:`flagged_since`: the newest flag row now."""
    return int(conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM ind_flag").fetchone()[0])


def flagged_since(conn: Connection, mark: int) -> tuple[int, dict[str, int]]:
    """(indicators flagged, count per flag) among flags added after ``mark`` (:func:`last_flag`)."""
    flagged = int(conn.execute("SELECT COUNT(*) FROM (SELECT DISTINCT sid, author FROM ind_flag WHERE rowid > ?)",
                               (mark,)).fetchone()[0])
    by_flag = {str(flag): int(n) for flag, n in conn.execute(
        "SELECT flag, COUNT(*) FROM ind_flag WHERE rowid > ? GROUP BY flag ORDER BY COUNT(*) DESC, flag", (mark,))}
    return flagged, by_flag


def flag_counts(conn: Connection) -> dict[str, int]:
    """How many current indicators each flag marks."""
    return {str(flag): int(n) for flag, n in conn.execute(
        "SELECT flag, COUNT(*) FROM ind_flag GROUP BY flag ORDER BY COUNT(*) DESC, flag")}


def tlps_present(conn: Connection, f: Filter) -> list[str]:
    where, args = where_of(f)
    return [str(t) for (t,) in conn.execute(f"SELECT DISTINCT tlp FROM ind{where}", args)]


def count(conn: Connection, f: Filter) -> int:
    where, args = where_of(f)
    return int(conn.execute(f"SELECT COUNT(*) FROM ind{where}", args).fetchone()[0])


def envelope(conn: Connection, rec: int) -> tuple[bytes, str]:
    """The stored envelope and key id of record ``rec`` (a records.id)."""
    row = conn.execute("SELECT envelope, keyid FROM records WHERE id = ?", (rec,)).fetchone()
    return bytes(row[0]), str(row[1])


def history(conn: Connection, sid: str, author: str) -> list[tuple[int, int, str]]:
    """Superseded versions of one indicator: (rec, pos, modified), oldest first."""
    return [(int(r[0]), int(r[1]), str(r[2])) for r in conn.execute(
        "SELECT rec, pos, modified FROM ind_hist WHERE sid = ? AND author = ? ORDER BY rowid", (sid, author))]


def record_hash(conn: Connection, rec: int) -> str:
    return str(conn.execute("SELECT hash FROM records WHERE id = ?", (rec,)).fetchone()[0])


class Sighting(NamedTuple):
    id: str
    by: str
    count: int  # type: ignore[assignment]  # hides the tuple's count(), which nothing calls on a sighting
    first_seen: str | None
    last_seen: str | None
    created: str
    record: str


def sightings(conn: Connection, sid: str) -> list[Sighting]:
    return [Sighting(sid, *row) for row in conn.execute(
        "SELECT s.by_party, s.count, s.first_seen, s.last_seen, s.created, r.hash FROM ind_sight s"
        " JOIN records r ON r.id = s.rec WHERE s.sid = ? ORDER BY s.rowid", (sid,))]


def sighting_totals(conn: Connection, sids: Sequence[str]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for i in range(0, len(sids), _CHUNK):
        chunk = list(sids[i:i + _CHUNK])
        for sid, total in conn.execute(
                f"SELECT sid, SUM(count) FROM ind_sight WHERE sid IN ({','.join('?' * len(chunk))})"
                " GROUP BY sid", chunk):
            totals[sid] = int(total)
    return totals


def sighting_records(conn: Connection, authors: Sequence[str] = ()) -> Iterator[tuple[bytes, str]]:
    """Envelopes of every sighting record (optionally of indicators by ``authors``)."""
    sql = "SELECT r.envelope, r.keyid FROM ind_sight s JOIN records r ON r.id = s.rec"
    args: list[Any] = []
    if authors:
        sql += f" WHERE s.indicator_author IN ({','.join('?' * len(authors))})"
        args.extend(authors)
    for env, keyid in conn.execute(sql + " ORDER BY s.rowid", args):
        yield bytes(env), str(keyid)


def revocations(conn: Connection, sid: str) -> list[tuple[str, str, str]]:
    """(author, reason, created) of each revocation of this id."""
    return [(str(r[0]), str(r[1]), str(r[2])) for r in conn.execute(
        "SELECT author, reason, created FROM ind_revoke WHERE sid = ? ORDER BY rowid", (sid,))]


def stats(conn: Connection, now: str, soon: str, f: Filter | None = None) -> dict[str, Any]:
    """Counts by type, author, TLP, origin and state; how many expire before ``soon``; over the indicators ``f``
    selects (all without it)."""
    where, args = where_of(f) if f is not None else ("", [])

    def count(extra: str = "", more: Sequence[Any] = ()) -> int:
        clause = (where + " AND " + extra if where else " WHERE " + extra) if extra else where
        return int(conn.execute(f"SELECT COUNT(*) FROM ind{clause}", [*args, *more]).fetchone()[0])

    def grouped(column: str) -> dict[str, int]:
        return {str(k): int(n) for k, n in conn.execute(
            f"SELECT {column}, COUNT(*) FROM ind{where} GROUP BY {column} ORDER BY {column}", args)}

    def among(table: str) -> str:  # the rows of an index table that belong to the selected indicators
        if not where:
            return ""
        return f" WHERE (sid, author) IN (SELECT sid, author FROM ind{where})"

    total = count()
    revoked = count("revoked IS NOT NULL")
    expired = count("revoked IS NULL AND valid_until <= ?", (now,))
    expiring = count("revoked IS NULL AND valid_until > ? AND valid_until <= ?", (now, soon))
    sight_where = (" WHERE sid IN (SELECT sid FROM ind" + where + ")") if where else ""
    sighted = int(conn.execute(f"SELECT COUNT(DISTINCT sid) FROM ind_sight{sight_where}", args).fetchone()[0])
    if where:
        flagged = int(conn.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT sid, author FROM ind_flag{among('f')})",
                                   args).fetchone()[0])
        by_flag = {str(flag): int(n) for flag, n in conn.execute(
            f"SELECT flag, COUNT(*) FROM ind_flag{among('f')} GROUP BY flag ORDER BY COUNT(*) DESC, flag", args)}
    else:
        flagged, by_flag = flagged_total(conn), flag_counts(conn)
    by_origin: dict[str, int] = {}
    if conn.execute("SELECT 1 FROM ind_origin LIMIT 1").fetchone() is not None:
        by_origin = {str(k): int(n) for k, n in conn.execute(
            f"SELECT COALESCE(country, '-'), COUNT(*) FROM ind_origin{among('o')} GROUP BY 1 ORDER BY 2 DESC, 1",
            args)}
    with_origin = sum(by_origin.values())
    if by_origin and with_origin < total:  # "-": without an origin (said only where some have one)
        by_origin["-"] = by_origin.get("-", 0) + total - with_origin
    return {"total": total, "flagged": flagged, "by_flag": by_flag,
            "active": total - revoked - expired, "expired": expired, "revoked": revoked,
            "expiring_soon": expiring, "sighted": sighted, "by_type": grouped("type"),
            "by_party": grouped("author"), "by_tlp": grouped("tlp"), "by_origin": by_origin}


def age_buckets(conn: Connection, bounds: Sequence[tuple[str, str]], f: Filter | None = None) -> dict[str, int]:
    """Count of indicators last modified on or after each bound: [(label, iso time)], newest bound first (over
    the indicators ``f`` selects, all without it)."""
    where, args = where_of(f) if f is not None else ("", [])

    def count(extra: str, more: Sequence[Any]) -> int:
        clause = where + " AND " + extra if where else " WHERE " + extra
        return int(conn.execute(f"SELECT COUNT(*) FROM ind{clause}", [*args, *more]).fetchone()[0])

    result: dict[str, int] = {}
    previous: str | None = None
    for label, bound in bounds:
        if previous is None:
            result[label] = count("modified >= ?", (bound,))
        else:
            result[label] = count("modified >= ? AND modified < ?", (bound, previous))
        previous = bound
    if previous is not None:
        result["older"] = count("modified < ?", (previous,))
    return result


def resolve_id(conn: Connection, ref: str) -> str:
    """The STIX id that ``ref`` names: ``indicator--<uuid>``, the UUID, or a unique prefix of it (at least 6
    characters; the one rule of cbm.core.refs). Raises UsageError (too short, ambiguous: candidates listed;
    not an id), NotFound."""
    text = ref.strip().lower().removeprefix("indicator--")

    def lookup(prefix: str, limit: int) -> list[refs.Candidate]:
        rows = conn.execute(
            "SELECT sid, MIN(type), MIN(value), GROUP_CONCAT(DISTINCT author) FROM ind WHERE sid >= ? AND sid < ?"
            " GROUP BY sid ORDER BY sid LIMIT ?",
            (STIX_PREFIX + prefix, STIX_PREFIX + prefix + "\U0010ffff", limit)).fetchall()
        return [refs.Candidate(sid.removeprefix(STIX_PREFIX), f"{kind} {_clip(value)} from {authors}")
                for sid, kind, value, authors in rows]

    found = refs.resolve(text, "indicator", lookup, full_length=36, digits=refs.HEX | {"-"},
                         hint="see `cbm indicators list` or `cbm indicators search VALUE`")
    return STIX_PREFIX + found.id


def id_prefixes(conn: Connection, prefix: str, limit: int = 200) -> list[str]:
    """UUIDs of indicators (the part after ``indicator--``) starting with ``prefix``, for completion."""
    start = STIX_PREFIX + prefix.strip().lower().removeprefix(STIX_PREFIX)
    rows = conn.execute("SELECT DISTINCT sid FROM ind WHERE sid >= ? AND sid < ? ORDER BY sid LIMIT ?",
                        (start, start + "\U0010ffff", limit)).fetchall()
    return [str(r[0]).removeprefix(STIX_PREFIX) for r in rows]


def _clip(value: str | None, width: int = 40) -> str:
    text = value or "(pattern)"
    return text if len(text) <= width else text[:width - 1] + "…"
