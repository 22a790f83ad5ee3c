"""One value, one type (issue 14, point 7): an IP address filed as a domain is an address indicator, the same way
from CSV, MISP and STIX, so it reaches the blocklists and Suricata rules instead of vanishing as a free pattern."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA

NETWORK_CSV = DATA / "feeds" / "stalkerware-indicators" / "network.csv"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def addresses(party) -> set[str]:
    return {i["value"] for i in party.cli("indicators", "list", "--type", "ipv4-addr", "--limit", "0", "--json")
            .json()["indicators"]}


def test_a_real_feed_filing_addresses_as_domains_imports_them_as_addresses(make_party):
    us = make_party("US")
    r = us.cli("indicators", "import", str(NETWORK_CSV), "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    # the feed's only bad lines left are two URLs in its domain column
    assert r.json()["invalid"] == 2 and all("is not a valid domain name" in e and "https://" in e
                                             for e in r.json()["errors"])
    assert "178.63.71.15" in addresses(us)
    assert "178.63.71.15" in us.cli("indicators", "export", "-f", "txt", "--type", "ipv4-addr").stdout.split()


def test_misp_and_stix_treat_an_address_as_a_domain_the_same_way(make_party, tmp_path):
    misp = tmp_path / "event.json"
    misp.write_text(json.dumps({"Event": {"info": "addresses as domains", "Attribute": [
        {"type": "domain", "category": "Network activity", "to_ids": True, "value": "203.0.113.9",
         "uuid": "5a0b7c1e-3f1d-4c2a-9b1e-2f3a4b5c6d7e"}]}}))
    stix = tmp_path / "bundle.json"
    stix.write_text(json.dumps({"type": "bundle", "id": "bundle--0f8a3c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d",
         "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
         "pattern": "[domain-name:value = '203.0.113.10']", "pattern_type": "stix",
         "valid_from": "2026-01-01T00:00:00Z"}]}))
    us = make_party("US")
    for path in (misp, stix):
        r = us.cli("indicators", "import", str(path))
        assert r.exit_code == 0, r.stderr
    assert addresses(us) == {"203.0.113.9", "203.0.113.10"}
    rules = us.cli("indicators", "export", "-f", "suricata").stdout
    assert "[203.0.113.9] any" in rules and "[203.0.113.10] any" in rules
    # the STIX object's own pattern is kept as its author wrote it
    objects = json.loads(us.cli("indicators", "export").stdout)["objects"]
    assert "[domain-name:value = '203.0.113.10']" in {o.get("pattern") for o in objects}
