"""MISP event JSON: attributes (top level and inside objects) mapped to indicators; an event written back.

Accepted shapes: ``{"Event": {...}}``, a bare event, ``{"response": [{"Event": ...}, ...]}`` and
``{"response": {"Attribute": [...]}}``. Attributes with ``to_ids: false`` are context, not indicators, and are
skipped (counted); so are types with no indicator form (AS, filename, text...). An event's ``tlp:`` tag gives
its TLP unless ``--tlp`` is given; the event's ``info`` becomes the indicators' name.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, Any

from cbm.core.canonical import loads
from cbm.core.errors import MalformedInput
from cbm.measures.indicators import model
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import (
    Defaults,
    EmptyFeed,
    Item,
    LineError,
    ReadNotes,
    blank,
    build_row,
    misp_origin,
)
from cbm.measures.indicators.formats.jsonbytes import ByteSink, dumps
from cbm.measures.indicators.formats.misp_origin import (
    NO_ORIGIN,
    Origin,
    attribute_origin,
    cluster_country,
    object_origin,
    referenced_origins,
)

MISP_TYPES: dict[str, str] = {
    "ip-dst": "", "ip-src": "", "ip-dst|port": "", "ip-src|port": "",
    "domain": "domain-name", "hostname": "domain-name", "hostname|port": "domain-name",
    "url": "url", "uri": "url", "email": "email-addr", "email-src": "email-addr", "email-dst": "email-addr",
    "md5": "file-md5", "sha1": "file-sha1", "sha256": "file-sha256",
    "filename|md5": "file-md5", "filename|sha1": "file-sha1", "filename|sha256": "file-sha256",
    "domain|ip": "domain|ip", "stix2-pattern": model.PATTERN_TYPE,
}
TLP_TAGS = {"tlp:clear": "CLEAR", "tlp:white": "CLEAR", "tlp:green": "GREEN", "tlp:amber": "AMBER",
            "tlp:amber+strict": "AMBER+STRICT", "tlp:red": "RED"}


def _events(doc: Any) -> list[Any] | None:
    """The events a document holds (each still to be checked: a peer's file may hold anything in their place)."""
    if isinstance(doc, dict) and isinstance(doc.get("Event"), dict):
        return [doc["Event"]]
    if isinstance(doc, dict) and "response" in doc:
        response = doc["response"]
        if isinstance(response, dict):
            return [response]
        if isinstance(response, list):
            return [e.get("Event", e) if isinstance(e, dict) else e for e in response]
        return None
    if isinstance(doc, dict) and ("Attribute" in doc or "Object" in doc):
        return [doc]
    if isinstance(doc, list):
        return [e.get("Event", e) if isinstance(e, dict) else e for e in doc]
    return None


def _list(value: Any, what: str) -> list[Any]:
    """A MISP list field: absent or null is empty; anything but a list is refused (raises BadValue)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise model.BadValue(f"{what} is not a list")
    return value


def _tlp(tags: Any) -> str | None:
    """The TLP a ``Tag`` list gives. Raises BadValue when ``Tag`` is not a list: its label cannot be ignored."""
    for tag in _list(tags, "Tag"):
        name = tag.get("name") if isinstance(tag, dict) else None
        if isinstance(name, str) and name.strip().lower() in TLP_TAGS:
            return TLP_TAGS[name.strip().lower()]
    return None


def read(stream: IO[bytes], d: Defaults, notes: ReadNotes) -> Iterator[Item | LineError]:
    data = stream.read()
    if blank(data):
        raise EmptyFeed("the file is empty: no MISP event to import")
    try:
        doc = loads(data, maybe_canonical=False)  # MISP writes its own layout, never cbm's canonical JSON
    except MalformedInput as e:
        yield LineError(1, str(e), "file")
        return
    finally:
        del data  # as large as the file: not kept while the attributes are read
    events = _events(doc)
    if events is None:
        yield LineError(1, "not a MISP event (expected {\"Event\": ...} or a MISP API response)", "file")
        return
    n = 0
    for number, event in enumerate(events, 1):
        try:
            if not isinstance(event, dict):
                raise model.BadValue("not a MISP event")
            info = event.get("info") if isinstance(event.get("info"), str) else None
            event_tlp = _tlp(event.get("Tag"))
            attributes: list[tuple[Any, Any, Origin]] = [
                (a, None, NO_ORIGIN) for a in _list(event.get("Attribute"), "Attribute")]
            objects = event.get("Object")
            objects = [o for o in ([objects] if isinstance(objects, dict) else _list(objects, "Object"))
                       if isinstance(o, dict)]
            referenced = referenced_origins(objects)
            for obj in objects:
                found = object_origin(obj)
                attributes.extend((a, obj.get("name"), found) for a in _list(obj.get("Attribute"), "Attribute"))
        except model.BadValue as e:
            yield LineError(number, str(e), "event")
            continue
        # from here the attributes are held by `attributes` alone, and each is let go once read: the parsed
        # event (most of the memory a large import takes) shrinks as the indicators made of it grow
        del objects
        event.clear()
        attributes.reverse()
        while attributes:
            attribute, object_name, inherited = attributes.pop()
            n += 1
            if not isinstance(attribute, dict):
                yield LineError(n, "not a MISP attribute", "attribute")
                continue
            attribute_uuid = attribute.get("uuid")
            origin = attribute_origin(attribute, referenced.get(attribute_uuid, inherited)
                                      if isinstance(attribute_uuid, str) else inherited)
            yield from _attribute(n, attribute, object_name if isinstance(object_name, str) else None, info,
                                  event_tlp, d, notes, origin)
    if n == 0:
        raise EmptyFeed("the MISP event is empty: no attributes to import")


def _attribute(n: int, a: dict[str, Any], object_name: str | None, info: str | None, event_tlp: str | None,
               d: Defaults, notes: ReadNotes, origin: Origin = (None, None)) -> Iterator[Item | LineError]:
    misp_type, value = a.get("type"), a.get("value")
    if not isinstance(misp_type, str) or not isinstance(value, str):
        yield LineError(n, "attribute without type or value", "attribute")
        return
    if not _for_ids(a.get("to_ids")):
        notes.skip("attributes not marked for IDS (to_ids false)")  # context, not indicators
        return
    if misp_type not in MISP_TYPES:
        notes.skip(f"MISP {misp_type} attributes (no indicator form)")
        return
    kind = MISP_TYPES[misp_type]
    try:
        tlp = d.tlp if d.tlp_forced else (_tlp(a.get("Tag")) or event_tlp or d.tlp)
    except model.BadValue as e:
        yield LineError(n, str(e), "attribute")
        return
    comment = a.get("comment") if isinstance(a.get("comment"), str) and a.get("comment") else None
    name = info or object_name
    if misp_type.startswith("filename|"):
        if "|" not in value:
            yield LineError(n, f"{misp_type} value {value[:80]!r} has no '|' between file name and hash",
                            "attribute")
            return
        value = value.split("|", 1)[1]
    elif misp_type.endswith("|port"):
        value = value.rsplit("|", 1)[0]
    pairs = [("domain-name", value.split("|", 1)[0]), ("", value.split("|", 1)[1] if "|" in value else "")] \
        if kind == "domain|ip" else [(kind, value)]
    for pair_kind, pair_value in pairs:
        try:
            if pair_kind == "" and misp_type.startswith("ip") is False and not pair_value:
                raise model.BadValue(f"{misp_type} value {value!r} has no IP part")
            if pair_kind == model.PATTERN_TYPE:
                row = build_row(d, pair_kind, "", pattern=pair_value, name=name, description=comment,
                                origin=origin[0], asn=origin[1])
            else:
                row = build_row(d, pair_kind, pair_value, name=name, description=comment, origin=origin[0],
                                asn=origin[1])
            if pair_kind == "" and row[R.TYPE] not in ("ipv4-addr", "ipv6-addr"):
                raise model.BadValue(f"{pair_value!r} is not an IP address")
            _context(row[R.ID], a.get("Galaxy"), d.author, notes)
            yield Item(row, tlp)
        except model.BadValue as e:
            where = a.get("uuid") if isinstance(a.get("uuid"), str) else ""
            yield LineError(n, f"{misp_type} {where}: {e}".replace("  ", " "), "attribute")


_NOT_FOR_IDS = (False, 0, "0", "false", "False")

def _for_ids(flag: Any) -> bool:
    """Whether an attribute is marked for IDS. MISP writes ``to_ids`` as a boolean, older exports and feeds as
    ``0``/``"0"``; absent means yes (the type's default in MISP is IDS for every type cbm imports)."""
    return flag not in _NOT_FOR_IDS


def _context(indicator_id: str, galaxies: Any, author: str, notes: ReadNotes) -> None:
    """The malware, campaigns, tools... an attribute's galaxies name, kept as STIX objects in the batch (each
    once), each with an ``indicates`` relationship from the indicator: the context the export writes back as
    galaxies. Clusters of other galaxy types, or malformed ones, are counted and left out."""
    if not isinstance(galaxies, list):
        return
    for g in galaxies:
        clusters = g.get("GalaxyCluster") if isinstance(g, dict) else None
        for cluster in clusters if isinstance(clusters, list) else []:
            if cluster_country(cluster, g.get("type")) is not None:
                continue  # the indicator's origin territory (read by _attribute_origin)
            obj = _cluster_object(cluster, g.get("type"))
            if obj is None:
                notes.skip("MISP galaxy clusters with no STIX form (kept: malware, campaigns, tools...)")
                continue
            if obj["id"] not in notes.context_ids:
                notes.context_ids.add(obj["id"])
                notes.objects.append(obj)
                notes.kept_objects[obj["type"]] = notes.kept_objects.get(obj["type"], 0) + 1
            rel = {"type": "relationship", "spec_version": "2.1",
                   "id": model.object_id("relationship", f"{indicator_id}|indicates|{obj['id']}"),
                   "created": _CONTEXT_TIME, "modified": _CONTEXT_TIME, "created_by_ref": model.identity_id(author),
                   "relationship_type": "indicates", "source_ref": indicator_id, "target_ref": obj["id"]}
            if rel["id"] not in notes.context_ids:
                notes.context_ids.add(rel["id"])
                notes.objects.append(rel)
                notes.kept_objects["relationship"] = notes.kept_objects.get("relationship", 0) + 1


_CONTEXT_TIME = "2013-06-17T00:00:00.000Z"  # fixed: importing the same event again adds nothing


def _cluster_object(cluster: Any, galaxy_type: Any) -> dict[str, Any] | None:
    """The STIX object for a galaxy cluster of a type STIX has (``stix-2.1-malware`` or ``malware``...), under
    the cluster's uuid; None for other galaxies (countries, sectors...) and clusters without uuid or name."""
    if not isinstance(cluster, dict):
        return None
    kind = cluster.get("type") if isinstance(cluster.get("type"), str) else galaxy_type
    if not isinstance(kind, str):
        return None
    kind = kind.removeprefix("stix-2.1-").removeprefix("stix-2.0-")
    value, cluster_uuid = cluster.get("value"), cluster.get("uuid")
    if kind not in GALAXY_TYPES or not isinstance(value, str) or not value or not isinstance(cluster_uuid, str):
        return None
    try:
        oid = f"{kind}--{uuid.UUID(cluster_uuid)}"
    except ValueError:
        return None
    obj: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": oid, "created": _CONTEXT_TIME,
                           "modified": _CONTEXT_TIME, "name": value}
    if isinstance(cluster.get("description"), str) and cluster["description"]:
        obj["description"] = cluster["description"]
    if kind == "malware":
        obj["is_family"] = True  # a MISP malware galaxy names families (malpedia, android...), not samples
    return obj


# -- export ----------------------------------------------------------------------------------------------

# Type and category per cbm type; each category is one MISP allows for the type (describeTypes.json's
# category_type_mappings, checked by PyMISP's strict loading in the tests). See docs/adr/0167-misp-export.md.
_TO_MISP = {"ipv4-addr": ("ip-dst", "Network activity"), "ipv6-addr": ("ip-dst", "Network activity"),
            "domain-name": ("domain", "Network activity"), "url": ("url", "Network activity"),
            "email-addr": ("email-src", "Payload delivery"), "file-md5": ("md5", "Payload delivery"),
            "file-sha1": ("sha1", "Payload delivery"), "file-sha256": ("sha256", "Payload delivery")}
_NETWORK_OBJECTS = ("ipv4-addr:", "ipv6-addr:", "domain-name:", "url:", "network-traffic:", "email-addr:",
                    "email-message:", "mac-addr:")
# STIX object types MISP carries as galaxies (misp-stix turns a `stix-2.1-<type>` cluster back into that object)
GALAXY_TYPES = ("attack-pattern", "campaign", "course-of-action", "intrusion-set", "malware", "threat-actor",
                "tool", "vulnerability")


def _pattern_category(pattern: str) -> str:
    """The category of a ``stix2-pattern`` attribute: network activity when the pattern observes the network,
    else payload installation (MISP's own default for the type); both are allowed for ``stix2-pattern``."""
    return "Network activity" if any(o in pattern for o in _NETWORK_OBJECTS) else "Payload installation"


def org(party: str) -> dict[str, str]:
    """The MISP organisation of a party: its code and, as uuid, the uuid of its STIX identity (stable)."""
    return {"name": party, "uuid": model.identity_id(party).split("--", 1)[1]}


def attribute(author: str, tlp: str, row: list[Any], modified: str,
              galaxies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The MISP attribute for a batch row, with the galaxies (malware, campaigns...) its indicator is linked to.
    A free STIX pattern is a ``stix2-pattern`` attribute; :func:`pattern_object` wraps it as MISP wants it."""
    if row[R.TYPE] == model.PATTERN_TYPE:
        misp_type, category, value = "stix2-pattern", _pattern_category(row[R.PATTERN]), row[R.PATTERN]
    else:
        (misp_type, category), value = _TO_MISP[row[R.TYPE]], row[R.VALUE]
    attr: dict[str, Any] = {"uuid": row[R.ID].split("--", 1)[1], "type": misp_type, "category": category,
                            "value": value, "to_ids": True, "timestamp": str(_epoch(modified)),
                            "comment": row[R.DESCRIPTION] or "",
                            "Tag": [{"name": f"tlp:{tlp.lower()}"}, {"name": f"cbm:author=\"{author}\""}]}
    if row[R.VALID_UNTIL]:
        attr["last_seen"] = row[R.VALID_UNTIL]
    country, number = R.origin_of(row)
    if country is not None:
        attr["Tag"].append({"name": misp_origin.country_tag(country)})
        galaxies = [*(galaxies or []), misp_origin.country_galaxy(country)]
    if galaxies:
        attr["Galaxy"] = galaxies
    if number is not None:
        attr["asn"] = number  # read by EventWriter: an asn object referencing this attribute
    return attr


def mark_flagged(attr: dict[str, Any], flags: list[str]) -> None:
    """Mark an attribute the landing checks flagged: not for detection (``to_ids`` false, as MISP itself does
    for warninglist hits) and one ``cbm:flag="..."`` tag per rule or list."""
    if not flags:
        return
    attr["to_ids"] = False
    attr["Tag"].extend({"name": f"cbm:flag=\"{flag}\""} for flag in flags)


STIX2_PATTERN_TEMPLATE = ("0c5bd072-7c3e-4d45-86f7-a8104d9143b9", "4")  # misp-objects' stix2-pattern, v4


def pattern_object(attr: dict[str, Any]) -> dict[str, Any]:
    """A ``stix2-pattern`` attribute inside MISP's ``stix2-pattern`` object (template v4), the form misp-stix
    converts into a STIX indicator (a bare ``stix2-pattern`` attribute it cannot map). The object has the
    indicator's uuid; the attribute a uuid derived from it."""
    inner = dict(attr, object_relation="stix2-pattern",
                 uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, "cbm:stix2-pattern:" + attr["uuid"])))
    version = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, "cbm:stix2-pattern-version:" + attr["uuid"])),
               "object_relation": "version", "type": "text", "category": "Other", "value": "stix 2.1",
               "to_ids": False, "disable_correlation": True, "timestamp": attr["timestamp"]}
    return {"uuid": attr["uuid"], "name": "stix2-pattern", "meta-category": "misc",
            "template_uuid": STIX2_PATTERN_TEMPLATE[0], "template_version": STIX2_PATTERN_TEMPLATE[1],
            "description": "An object describing a STIX pattern.", "timestamp": attr["timestamp"],
            "distribution": "5", "comment": attr["comment"], "Attribute": [inner, version]}


