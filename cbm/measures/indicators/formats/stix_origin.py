"""An indicator's origin territory in STIX 2.1: a ``location`` (its ``country``) and an ``autonomous-system``
(its ``number``), each related to the indicator by a ``related-to`` relationship (docs/adr/0193-indicator-origin.md).

STIX 2.1 defines no relationship from an indicator to a location (``originates-from`` is for malware, campaigns,
intrusion sets and threat actors; ``located-at`` for identities and infrastructure): ``related-to`` is the one
common relationship the specification allows between any two objects, so ``stix2`` parses it without custom
content, ``stix2-validator`` raises no warning, and OpenCTI (whose schema allows ``related-to`` between any two
entities) shows the country on the indicator. Reading accepts ``related-to`` and ``originates-from``.

Writing: :class:`OriginObjects` takes an indicator's row and yields the extra objects, a location once per
country and an autonomous system once per number in one export, and one relationship per indicator and target.
Ids are deterministic: the same country has the same location id in every export of every store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from cbm.core.countries import COUNTRIES, asn_number, country_code
from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import stix_time

RELATIONSHIP_TYPE = "related-to"
READ_RELATIONSHIP_TYPES = ("related-to", "originates-from")
DESCRIPTION = "appears to originate from"
_FIXED_TIME = "2013-06-17T00:00:00.000Z"  # the 2013 agreement: location objects are the same in every export
# STIX 2.1 section 2.9: the namespace of deterministic (UUIDv5) ids of cyber-observable objects
_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")


def location_id(country: str) -> str:
    """The location id of a country: the same in every export."""
    return model.object_id("location", f"country {country}")


def autonomous_system_id(number: int) -> str:
    """The STIX id of AS ``number``: the UUIDv5 the specification derives from its ``number`` property."""
    return "autonomous-system--" + str(uuid.uuid5(_SCO_NAMESPACE, '{"number":' + str(number) + "}"))


def location(country: str) -> dict[str, Any]:
    """The STIX location of a country (its ISO 3166-1 code and English short name)."""
    return {"type": "location", "spec_version": "2.1", "id": location_id(country), "created": _FIXED_TIME,
            "modified": _FIXED_TIME, "name": COUNTRIES[country], "country": country}


def autonomous_system(number: int) -> dict[str, Any]:
    return {"type": "autonomous-system", "spec_version": "2.1", "id": autonomous_system_id(number), "number": number}


def relationship(author: str, tlp: str, sid: str, target: str, modified: str) -> dict[str, Any]:
    """``sid`` related-to ``target`` (its origin), by the indicator's author, at the indicator's TLP."""
    time = stix_time(modified)
    return {"type": "relationship", "spec_version": "2.1",
            "id": model.object_id("relationship", f"origin\n{author}\n{sid}\n{target}"), "created": time,
            "modified": time, "created_by_ref": model.identity_id(author), "relationship_type": RELATIONSHIP_TYPE,
            "description": DESCRIPTION, "source_ref": sid, "target_ref": target,
            "object_marking_refs": [model.TLP_MARKING_IDS[tlp]]}


class OriginObjects:
    """The origin objects of one export (locations and autonomous systems written once each)."""

    def __init__(self) -> None:
        self.written: set[str] = set()

    def of(self, author: str, tlp: str, row: list[Any], modified: str) -> Iterator[dict[str, Any]]:
        """The objects an indicator's row adds to the export (none for a row without an origin)."""
        if (len(row) <= R.ORIGIN or row[R.ORIGIN] is None) and (len(row) <= R.ASN or row[R.ASN] is None):
            return
        country, number = R.origin_of(row)
        targets: list[tuple[str, dict[str, Any]]] = []
        if country is not None:
            target = location_id(country)
            targets.append((target, {} if target in self.written else location(country)))
        if number is not None:
            target = autonomous_system_id(number)
            targets.append((target, {} if target in self.written else autonomous_system(number)))
        for target, obj in targets:
            if obj:
                self.written.add(target)
                yield obj
            yield relationship(author, tlp, row[R.ID], target, modified)


# -- reading ---------------------------------------------------------------------------------------------


class OriginReader:
    """What a STIX input says about its indicators' origins, gathered from its locations, autonomous systems and
    relationships in any order they come (see :func:`cbm.measures.indicators.formats.stix.read`)."""

    def __init__(self) -> None:
        self.targets: dict[str, tuple[str | None, int | None]] = {}  # location / AS id -> (country, number)
        self.links: dict[str, list[str]] = {}  # indicator id -> target ids
        self.consumed: set[str] = set()  # ids of relationships read as origins (not kept as related objects)

    def offer(self, obj: dict[str, Any]) -> None:
        """Note ``obj`` if it is a country location, an autonomous system or a relationship to one."""
        kind, oid = obj.get("type"), obj.get("id")
        if not isinstance(oid, str):
            return
        if kind == "location" and isinstance(obj.get("country"), str):
            code = country_code(obj["country"])
            if code is not None:
                self.targets[oid] = (code, None)
        elif kind == "autonomous-system":
            number = asn_number(obj.get("number"))
            if number is not None:
                self.targets[oid] = (None, number)
        elif kind == "relationship" and obj.get("relationship_type") in READ_RELATIONSHIP_TYPES:
            source, target = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(source, str) and source.startswith("indicator--") and isinstance(target, str) \
                    and target.startswith(("location--", "autonomous-system--")):
                links = self.links.setdefault(source, [])
                if target not in links:
                    links.append(target)

    def is_origin_link(self, obj: dict[str, Any]) -> bool:
        """Whether ``obj`` is a relationship this reader turned into an origin (and need not be kept)."""
        if obj.get("type") != "relationship" or obj.get("relationship_type") not in READ_RELATIONSHIP_TYPES:
            return False
        source, target = obj.get("source_ref"), obj.get("target_ref")
        return isinstance(source, str) and source in self.links and isinstance(target, str) and target in self.targets

    def is_own_target(self, obj: dict[str, Any]) -> bool:
        """Whether ``obj`` is a location or autonomous system exactly as an export writes it again."""
        oid = obj.get("id")
        found = self.targets.get(oid) if isinstance(oid, str) else None
        if found is None:
            return False
        country, number = found
        return oid == (location_id(country) if country else autonomous_system_id(number or 0))

    def origin(self, sid: str) -> tuple[str | None, int | None]:
        """(country, AS number) the input gives indicator ``sid`` (the first of each, when it gives several)."""
        country: str | None = None
        number: int | None = None
        for target in self.links.get(sid, ()):
            found = self.targets.get(target)
            if found is None:
                continue
            country = country or found[0]
            number = number if number is not None else found[1]
        return country, number
