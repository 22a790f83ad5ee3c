"""One pattern, one indicator per author, whatever ids the inputs bring (issue 14, point 4; ADR 0169).

Real data: the OASIS Poison Ivy bundle and the stalkerware feed's MISP event and CSV; the second sources are
the same indicators under other ids, as a second vendor or a re-export would write them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cbm.measures.indicators import model, pipeline
from tests.conftest import DATA, Party

POISONIVY = DATA / "stix21" / "oasis-cti-documentation" / "poisonivy.json"
STALKERWARE = DATA / "feeds" / "stalkerware-indicators"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def bundle(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--" + model.object_id("b", str(path))[3:],
                                "objects": objects}))
    return path


def stix_indicator(seed: str, pattern: str, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": model.object_id("indicator", seed),
            "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z", **extra}


def held(party: Party, value: str) -> list[dict[str, Any]]:
    hits = party.cli("indicators", "search", value, "--json")
    return [h for h in hits.json()["hits"] if h["value"] == value] if hits.exit_code == 0 else []


def test_the_same_domain_in_two_stix_files_is_one_indicator_and_keeps_its_context(make_party, tmp_path):
    us = make_party("US")
    assert us.cli("indicators", "import", str(POISONIVY)).exit_code == 0
    source = json.loads(POISONIVY.read_text())["objects"]
    first = next(o for o in source if o.get("pattern") == "[domain-name:value = 'ngcc.8800.org']")
    # a second vendor's file: the same domain (spelled without spaces) under its own id, linked to its malware
    other = stix_indicator("vendor-b", "[domain-name:value='ngcc.8800.org']", name="ngcc C2")
    malware = {"type": "malware", "spec_version": "2.1", "id": model.object_id("malware", "vendor-b"),
               "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
               "name": "vendor-b family", "is_family": True}
    link = {"type": "relationship", "spec_version": "2.1", "id": model.object_id("relationship", "vendor-b"),
            "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
            "relationship_type": "indicates", "source_ref": other["id"], "target_ref": malware["id"]}
    second = bundle(tmp_path / "vendor-b.json", [other, malware, link])
    r = us.cli("indicators", "import", str(second), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["created"], doc["updated"]) == (0, 1)
    assert any("already hold" in notice for notice in doc["notices"])
    hits = held(us, "ngcc.8800.org")
    assert [h["id"] for h in hits] == [first["id"]]  # the first id is kept
    exported = {o["id"]: o for o in json.loads(us.cli("indicators", "export").stdout)["objects"]}
    assert other["id"] not in exported and exported[first["id"]]["name"] == "ngcc C2"  # its new version
    # the second file's relationship follows the indicator it was about
    assert exported[link["id"]]["source_ref"] == first["id"] and malware["id"] in exported
    again = us.cli("indicators", "import", str(second), "--json").json()
    assert (again["created"], again["updated"], again["records"]) == (0, 0, 0)


def test_misp_then_stix_then_a_plain_list_is_one_indicator(make_party, tmp_path):
    us = make_party("US")
    assert us.cli("indicators", "import", str(STALKERWARE / "misp_event.json")).exit_code == 0
    (misp_id,) = [h["id"] for h in held(us, "protocol-a748.thetruthspy.com")]
    stix = bundle(tmp_path / "one.json",
                  [stix_indicator("x", "[domain-name:value = 'protocol-a748.thetruthspy.com']")])
    r = us.cli("indicators", "import", str(stix), "--json")
    assert r.exit_code == 0 and r.json()["created"] == 0, r.stderr
    r = us.cli("indicators", "import", str(STALKERWARE / "quad9_blocklist.txt"), "--json")
    assert r.exit_code == 0 and r.json()["unchanged"] == 926  # as without the STIX file between
    assert [h["id"] for h in held(us, "protocol-a748.thetruthspy.com")] == [misp_id]


def test_stix_then_csv_keeps_the_stix_id(make_party, tmp_path):
    us = make_party("US")
    first = stix_indicator("feed-a", "[ipv4-addr:value = '198.51.100.77']")
    assert us.cli("indicators", "import", str(bundle(tmp_path / "a.json", [first]))).exit_code == 0
    csv = tmp_path / "feed.csv"
    csv.write_text("type,value,description\nipv4-addr,198.51.100.77,seen again\nipv4-addr,198.51.100.78,new\n")
    r = us.cli("indicators", "import", str(csv), "--json").json()
    assert (r["created"], r["updated"]) == (1, 1)
    assert [h["id"] for h in held(us, "198.51.100.77")] == [first["id"]]


def test_a_large_csv_keeps_the_stix_id_of_a_value_held_through_the_reader_process(make_party, tmp_path,
                                                                                  monkeypatch):
    """A large feed's rows come from the reader process trimmed of trailing nulls (a line without labels or
    indicator types: no wider than its valid_from): the one whose pattern we hold under another id merges into
    that id as a small file's row does, and does not fail on the columns its row leaves out."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 1)  # every file through the reader process
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})  # also on a one-core machine
    us = make_party("US")
    first = stix_indicator("feed-a", "[ipv4-addr:value = '198.51.100.77']")
    assert us.cli("indicators", "import", str(bundle(tmp_path / "a.json", [first]))).exit_code == 0
    csv = tmp_path / "feed.csv"
    csv.write_text("type,value\nipv4-addr,198.51.100.77\nipv4-addr,198.51.100.78\n")
    r = us.cli("indicators", "import", str(csv), "--json")
    assert r.exit_code == 0, r.output
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (1, 0, 1)
    assert [h["id"] for h in held(us, "198.51.100.77")] == [first["id"]]


def test_a_free_pattern_is_the_same_only_byte_for_byte(make_party, tmp_path):
    us = make_party("US")
    pattern = "[domain-name:value = 'a.example' OR ipv4-addr:value = '203.0.113.9']"
    one = stix_indicator("one", pattern)
    two = stix_indicator("two", pattern)  # the same text under another id, in the same file
    three = stix_indicator("three", pattern.replace(" OR ", "  OR "))  # another spelling: another indicator
    r = us.cli("indicators", "import", str(bundle(tmp_path / "p.json", [one, two, three])), "--json").json()
    assert r["created"] == 2
    ids = {h["id"] for h in held(us, "a.example")}
    assert ids == {one["id"], three["id"]}


def test_another_partys_report_of_the_pattern_stays_its_own(us_ru, tmp_path):
    us, ru = us_ru
    ru.cli("indicators", "add", "--value", "shared.example")
    out = tmp_path / "ru.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(out)).exit_code == 0
    assert us.cli("bundle", "import", str(out)).exit_code == 0
    us.cli("indicators", "add", "--value", "shared.example")
    authors = sorted(h["author"] for h in held(us, "shared.example"))
    assert authors == ["RU", "US"]