@lru_cache(maxsize=256)
def _epoch(iso: str) -> int:
    """Seconds since 1970 (cached: every attribute of one batch record has its time)."""
    from cbm.core.clock import parse_time

    return int(parse_time(iso).timestamp())


def galaxy(obj: dict[str, Any]) -> dict[str, Any]:
    """A STIX malware, campaign, tool... object as a MISP galaxy of one cluster. The cluster's uuid is the
    object's, so misp-stix gives it back its STIX id; name, description and the object's own labels are kept."""
    kind = obj["type"]
    galaxy_type = f"stix-2.1-{kind}"
    cluster: dict[str, Any] = {"uuid": obj["id"].split("--", 1)[1], "type": galaxy_type,
                               "value": obj.get("name") if isinstance(obj.get("name"), str) else obj["id"]}
    if isinstance(obj.get("description"), str):
        cluster["description"] = obj["description"]
    return {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:galaxy:{galaxy_type}")), "type": galaxy_type,
            "name": f"STIX 2.1 {kind}", "namespace": "stix-2.1", "GalaxyCluster": [cluster]}


class Context:
    """The malware, campaigns, tools... each indicator is linked to by a relationship (either way) in the
    related objects of its batch, as MISP galaxies. Built once per batch record as an export streams."""

    def __init__(self) -> None:
        self.by_batch: dict[int, dict[str, list[dict[str, Any]]]] = {}

    def galaxies(self, batch: int, objects: Any, indicator_id: str) -> list[dict[str, Any]]:
        linked = self.by_batch.get(batch)
        if linked is None:
            linked = self.by_batch[batch] = _linked(objects if isinstance(objects, list) else [])
        return linked.get(indicator_id, [])


