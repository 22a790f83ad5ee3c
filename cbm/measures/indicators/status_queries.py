"""What ``cbm status`` asks the indicator index: three counts over its tables, for the measure's attention items
(:func:`cbm.measures.indicators.attention`). Apart from :mod:`queries` so that ``status`` loads neither the query
filters nor the index module (their dataclasses and imports were a twentieth of ``status``; issue 20,
docs/adr/0229-status-loads-no-index-module.md). Every function takes the store's connection first; call it
through ``store.query(function, ...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cbm.store.indexes import Connection


def expiring(conn: Connection, author: str, now: str, soon: str) -> tuple[int, str | None]:
    """How many of ``author``'s live indicators expire in (now, soon], and the first expiry time."""
    row = conn.execute("SELECT COUNT(*), MIN(valid_until) FROM ind WHERE valid_until > ? AND valid_until <= ?"
                       " AND author = ? AND revoked IS NULL", (now, soon, author)).fetchone()
    return int(row[0]), row[1]


def new_sightings(conn: Connection, author: str, since: str) -> tuple[int, int]:
    """(sighting records, distinct indicators) of ``author``'s indicators reported by others since ``since``."""
    row = conn.execute("SELECT COUNT(*), COUNT(DISTINCT sid) FROM ind_sight WHERE indicator_author = ?"
                       " AND by_party != ? AND created >= ?", (author, author, since)).fetchone()
    return int(row[0]), int(row[1])


def flagged_total(conn: Connection) -> int:
    """How many current indicators carry at least one landing-check flag (any state: a flagged indicator stays
    out of firewall exports whether it is live, expired or revoked). Reads only the small ``ind_flag`` table, so
    ``cbm status`` stays fast on a million-indicator store."""
    return int(conn.execute("SELECT COUNT(*) FROM (SELECT DISTINCT sid, author FROM ind_flag)").fetchone()[0])
