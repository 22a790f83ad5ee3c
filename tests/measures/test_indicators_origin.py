"""Origin territory on every indicator (issue 15): an ISO 3166-1 country code and an AS number, set by the
indicator's author and signed with it; filtered and counted by `list`, `search`, `export` and `stats`; carried
through CSV, STIX 2.1, MISP and bundles (docs/adr/0193-indicator-origin.md)."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import stix2
from misp_stix_converter import MISPtoSTIX21Parser
from pymisp import MISPEvent, MISPObject
from pymisp.tools.attributevalidationtool import validate_event
from stix2validator import validate_file

from cbm.core.countries import COUNTRIES
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import stix_origin
from tests.conftest import Party


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def add(party: Party, value: str, *args: str) -> dict[str, Any]:
    r = party.cli("indicators", "add", "--value", value, *args, "--json")
    assert r.exit_code == 0, r.stderr
    return r.json()


def held(party: Party, *args: str) -> dict[str, dict[str, Any]]:
    r = party.cli("indicators", "list", "--limit", "0", "--json", *args)
    assert r.exit_code == 0, r.stderr
    return {i["value"]: i for i in r.json()["indicators"]}


def origins(party: Party) -> dict[str, tuple[str | None, int | None]]:
    return {value: (i["origin"], i["asn"]) for value, i in held(party).items()}


def send(sender: Party, receiver: Party, path: Path) -> None:
    r = sender.cli("bundle", "export", "--to", receiver.code, "-o", str(path))
    assert r.exit_code == 0, r.stderr
    r = receiver.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr


# -- add, show, list, search ------------------------------------------------------------------------------


def test_add_signs_origin_and_asn_and_show_prints_them(make_party):
    us = make_party("US")
    made = add(us, "198.51.100.23", "--origin", "ru", "--asn", "AS64500")
    assert (made["origin"], made["asn"]) == ("RU", 64500)
    r = us.cli("indicators", "show", made["id"])
    assert r.exit_code == 0, r.stderr
    assert "origin     RU AS64500 (Russian Federation), as signed by US" in r.stdout
    shown = us.cli("indicators", "show", made["id"], "--json").json()["indicators"][0]  # read from the signed row
    assert (shown["origin"], shown["origin_name"], shown["asn"]) == ("RU", "Russian Federation", 64500)


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--origin", "XX", "origin 'XX' is not an ISO 3166-1 alpha-2 country code"),
    ("--origin", "RUS", "origin 'RUS' is not an ISO 3166-1 alpha-2"),
    ("--origin", "EU", "origin 'EU' is not an ISO 3166-1 alpha-2"),
    ("--asn", "0", "AS number '0' is not a number 1-4294967295"),
    ("--asn", "4294967296", "AS number '4294967296' is not a number"),
    ("--asn", "AS-1", "AS number 'AS-1' is not a number"),
])
def test_bad_origin_or_asn_is_a_usage_error_and_changes_nothing(make_party, flag, value, message):
    us = make_party("US")
    before = us.cli("status", "--json").stdout
    r = us.cli("indicators", "add", "--value", "198.51.100.23", flag, value)
    assert r.exit_code == 2
    assert r.stderr.startswith("cbm: error: ") and message in r.stderr
    assert "Traceback" not in r.stderr
    assert held(us) == {}
    assert us.cli("status", "--json").stdout == before


def test_list_search_and_export_filter_by_origin_and_asn(make_party, tmp_path):
    us = make_party("US")
    add(us, "198.51.100.1", "--origin", "RU", "--asn", "64500")
    add(us, "198.51.100.2", "--origin", "RU", "--asn", "64501")
    add(us, "198.51.100.3", "--origin", "CN")
    add(us, "198.51.100.4")
    assert set(held(us, "--origin", "RU")) == {"198.51.100.1", "198.51.100.2"}
    assert set(held(us, "--origin", "ru", "--origin", "CN")) == {"198.51.100.1", "198.51.100.2", "198.51.100.3"}
    assert set(held(us, "--asn", "AS64501")) == {"198.51.100.2"}
    assert set(held(us, "--origin", "CN", "--asn", "64500")) == set()
    table = us.cli("indicators", "list", "--origin", "RU").stdout
    assert "198.51.100.1  (origin RU AS64500)" in table
    assert us.cli("indicators", "list", "--origin", "ZZ").exit_code == 2

    hits = us.cli("indicators", "search", "198.51.100.0/24", "--json").json()["hits"]
    assert len(hits) == 4
    only = us.cli("indicators", "search", "198.51.100.0/24", "--origin", "RU", "--json").json()["hits"]
    assert sorted(h["value"] for h in only) == ["198.51.100.1", "198.51.100.2"]
    assert {h["origin"] for h in only} == {"RU"}

    out = tmp_path / "cn.txt"
    r = us.cli("indicators", "export", "-f", "txt", "--origin", "CN", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert out.read_text().split() == ["198.51.100.3"]


def test_a_new_version_keeps_the_origin_unless_it_gives_another(make_party):
    us = make_party("US")
    add(us, "198.51.100.9", "--origin", "RU", "--asn", "64500")
    add(us, "198.51.100.9", "--confidence", "80")  # says nothing about origin: kept
    assert origins(us)["198.51.100.9"] == ("RU", 64500)
    add(us, "198.51.100.9", "--origin", "BY")
    assert origins(us)["198.51.100.9"] == ("BY", 64500)
    assert set(held(us, "--origin", "RU")) == set()  # the old version's origin left the index


def test_store_rebuild_regenerates_the_origin_index(make_party):
    us = make_party("US")
    add(us, "198.51.100.9", "--origin", "RU", "--asn", "64500")
    with us.open() as store:
        store.query(lambda conn: conn.execute("DELETE FROM ind_origin"))
    assert origins(us)["198.51.100.9"] == (None, None)
    assert us.cli("store", "rebuild").exit_code == 0
    assert origins(us)["198.51.100.9"] == ("RU", 64500)


# -- stats ------------------------------------------------------------------------------------------------


def test_stats_answers_how_many_ru_reported_from_us_territory_this_month_and_how_many_are_active(us_ru, tmp_path):
    us, ru = us_ru
    from tests.conftest import at

    with at("2026-10-20T09:00:00Z"):  # last month: not counted
        add(ru, "198.51.100.1", "--origin", "US")
    add(ru, "198.51.100.2", "--origin", "US", "--asn", "64500")
    add(ru, "198.51.100.3", "--origin", "US")
    gone = add(ru, "198.51.100.4", "--origin", "US")["id"]
    add(ru, "198.51.100.5", "--origin", "CN")
    add(us, "198.51.100.6", "--origin", "US")  # US's own report: not RU's
    assert ru.cli("indicators", "revoke", gone, "--reason", "false positive").exit_code == 0
    send(ru, us, tmp_path / "ru-us.cbm")

    r = us.cli("indicators", "stats", "--author", "RU", "--origin", "US", "--since", "2026-11-01", "--json")
    assert r.exit_code == 0, r.stderr
    stats = r.json()
    assert (stats["total"], stats["active"], stats["revoked"]) == (3, 2, 1)
    assert stats["by_origin"] == {"US": 3}
    assert stats["selection"] == {"authors": ["RU"], "origins": ["US"], "since": "2026-11-01T00:00:00Z"}
    human = us.cli("indicators", "stats", "--from", "RU", "--origin", "US", "--since", "2026-11-01").stdout
    assert "indicators by RU; originating from US; since 2026-11-01T00:00:00Z" in human
    assert "3 indicators: 2 active" in human

    everything = us.cli("indicators", "stats", "--json").json()
    assert everything["total"] == 6
    assert everything["by_origin"] == {"US": 5, "CN": 1}
    assert "by origin: US 5, CN 1" in us.cli("indicators", "stats").stdout
    assert us.cli("indicators", "stats", "--asn", "64500", "--json").json()["total"] == 1


# -- CSV --------------------------------------------------------------------------------------------------


def test_csv_columns_as_feeds_name_them_and_bad_codes_as_line_errors(make_party, tmp_path):
    us = make_party("US")
    feed = tmp_path / "feed.csv"
    feed.write_text("ip,country,asn\n198.51.100.1,ru,AS12389\n198.51.100.2,,\n198.51.100.3,ZZ,\n"
                    "198.51.100.4,US,4294967296\n")
    r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4
    assert "line 4: origin 'ZZ' is not an ISO 3166-1 alpha-2 country code" in r.stderr
    assert "line 5: AS number '4294967296'" in r.stderr
    assert held(us) == {}
    r = us.cli("indicators", "import", str(feed), "--skip-invalid", "--origin", "DE")
    assert r.exit_code == 0, r.stderr
    assert origins(us) == {"198.51.100.1": ("RU", 12389), "198.51.100.2": ("DE", None)}


def test_csv_round_trip_keeps_origin_and_asn(make_party, tmp_path):
    us, ru = make_party("US"), make_party("RU")
    add(us, "198.51.100.1", "--origin", "RU", "--asn", "64500")
    add(us, "evil.example.net", "--origin", "CN")
    add(us, "198.51.100.3")
    out = tmp_path / "out.csv"
    assert us.cli("indicators", "export", "-f", "csv", "-o", str(out)).exit_code == 0
    header = out.read_text().splitlines()[0]
    assert header.endswith(",revoked,origin,asn")
    r = ru.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["ignored_columns"] == []
    assert origins(ru) == origins(us) == {"198.51.100.1": ("RU", 64500), "evil.example.net": ("CN", None),
                                          "198.51.100.3": (None, None)}


# -- STIX -------------------------------------------------------------------------------------------------


def stix_export(party: Party, path: Path, *args: str) -> dict[str, Any]:
    r = party.cli("indicators", "export", "-f", "stix", "-o", str(path), *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(path.read_text())


def test_stix_export_relates_each_indicator_to_one_location_per_country(make_party, tmp_path):
    us = make_party("US")
    a = add(us, "198.51.100.1", "--origin", "RU", "--asn", "64500", "--name", "c2", "--description", "c2")["id"]
    b = add(us, "198.51.100.2", "--origin", "RU", "--name", "c2", "--description", "c2")["id"]
    add(us, "198.51.100.3", "--name", "c2", "--description", "c2")
    path = tmp_path / "out.json"
    bundle = stix_export(us, path)
    objects = bundle["objects"]
    locations = [o for o in objects if o["type"] == "location"]
    assert locations == [stix_origin.location("RU")]
    assert locations[0]["country"] == "RU" and locations[0]["name"] == COUNTRIES["RU"]
    systems = [o for o in objects if o["type"] == "autonomous-system"]
    assert systems == [{"type": "autonomous-system", "spec_version": "2.1", "id": systems[0]["id"],
                        "number": 64500}]
    # the id the specification derives for an autonomous system from its number (stix2 computes the same)
    assert systems[0]["id"] == stix2.AutonomousSystem(number=64500).id
    links = {(o["source_ref"], o["target_ref"]) for o in objects
             if o["type"] == "relationship" and o["relationship_type"] == "related-to"}
    assert links == {(a, locations[0]["id"]), (a, systems[0]["id"]), (b, locations[0]["id"])}
    # strict consumers: no custom content, and the validator has nothing to say about the origin objects
    parsed = stix2.parse(path.read_text(), allow_custom=False)
    assert len(parsed.objects) == len(objects)
    result = validate_file(str(path))
    assert result.is_valid
    assert [str(w) for o in result.object_results for w in o.warnings] == []
    # the same country has the same location id in another store's export
    ru = make_party("RU")
    add(ru, "203.0.113.9", "--origin", "RU")
    other = stix_export(ru, tmp_path / "ru.json")
    assert [o["id"] for o in other["objects"] if o["type"] == "location"] == [locations[0]["id"]]


def test_stix_round_trip_keeps_origin_and_writes_no_duplicate_objects(make_party, tmp_path):
    us, ru = make_party("US"), make_party("RU")
    add(us, "198.51.100.1", "--origin", "RU", "--asn", "64500")
    add(us, "198.51.100.2", "--origin", "RU")
    add(us, "198.51.100.3")
    first = tmp_path / "us.json"
    stix_export(us, first)
    r = ru.cli("indicators", "import", str(first), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["kept_objects"] == {}  # origins are read as such, not kept as related objects
    assert origins(ru) == {"198.51.100.1": ("RU", 64500), "198.51.100.2": ("RU", None),
                           "198.51.100.3": (None, None)}
    again = stix_export(ru, tmp_path / "ru.json")
    ids = [o["id"] for o in again["objects"]]
    assert len(ids) == len(set(ids))
    assert sum(o["type"] == "location" for o in again["objects"]) == 1


def test_stix_export_piped_into_another_store_keeps_origin(make_party, tmp_path):
    """From a pipe nothing can be read twice: the objects cbm writes right after an indicator still count."""
    us, ru = make_party("US"), make_party("RU")
    add(us, "198.51.100.1", "--origin", "RU", "--asn", "64500")
    add(us, "198.51.100.2", "--origin", "CN")
    data = stix_export(us, tmp_path / "us.json")
    r = ru.cli("indicators", "import", "-", "--format", "stix", input=(tmp_path / "us.json").read_text())
    assert r.exit_code == 0, r.stderr
    assert origins(ru) == {"198.51.100.1": ("RU", 64500), "198.51.100.2": ("CN", None)}
    assert data["objects"][0]["type"] == "indicator"  # the origin objects follow their indicator


def test_stix_origin_given_after_the_indicator_or_by_another_tool_is_read(make_party, tmp_path):
    """Another producer's layout: the relationship last, its own location id, an upper- or lower-case code,
    ``originates-from``; and a file read whole (pretty-printed) as well as one object per line."""
    us = make_party("US")
    indicator = {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                 "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
                 "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
                 "valid_from": "2026-11-01T00:00:00Z"}
    other = dict(indicator, id="indicator--0b5e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                 pattern="[ipv4-addr:value = '198.51.100.8']")
    location = {"type": "location", "spec_version": "2.1", "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
                "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "country": "ir"}
    system = {"type": "autonomous-system", "spec_version": "2.1",
              "id": "autonomous-system--f720c34b-98ae-597f-ade5-27ef07c2f5b4", "number": 58224}
    rels = [{"type": "relationship", "spec_version": "2.1", "id": f"relationship--{n}4e7f5b1-4a5e-4c8a-9a1c-"
             "3c1b3e1b0a7d", "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
             "relationship_type": kind, "source_ref": source, "target_ref": target}
            for n, kind, source, target in ((1, "originates-from", indicator["id"], location["id"]),
                                            (2, "related-to", indicator["id"], system["id"]),
                                            (3, "related-to", other["id"], location["id"]))]
    objects = [indicator, other, *rels, location, system]
    whole = tmp_path / "whole.json"
    whole.write_text(json.dumps({"type": "bundle", "id": "bundle--6b2f3b1e-0b0e-4a34-8d38-3f5d3f1f2e0a",
                                 "objects": objects}, indent=2))
    r = us.cli("indicators", "import", str(whole))
    assert r.exit_code == 0, r.stderr
    assert origins(us) == {"198.51.100.7": ("IR", 58224), "198.51.100.8": ("IR", None)}

    ru = make_party("RU")
    lines = tmp_path / "lines.json"
    lines.write_text('{"type": "bundle", "id": "bundle--6b2f3b1e-0b0e-4a34-8d38-3f5d3f1f2e0a", "objects": [\n'
                     + ",\n".join(json.dumps(o) for o in objects) + "\n]}\n")
    r = ru.cli("indicators", "import", str(lines))
    assert r.exit_code == 0, r.stderr
    assert origins(ru) == origins(us)


def test_stix_location_that_is_not_a_country_code_is_no_origin(make_party, tmp_path):
    us = make_party("US")
    indicator = {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                 "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
                 "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
                 "valid_from": "2026-11-01T00:00:00Z"}
    location = {"type": "location", "spec_version": "2.1", "id": "location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
                "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
                "country": "Atlantis"}
    rel = {"type": "relationship", "spec_version": "2.1", "id": "relationship--14e7f5b1-4a5e-4c8a-9a1c-3c1b3e1b0a7d",
           "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
           "relationship_type": "related-to", "source_ref": indicator["id"], "target_ref": location["id"]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--6b2f3b1e-0b0e-4a34-8d38-3f5d3f1f2e0a",
                                "objects": [indicator, location, rel]}))
    r = us.cli("indicators", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    assert origins(us) == {"198.51.100.7": (None, None)}
    assert r.json()["kept_objects"] == {"location": 1, "relationship": 1}  # kept as they came, as before


# -- MISP -------------------------------------------------------------------------------------------------


def test_misp_export_loads_strictly_converts_to_a_stix_location_and_round_trips(make_party, tmp_path):
    us, ru = make_party("US"), make_party("RU")
    a = add(us, "198.51.100.1", "--origin", "RU", "--asn", "64500")["id"]
    b = add(us, "update-check.example.net", "--origin", "KP")["id"]
    add(us, "198.51.100.3", "--asn", "64501")
    path = tmp_path / "event.json"
    r = us.cli("indicators", "export", "-f", "misp", "-o", str(path))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(path.read_text())
    event = MISPEvent(strict_validation=True)
    event.load(copy.deepcopy(doc))
    tags = {a.value: [t.name for t in a.tags] for a in event.attributes}
    assert 'misp-galaxy:country="russian federation"' in tags["198.51.100.1"]
    asn_objects = [o for o in event.objects if o.name == "asn"]
    assert len(asn_objects) == 2
    assert {o.get_attributes_by_relation("asn")[0].value for o in asn_objects} == {"AS64500", "AS64501"}

    for obj in doc["Event"]["Object"]:  # strict: the asn objects satisfy misp-objects' template
        MISPObject(obj["name"], strict=True).from_dict(**copy.deepcopy(obj))
    errors: dict[str, list[str]] = defaultdict(list)
    validate_event(copy.deepcopy(doc["Event"]), errors)
    assert dict(errors) == {}

    # misp-stix turns the country galaxy into a STIX location related to the indicator (related-to, as cbm)
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event(doc)
    assert not parser.errors and not parser.warnings, (parser.errors, parser.warnings)
    bundle = {o["id"]: o for o in json.loads(parser.bundle.serialize())["objects"]}
    located = {(r["source_ref"].split("--")[1], bundle[r["target_ref"]]["country"]) for r in bundle.values()
               if r["type"] == "relationship" and r["target_ref"].startswith("location--")}
    assert located == {(a.split("--")[1], "RU"), (b.split("--")[1], "KP")}

    r = ru.cli("indicators", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    assert origins(ru) == {"198.51.100.1": ("RU", 64500), "update-check.example.net": ("KP", None),
                           "198.51.100.3": (None, 64501)}
    assert r.json()["skipped"].get("MISP galaxy clusters with no STIX form (kept: malware, campaigns, tools...)") \
        is None


def test_misp_asn_and_geolocation_objects_and_country_tags_give_the_origin(make_party, tmp_path):
    us = make_party("US")
    event = {"Event": {"info": "feed", "Attribute": [
        {"uuid": "5b1a2c3d-0000-4000-8000-000000000001", "type": "ip-dst", "value": "198.51.100.1",
         "to_ids": True, "Tag": [{"name": 'misp-galaxy:country="russia"'}]},
        {"uuid": "5b1a2c3d-0000-4000-8000-000000000002", "type": "ip-dst", "value": "198.51.100.2",
         "to_ids": True, "Tag": [{"name": 'misp-galaxy:country="nowhere"'}]}],
        "Object": [
            {"name": "asn", "Attribute": [
                {"object_relation": "asn", "type": "AS", "value": "AS174", "to_ids": False},
                {"object_relation": "country", "type": "text", "value": "US", "to_ids": False},
                {"object_relation": "subnet-announced", "type": "ip-src", "value": "198.51.100.128/25",
                 "to_ids": True}]},
            {"name": "geolocation", "Attribute": [
                {"object_relation": "countrycode", "type": "text", "value": "de", "to_ids": False}],
             "ObjectReference": [{"referenced_uuid": "5b1a2c3d-0000-4000-8000-000000000002",
                                  "relationship_type": "located-at"}]}]}}
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(event))
    r = us.cli("indicators", "import", str(path))
    assert r.exit_code == 0, r.stderr
    assert origins(us) == {"198.51.100.1": ("RU", None), "198.51.100.2": ("DE", None),
                           "198.51.100.128/25": ("US", 174)}


# -- bundles and hostile peers ------------------------------------------------------------------------------


def test_origin_travels_in_a_real_bundle_between_two_stores(us_ru, tmp_path):
    us, ru = us_ru
    add(ru, "198.51.100.1", "--origin", "US", "--asn", "64500")
    add(ru, "198.51.100.2", "--origin", "US")
    add(ru, "198.51.100.3")
    send(ru, us, tmp_path / "ru-us.cbm")
    assert origins(us) == {"198.51.100.1": ("US", 64500), "198.51.100.2": ("US", None),
                           "198.51.100.3": (None, None)}
    assert set(held(us, "--from", "RU", "--origin", "US")) == {"198.51.100.1", "198.51.100.2"}


@pytest.mark.parametrize(("origin", "asn"), [
    ("ZZ", None), ("ru", None), ("RU\n", None), (["RU"], None), ({"country": "RU"}, None), (7, None),
    (None, 0), (None, -5), (None, 2**32), (None, "64500"), (None, True), ("\u202eUS", [1]),
])
def test_a_peers_bad_origin_is_read_as_none_and_the_indicator_stands(us_ru, tmp_path, origin, asn):
    """RU signs a batch whose origin cells are not valid: the record lands and is kept, the indicator is listed,
    shown and exported, without an origin; nothing crashes."""
    us, ru = us_ru
    row: list[Any] = [None] * len(R.FIELDS)
    row[R.ID], row[R.TYPE], row[R.VALUE] = "indicator--0b5e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "ipv4-addr", \
        "198.51.100.77"
    row[R.ORIGIN], row[R.ASN] = origin, asn
    with ru.open() as store:
        store.append("indicators.batch", {"fields": list(R.FIELDS), "rows": [R.trim(row)]}, to=("*",),
                     tlp="GREEN")
    send(ru, us, tmp_path / "ru-us.cbm")
    assert origins(us) == {"198.51.100.77": (None, None)}
    assert us.cli("status", "--json").json().get("malformed", 0) in (0, {}, [])  # kept as a good record
    shown = us.cli("indicators", "show", row[R.ID])
    assert shown.exit_code == 0 and "origin" not in shown.stdout.split("{", 1)[0]
    for fmt in ("stix", "csv", "misp"):
        r = us.cli("indicators", "export", "-f", fmt, "-o", str(tmp_path / f"out.{fmt}"))
        assert r.exit_code == 0, (fmt, r.stderr)
    assert "location" not in (tmp_path / "out.stix").read_text()
    assert us.cli("indicators", "stats", "--json").json()["by_origin"] == {}


def test_rows_written_before_origin_existed_are_read_positionally():
    old = {"fields": list(R.FIELDS_BEFORE_ORIGIN), "rows": [["indicator--x", "ipv4-addr", "198.51.100.1"]]}
    assert R.column_map(old["fields"]) == list(range(len(R.FIELDS)))
    rows = R.rows_of(old)
    assert rows[0][:3] == ["indicator--x", "ipv4-addr", "198.51.100.1"]
    assert R.origin_of(rows[0]) == (None, None)