def _linked(objects: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """indicator id -> galaxies of the objects a relationship links it to (each object once, in source order)."""
    related = {o["id"]: o for o in objects if isinstance(o, dict) and o.get("type") in GALAXY_TYPES
               and isinstance(o.get("id"), str) and "--" in o["id"]}
    linked: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, str]] = set()
    for rel in objects:
        if not isinstance(rel, dict) or rel.get("type") != "relationship":
            continue
        ends = (rel.get("source_ref"), rel.get("target_ref"))
        for mine, other in (ends, ends[::-1]):
            if isinstance(mine, str) and mine.startswith("indicator--") and isinstance(other, str) \
                    and other in related and (mine, other) not in seen:
                seen.add((mine, other))
                linked.setdefault(mine, []).append(galaxy(related[other]))
    return linked


class EventWriter:
    """Streams one MISP event ``{"Event": {..., "Attribute": [...], "Object": [...]}}`` as UTF-8 to a binary
    stream: attributes as they come, objects (free STIX patterns) spooled to a temporary file and written after
    them."""

    def __init__(self, out: ByteSink, party: str, info: str, date: str, tlp: str) -> None:
        import tempfile

        self.out = out
        self.count = 0
        self.objects = 0
        self.spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+b")  # noqa: SIM115
        event = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cbm:{party}:{info}:{date}")), "info": info,
                 "date": date[:10], "timestamp": str(_epoch(date)), "threat_level_id": "2", "analysis": "2",
                 "distribution": "0", "published": False, "Org": org(party), "Orgc": org(party),
                 "Tag": [{"name": f"tlp:{tlp.lower()}"}]}
        head = json.dumps({"Event": event}, ensure_ascii=False)
        out.write((head[:-2] + ', "Attribute": [\n').encode("utf-8"))

    def write(self, attr: dict[str, Any]) -> None:
        number = attr.pop("asn", None)
        if number is not None:
            self._object(misp_origin.asn_object(attr, number))
        if attr["type"] == "stix2-pattern":
            self._object(pattern_object(attr))
            return
        self.out.write(b",\n" + dumps(attr) if self.count else dumps(attr))
        self.count += 1

    def _object(self, obj: dict[str, Any]) -> None:
        self.spool.write((b",\n" if self.objects else b"") + dumps(obj))
        self.objects += 1

    def close(self) -> None:
        self.out.write(b'\n], "Object": [\n')
        self.spool.seek(0)
        while chunk := self.spool.read(1 << 20):
            self.out.write(chunk)
        self.spool.close()
        self.out.write(b"\n]}}\n")
