"""The shape of the indicator index's current rows as the queries read them: the columns selected and the
named tuple they come back as. Kept apart from :mod:`cbm.measures.indicators.index`, which folds records
(and loads what landing needs), so that a reading command (`indicators search`, `list`) loads no index module."""

from __future__ import annotations

from typing import NamedTuple

COLUMNS = ("k, author, sid, rec, pos, type, value, tlp, COALESCE(created, modified), modified,"
           " COALESCE(valid_from, modified), valid_until, confidence,"
           " sectors, versions, revoked")
CHUNK = 400  # ids to one IN (...) query


class IndicatorRow(NamedTuple):
    """The indexed, current state of one indicator (the full object lives in record ``rec`` at ``pos``)."""

    k: int
    author: str
    id: str
    rec: int
    pos: int
    type: str
    value: str | None
    tlp: str
    created: str
    modified: str
    valid_from: str
    valid_until: str | None
    confidence: int | None
    sectors: str | None
    versions: int
    revoked: str | None

    @property
    def sector_list(self) -> list[str]:
        return [s for s in (self.sectors or "").split(",") if s]
