"""MISP at the border (issue 14, point 6): events MISP's own tools accept, context kept, non-IDS attributes read
as context.

Real public data: the OASIS APT1 and Poison Ivy STIX bundles and the stalkerware feed's MISP event, imported
into one store and exported as MISP; then checked by PyMISP in strict mode (category/type pairs, MISP's
server-side value validation, object templates) and converted to STIX 2.1 by misp-stix (MISP's converter),
whose bundle must parse strictly with ``stix2``.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import stix2
from misp_stix_converter import MISPtoSTIX21Parser
from pymisp import MISPAttribute, MISPObject
from pymisp.tools.attributevalidationtool import validate_event

from cbm.measures.indicators import model
from tests.conftest import DATA, Party

OASIS = DATA / "stix21" / "oasis-cti-documentation"
STALKERWARE = DATA / "feeds" / "stalkerware-indicators" / "misp_event.json"
SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def _import_all(party: Party, stalkerware: Path) -> Party:
    for path in (OASIS / "poisonivy.json", OASIS / "apt1.json", stalkerware, SAMPLES / "feed.csv"):
        r = party.cli("indicators", "import", str(path))
        assert r.exit_code == 0, (path, r.stderr)
    return party


@pytest.fixture
def us(make_party) -> Party:
    return _import_all(make_party("US"), STALKERWARE)


@pytest.fixture
def us_fewer_apps(make_party, tmp_path) -> Party:
    """As ``us``, with the stalkerware event's first 40 of its 1,692 android-app objects: every kind of attribute
    they carry (sha256, sha1, domain; text as context) at a 40th of misp-stix's time (stix2 objects built one by
    one, each pattern run through its validator)."""
    event = json.loads(STALKERWARE.read_text())
    event["Object"] = event["Object"][:40]
    kinds = {a["type"] for o in event["Object"] for a in o["Attribute"]}
    assert kinds == {"sha256", "sha1", "domain", "text"}, kinds
    path = tmp_path / "stalkerware-first-40.json"
    path.write_text(json.dumps(event))
    return _import_all(make_party("US"), path)


def export_misp(party: Party, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / f"{party.code}-event.json"
    r = party.cli("indicators", "export", "-f", "misp", "-o", str(out), *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(out.read_text())


def test_export_loads_in_pymisp_strict_mode(us, tmp_path):
    doc = export_misp(us, tmp_path)
    event = doc["Event"]
    assert len(event["Attribute"]) + len(event["Object"]) == 4748
    for attribute in event["Attribute"]:  # strict: a category MISP does not allow for the type raises
        MISPAttribute(strict=True).from_dict(**copy.deepcopy(attribute))
    for obj in event["Object"]:  # strict: the object must satisfy its misp-objects template
        misp_object = MISPObject(obj["name"], strict=True)
        misp_object.from_dict(**copy.deepcopy(obj))
        misp_object.to_dict(strict=True)
    errors: dict[str, list[str]] = defaultdict(list)
    validate_event(copy.deepcopy(event), errors)  # MISP's server-side checks of every value
    assert dict(errors) == {}
    patterns = [a for o in event["Object"] for a in o["Attribute"] if a["type"] == "stix2-pattern"]
    assert patterns and {a["category"] for a in patterns} <= {"Network activity", "Payload installation"}


def test_export_converts_with_misp_stix_and_keeps_malware_context(us_fewer_apps, tmp_path):
    doc = export_misp(us_fewer_apps, tmp_path)
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event(doc)
    assert not parser.errors and not parser.warnings, (parser.errors, parser.warnings)
    bundle = json.loads(parser.bundle.serialize())
    stix2.parse(bundle, allow_custom=False)
    objects = {o["id"]: o for o in bundle["objects"]}
    assert [o["name"] for o in objects.values() if o["type"] == "identity"] == ["US"]
    # the Poison Ivy indicators' malware and campaigns come back as the same STIX objects (same ids), linked
    source = {o["id"]: o for o in json.loads((OASIS / "poisonivy.json").read_text())["objects"]}
    malware = {oid for oid, o in objects.items() if o["type"] == "malware"}
    assert {r["target_ref"] for r in source.values() if r["type"] == "relationship"
            and r["relationship_type"] == "indicates" and r["target_ref"].startswith("malware--")} <= malware
    assert all(objects[oid]["name"] == source[oid]["name"] for oid in malware if oid in source)
    # each indicator carries, as galaxies, the malware its source linked it to
    event = doc["Event"]
    by_indicator = [(a["uuid"], a) for a in event["Attribute"]]  # STIX ids are kept: uuid = indicator's
    by_indicator += [(o["uuid"], a) for o in event["Object"] for a in o["Attribute"]]
    carried = {("indicator--" + uuid, "malware--" + c["uuid"]) for uuid, a in by_indicator
               for g in a.get("Galaxy", ()) for c in g["GalaxyCluster"] if c["type"] == "stix-2.1-malware"}
    expected = {(r["source_ref"], r["target_ref"]) for r in source.values() if r["type"] == "relationship"
                and r["relationship_type"] == "indicates" and r["target_ref"].startswith("malware--")}
    assert len(expected) == 32 and expected <= carried


def test_orgc_has_a_uuid_stable_per_party(us, make_party, tmp_path):
    first = export_misp(us, tmp_path)["Event"]
    with pytest.MonkeyPatch.context() as later:
        later.setenv("CBM_NOW", "2026-12-01T00:00:00Z")
        second = export_misp(us, tmp_path)["Event"]
    assert first["Orgc"] == second["Orgc"] == {"name": "US", "uuid": model.identity_id("US").split("--")[1]}
    ru = make_party("RU")
    ru.cli("indicators", "add", "--value", "evil.example")
    assert export_misp(ru, tmp_path)["Event"]["Orgc"]["uuid"] != first["Orgc"]["uuid"]


def test_galaxies_come_back_as_related_objects_of_the_importer(us, make_party, tmp_path):
    doc = export_misp(us, tmp_path, "--type", "pattern")
    path = tmp_path / "poisonivy.misp.json"
    path.write_text(json.dumps(doc))
    ru = make_party("RU")
    r = ru.cli("indicators", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    sent = {c["uuid"] for o in doc["Event"]["Object"] for a in o["Attribute"] for g in a.get("Galaxy", ())
            for c in g["GalaxyCluster"] if c["type"] == "stix-2.1-malware"}
    assert len(sent) > 10 and r.json()["kept_objects"]["malware"] == len(sent)
    bundle = json.loads(ru.cli("indicators", "export").stdout)
    objects = {o["id"]: o for o in bundle["objects"]}
    rels = [o for o in objects.values() if o["type"] == "relationship"]
    assert rels and all(objects[r["source_ref"]]["created_by_ref"] == model.identity_id("RU") for r in rels)
    source = json.loads((OASIS / "poisonivy.json").read_text())["objects"]
    assert {objects[r["target_ref"]]["name"] for r in rels} >= {o["name"] for o in source
                                                                  if o["id"].startswith("campaign--")}
    again = ru.cli("indicators", "import", str(path), "--json").json()  # the same event again adds nothing
    assert (again["created"], again["updated"], again["records"]) == (0, 0, 0)


def test_non_ids_attributes_are_context_not_bad_lines(make_party, tmp_path):
    event = {"Event": {"info": "context and indicators", "Attribute": [
        {"type": "domain", "category": "Network activity", "value": "c2.example.net", "to_ids": True},
        {"type": "domain", "category": "Network activity", "value": "see the report", "to_ids": False},
        {"type": "ip-dst", "category": "Network activity", "value": "n/a", "to_ids": "0"},
        {"type": "url", "category": "Network activity", "value": "not a url", "to_ids": 0},
        {"type": "text", "category": "Other", "value": "TheTruthSpy", "to_ids": False},
    ]}}
    path = tmp_path / "event.misp.json"
    path.write_text(json.dumps(event))
    us = make_party("US")
    r = us.cli("indicators", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    result = r.json()
    assert (result["created"], result["invalid"]) == (1, 0)
    assert sum(result["skipped"].values()) == 4
    bad = dict(event["Event"]["Attribute"][1], to_ids=True)  # the same value marked for IDS is a bad line
    event["Event"]["Attribute"].append(bad)
    path.write_text(json.dumps(event))
    assert us.cli("indicators", "import", str(path)).exit_code == 4
