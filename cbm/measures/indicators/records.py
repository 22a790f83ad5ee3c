"""The indicator records, typed: one frozen dataclass per kind (docs/adr/0020, 0102).

``Batch`` is the row layout of ``rows.py`` (rows in ``fields`` order, trailing nulls dropped): at a million
indicators the batch writer and the index keep working on rows, and ``Batch.from_body`` checks the layout, not
each indicator (``formats`` and ``model`` validate indicators when they are read from a feed). ``Revoke`` and
``Sighting`` bodies cbm writes go through ``from_body`` first (``service.py``); the index reads a peer's
defensively, field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cbm.core.bodies import ABSENT, Body, InvalidBody, is_int, is_str_list, present, require
from cbm.core.fields import is_iso_time, is_party_code
from cbm.measures.indicators.rows import MAX_ROWS


@dataclass(frozen=True)
class Batch(Body):
    """``indicators.batch``: up to 5,000 indicators as rows, plus the STIX objects they refer to."""

    KIND = "indicators.batch"

    fields: list[str]
    rows: list[list[Any]]
    source: str = ABSENT
    objects: list[dict[str, Any]] = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        fields = values["fields"]
        require(is_str_list(fields) and "id" in fields, "fields must list the column names, id among them")
        rows = values["rows"]
        require(isinstance(rows, list) and len(rows) <= MAX_ROWS, f"rows must list at most {MAX_ROWS} rows")
        # C-level passes: a feed lands a million rows through here
        require(set(map(type, rows)) <= {list} and (not rows or max(map(len, rows)) <= len(fields)),
                "each row must be a list no longer than fields")
        if present(values["source"]):
            require(isinstance(values["source"], str), "source must be a string")
        if present(values["objects"]):
            require(isinstance(values["objects"], list) and all(isinstance(o, dict) for o in values["objects"]),
                    "objects must list STIX objects")


@dataclass(frozen=True)
class Revoke(Body):
    """``indicators.revoke``: the author revokes its own indicators ``ids``."""

    KIND = "indicators.revoke"

    ids: list[str]
    reason: str
    ref: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_str_list(values["ids"]) and bool(values["ids"]), "ids must list STIX ids")
        require(isinstance(values["reason"], str), "reason must be a string")


@dataclass(frozen=True)
class Sighting(Body):
    """``indicators.sighting``: feedback to an indicator's author that it was seen ``count`` times."""

    KIND = "indicators.sighting"

    ref: str
    count: int
    indicator_author: str = ABSENT
    first_seen: str = ABSENT
    last_seen: str = ABSENT
    description: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(isinstance(values["ref"], str), "ref must be the indicator's STIX id")
        require(is_int(values["count"], 1), "count must be a positive integer")
        if present(values["indicator_author"]):
            require(is_party_code(values["indicator_author"]), "indicator_author must be a party code")
        for key in ("first_seen", "last_seen"):
            if present(values[key]):
                require(is_iso_time(values[key]), f"{key} must be an ISO 8601 UTC time")
        if present(values["description"]):
            require(isinstance(values["description"], str), "description must be a string")


RECORDS: dict[str, type[Body]] = {cls.KIND: cls for cls in (Batch, Revoke, Sighting)}

__all__ = ["RECORDS", "InvalidBody"]
