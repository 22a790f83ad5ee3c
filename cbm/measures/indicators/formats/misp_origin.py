"""An indicator's origin territory in MISP (docs/adr/0193-indicator-origin.md): MISP's country galaxy
(``misp-galaxy:country="..."``, the cluster's ``meta.ISO``), the ``AS`` attribute type, and the ``asn`` and
``geolocation`` objects. Read from an attribute, its object, or an object referencing it; written as the country
galaxy and tag on the attribute and an ``asn`` object referencing it."""

from __future__ import annotations

import uuid
from typing import Any

Origin = tuple[str | None, int | None]  # (ISO 3166-1 alpha-2 code, AS number)
NO_ORIGIN: Origin = (None, None)
COUNTRY_GALAXY = "country"
_COUNTRY_TAG = 'misp-galaxy:country="'
_COUNTRY_RELATIONS = ("country", "countrycode", "country-code")  # in MISP's asn and geolocation objects


def _country_by_name(text: str) -> str | None:
    """The code of a country named as MISP's country galaxy or a feed names it (``russia``, ``US``...)."""
    from cbm.core.countries import country_code

    key = text.strip().lower()
    if len(key) == 2:
        return country_code(key)
    return _country_names().get(key)


def _country_names() -> dict[str, str]:
    global _NAMES
    if _NAMES is None:
        from cbm.core.countries import COUNTRIES

        _NAMES = {}
        for code, name in COUNTRIES.items():
            _NAMES[name.lower()] = code
            _NAMES.setdefault(name.split(",")[0].lower(), code)
        _NAMES.update(_COUNTRY_ALIASES)
    return _NAMES


_NAMES: dict[str, str] | None = None
_COUNTRY_ALIASES = {"russia": "RU", "united states of america": "US", "usa": "US", "uk": "GB", "iran": "IR",
                    "south korea": "KR", "north korea": "KP", "vietnam": "VN", "syria": "SY", "taiwan": "TW",
                    "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ", "moldova": "MD", "laos": "LA",
                    "czech republic": "CZ", "macedonia": "MK", "palestine": "PS", "great britain": "GB"}


def cluster_country(cluster: Any, galaxy_type: Any) -> str | None:
    """The code a cluster of MISP's country galaxy names (its ``meta.ISO``, else its value), or None."""
    if not isinstance(cluster, dict):
        return None
    kind = cluster.get("type") if isinstance(cluster.get("type"), str) else galaxy_type
    if kind != COUNTRY_GALAXY:
        return None
    meta = cluster.get("meta")
    iso = meta.get("ISO") if isinstance(meta, dict) else None
    for text in ([iso] if isinstance(iso, str) else iso if isinstance(iso, list) else []) + [cluster.get("value")]:
        if isinstance(text, str):
            code = _country_by_name(text)
            if code is not None:
                return code
    return None


def attribute_origin(a: dict[str, Any], inherited: Origin) -> Origin:
    """An attribute's origin: its own country galaxy cluster or ``misp-galaxy:country`` tag, else what its
    object (or an object referencing it) says. Anything unreadable counts as no origin."""
    country = None
    galaxies = a.get("Galaxy")
    for g in galaxies if isinstance(galaxies, list) else []:
        clusters = g.get("GalaxyCluster") if isinstance(g, dict) else None
        for cluster in clusters if isinstance(clusters, list) else []:
            country = country or cluster_country(cluster, g.get("type"))
    tags = a.get("Tag")
    for tag in tags if isinstance(tags, list) else []:
        name = tag.get("name") if isinstance(tag, dict) else None
        if country is None and isinstance(name, str) and name.startswith(_COUNTRY_TAG) and name.endswith('"'):
            country = _country_by_name(name[len(_COUNTRY_TAG):-1])
    return country or inherited[0], inherited[1]


def object_origin(obj: dict[str, Any]) -> Origin:
    """What a MISP object's ``AS`` attribute and ``country``/``countrycode`` attribute say (the asn and
    geolocation objects): the origin of the indicators in it, or of those it references."""
    from cbm.core.countries import asn_number

    country: str | None = None
    number: int | None = None
    attributes = obj.get("Attribute")
    for a in attributes if isinstance(attributes, list) else []:
        if not isinstance(a, dict) or not isinstance(a.get("value"), str):
            continue
        if a.get("type") == "AS" and number is None:
            number = asn_number(a["value"])
        elif a.get("object_relation") in _COUNTRY_RELATIONS and country is None:
            country = _country_by_name(a["value"])
    return country, number


def referenced_origins(objects: list[dict[str, Any]]) -> dict[str, Origin]:
    """attribute uuid -> the origin of an object (asn, geolocation) whose ObjectReference points at it."""
    found: dict[str, Origin] = {}
    for obj in objects:
        references = obj.get("ObjectReference")
        if not isinstance(references, list) or not references:
            continue
        origin = object_origin(obj)
        if origin == NO_ORIGIN:
            continue
        for ref in references:
            target = ref.get("referenced_uuid") if isinstance(ref, dict) else None
            if isinstance(target, str):
                found[target] = origin
    return found


# -- export ----------------------------------------------------------------------------------------------

ASN_TEMPLATE = ("4ec55cc6-9e49-4c64-b794-03c25c1a6587", "6")  # misp-objects' asn, v6


def galaxy_value(country: str) -> str:
    from cbm.core.countries import COUNTRIES

    return COUNTRIES[country].lower()


def country_galaxy(country: str) -> dict[str, Any]:
    """MISP's country galaxy with the one cluster of ``country`` (misp-stix turns it into a STIX location)."""
    from cbm.core.countries import COUNTRIES

    value = galaxy_value(country)
    cluster = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:country:{country}")), "type": COUNTRY_GALAXY,
               "value": value, "tag_name": _COUNTRY_TAG + value + '"', "description": COUNTRIES[country],
               "meta": {"ISO": country}}
    return {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "cbm:galaxy:country")), "type": COUNTRY_GALAXY,
            "name": "Country", "description": "Country meta information", "namespace": "misp",
            "GalaxyCluster": [cluster]}


def asn_object(attr: dict[str, Any], number: int) -> dict[str, Any]:
    """MISP's ``asn`` object for the AS an attribute appears to originate from, referencing the attribute."""
    return {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:asn:{attr['uuid']}")), "name": "asn",
            "meta-category": "network", "template_uuid": ASN_TEMPLATE[0], "template_version": ASN_TEMPLATE[1],
            "description": "Autonomous system", "timestamp": attr["timestamp"], "distribution": "5",
            "comment": "", "Attribute": [
                {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:asn-number:{attr['uuid']}")),
                 "object_relation": "asn", "type": "AS", "category": "Network activity", "value": f"AS{number}",
                 "to_ids": False, "timestamp": attr["timestamp"]}],
            "ObjectReference": [{"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:asn-ref:{attr['uuid']}")),
                                 "referenced_uuid": attr["uuid"], "relationship_type": "related-to",
                                 "timestamp": attr["timestamp"]}]}


def country_tag(country: str) -> str:
    """The ``misp-galaxy:country="..."`` tag of a country (the galaxy's value: its English short name, lower case)."""
    return _COUNTRY_TAG + galaxy_value(country) + '"'
