"""Export formats and round trips: STIX (accepted by the OASIS validator), CSV, plain lists, Suricata, MISP."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_file, validate_string

from cbm.measures.indicators.formats.stix_extension import EXTENSION_ID
from tests.conftest import DATA, Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


@pytest.fixture
def loaded(make_party) -> Party:
    us = make_party("US")
    for name in ("feed.csv", "feed-defanged.txt", "bundle.stix.json"):
        r = us.cli("indicators", "import", str(SAMPLES / name))
        assert r.exit_code == 0, r.stderr
    return us


def values(party: Party) -> set[tuple[str, str]]:
    return {(i["type"], i["value"]) for i in party.cli("indicators", "list", "--limit", "0", "--json")
            .json()["indicators"]}


def errors_of(result) -> list[str]:
    return [str(e) for o in result.object_results for e in o.errors]


def test_stix_export_is_valid_and_deterministic(loaded, tmp_path):
    sighted = loaded.cli("indicators", "search", "198.51.100.23", "--json").json()["hits"][0]["id"]
    assert loaded.cli("indicators", "sighting", sighted, "--count", "3").exit_code == 0
    revoked = loaded.cli("indicators", "search", "5d41402abc4b2a76b9719d911017c592", "--json").json()["hits"][0]
    assert loaded.cli("indicators", "revoke", revoked["id"], "--reason", "stale").exit_code == 0
    out = tmp_path / "all.stix.json"
    r = loaded.cli("indicators", "export", "--format", "stix", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert "TLP AMBER, RED" in r.stderr and r.stdout == ""
    result = validate_file(str(out), ValidationOptions(version="2.1"))
    assert result.is_valid, errors_of(result)
    bundle = json.loads(out.read_text())
    by_type: dict[str, list[dict]] = {}
    for obj in bundle["objects"]:
        by_type.setdefault(obj["type"], []).append(obj)
    assert len(by_type["indicator"]) == 22
    assert {m["name"] for m in by_type["marking-definition"]} >= {"TLP:GREEN", "TLP:AMBER", "TLP:RED"}
    assert by_type["sighting"][0]["sighting_of_ref"] == sighted and by_type["sighting"][0]["count"] == 3
    assert [i for i in by_type["indicator"] if i["id"] == revoked["id"]][0]["revoked"] is True
    assert {o["name"] for o in by_type["malware"]} == {"GridLock"} and len(by_type["relationship"]) == 2
    parties = {o["id"] for o in by_type["identity"] if o.get("extensions", {}).get(EXTENSION_ID, {}).get("party")}
    assert {i["created_by_ref"] for i in by_type["indicator"]} == parties
    again = tmp_path / "again.stix.json"
    loaded.cli("indicators", "export", "-o", str(again))
    assert again.read_bytes() == out.read_bytes()


def test_stix_round_trip_between_stores(loaded, make_party, tmp_path):
    out = tmp_path / "b.json"
    loaded.cli("indicators", "export", "-o", str(out), "--tlp-max", "GREEN")
    assert "AMBER" not in out.read_text().replace("TLP:AMBER", "")  # only the marking definitions name it
    ru = make_party("RU")
    r = ru.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["by_tlp"] == {"GREEN": 18}
    assert values(ru) == {v for v in values(loaded) if v in values(ru)} and len(values(ru)) == 18


def test_stix_export_of_oasis_apt1_stays_valid(make_party, tmp_path):
    us = make_party("US")
    us.cli("indicators", "import", str(DATA / "stix21/oasis-cti-documentation/apt1.json"))
    text = us.cli("indicators", "export").stdout
    result = validate_string(text, ValidationOptions(version="2.1"))
    assert result.is_valid, errors_of(result)
    kinds = {o["type"] for o in json.loads(text)["objects"]}
    assert {"indicator", "malware", "relationship", "threat-actor", "report"} <= kinds


def test_csv_round_trip(loaded, make_party, tmp_path):
    out = tmp_path / "out.csv"
    assert loaded.cli("indicators", "export", "-f", "csv", "-o", str(out)).exit_code == 0
    header = out.read_text().splitlines()[0]
    assert header.startswith("id,author,type,value,tlp,confidence")
    ru = make_party("RU")
    r = ru.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["invalid"] == 0
    assert values(ru) == values(loaded)
    mine = {i["value"]: i for i in loaded.cli("indicators", "list", "--json").json()["indicators"]}
    theirs = {i["value"]: i for i in ru.cli("indicators", "list", "--json").json()["indicators"]}
    for value, item in mine.items():
        for key in ("tlp", "confidence", "valid_until", "sectors"):
            assert theirs[value][key] == item[key], (value, key)


def test_txt_blocklist_per_type_round_trip(loaded, make_party, tmp_path):
    r = loaded.cli("indicators", "export", "-f", "txt", "--type", "ipv4-addr", "--tlp-max", "GREEN")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert "198.51.100.23" in lines and "203.0.113.128/25" in lines
    assert "198.51.100.0/28" not in lines  # AMBER
    assert all(re.fullmatch(r"[0-9./]+", line) for line in lines)
    out = tmp_path / "all.txt"
    loaded.cli("indicators", "export", "-f", "txt", "-o", str(out))
    ru = make_party("RU")
    r = ru.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert values(ru) == {v for v in values(loaded) if v[0] != "pattern"}


def test_suricata_rules(loaded):
    r = loaded.cli("indicators", "export", "-f", "suricata", "--sid-base", "5000000")
    assert r.exit_code == 0, r.stderr
    rules = r.stdout.splitlines()
    assert any(rule.startswith("alert ip $HOME_NET any -> [198.51.100.23] any") for rule in rules)
    dns = [rule for rule in rules if rule.startswith("alert dns")]
    assert any('content:".update-grid-portal.example"' in rule and "dns.query; dotprefix" in rule for rule in dns)
    assert any(rule.startswith("alert tls") and "tls.sni" in rule for rule in rules)
    http = [rule for rule in rules if rule.startswith("alert http")]
    assert any('http.host; content:"files.example.net"' in rule and 'content:"/ota/fw-update.bin"' in rule
               for rule in http)
    sids = [int(m) for m in re.findall(r"sid:(\d+);", r.stdout)]
    assert len(set(sids)) == len(sids) and all(5000000 <= sid < 5000000 + (1 << 28) for sid in sids)
    assert all(rule.endswith("rev:1;)") for rule in rules)
    assert "file hashes have no suricata form" in r.stderr
    assert "other than plain http://" in r.stderr


def test_suricata_escapes_hostile_values(make_party):
    us = make_party("US")
    us.cli("indicators", "add", "--value", 'http://a.example/x";sid:1;|"')
    rule = us.cli("indicators", "export", "-f", "suricata").stdout
    assert 'sid:1;|"' not in rule and "|22||3B|sid:1|3B||7C||22|" in rule


def test_misp_round_trip(loaded, make_party, tmp_path):
    out = tmp_path / "event.json"
    assert loaded.cli("indicators", "export", "-f", "misp", "-o", str(out)).exit_code == 0
    event = json.loads(out.read_text())["Event"]
    assert event["Tag"] == [{"name": "tlp:red"}]
    types = {a["type"] for a in event["Attribute"] + [a for o in event["Object"] for a in o["Attribute"]]}
    assert {"ip-dst", "domain", "url", "email-src", "md5", "sha1", "sha256", "stix2-pattern"} <= types
    ru = make_party("RU")
    r = ru.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert values(ru) == values(loaded)
    tlps = {i["value"]: i["tlp"] for i in ru.cli("indicators", "list", "--json").json()["indicators"]}
    assert tlps["198.51.100.0/28"] == "AMBER" and tlps["telemetry-cdn.example.org"] == "RED"


def test_export_filters_sector_and_state(loaded):
    doc = loaded.cli("indicators", "export", "-f", "csv", "--sector", "water").stdout.splitlines()
    assert len(doc) == 2 and "198.51.100.0/28" in doc[1]
    r = loaded.cli("indicators", "export", "-f", "yaml")
    assert r.exit_code == 2 and "unknown export format" in r.stderr
    r = loaded.cli("indicators", "export", "-o", "/nonexistent/dir/x.json")
    assert r.exit_code == 5 and "cannot write" in r.stderr  # no such directory: not found (ADR 0278)


def test_stix_one_object_per_line_is_streamed_and_truncation_is_caught(loaded, make_party, tmp_path):
    out = tmp_path / "b.json"
    loaded.cli("indicators", "export", "-o", str(out), "--tlp-max", "GREEN")
    lines = out.read_text().splitlines()
    assert lines[0].startswith('{"type":"bundle"') and lines[-1] == "]}"
    ru = make_party("RU")
    cut = tmp_path / "cut.json"
    cut.write_text("\n".join(lines[:-3]) + "\n")
    r = ru.cli("indicators", "import", str(cut))
    assert r.exit_code == 4 and "truncated" in r.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("\n".join(lines[:8] + ['{"type": "indicator", "id": ,'] + lines[8:]) + "\n")
    r = ru.cli("indicators", "import", str(broken))
    assert r.exit_code == 4 and "object 8: not valid JSON" in r.stderr
    r = ru.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0 and "cbm party identities" in r.stderr
