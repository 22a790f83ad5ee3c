"""A careless or hostile peer's feed cannot turn into "block everything" (issue 15): RU signs `0.0.0.0/0`,
`::/0`, loopback and a top site and ships them in a real bundle; US lands them flagged, keeps the records as
signed, and leaves them out of every firewall and IDS export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbm.measures.indicators import checks
from tests.conftest import Party

HOSTILE = ("0.0.0.0/0", "::/0", "127.0.0.1", "google.com")
REAL = "185.220.101.4"


@pytest.fixture
def landed(us_ru: tuple[Party, Party], tmp_path: Path) -> Party:
    us, ru = us_ru
    for value in (*HOSTILE, REAL):
        r = ru.cli("indicators", "add", "--value", value)
        assert r.exit_code == 0, r.stderr
    bundle = tmp_path / "ru-to-us.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(bundle)).exit_code == 0
    r = us.cli("bundle", "import", str(bundle))
    assert r.exit_code == 0, r.stderr
    assert "4 indicator(s) flagged by the landing checks" in r.stderr
    return us


def test_hostile_values_land_flagged_and_kept(landed: Party) -> None:
    r = landed.cli("indicators", "list", "--flagged", "--json")
    assert r.exit_code == 0, r.stderr
    flags = {i["value"]: i["flags"] for i in r.json()["indicators"]}
    assert flags == {"0.0.0.0/0": ["rule:all-addresses"], "::/0": ["rule:all-addresses"],
                     "127.0.0.1": ["rule:loopback"],
                     "google.com": ["warninglist:cisco_top1000", "warninglist:tranco10k"]}
    everything = landed.cli("indicators", "list", "--json").json()["indicators"]
    assert {i["value"] for i in everything} == {*HOSTILE, REAL}  # flagged, not dropped
    stats = landed.cli("indicators", "stats", "--json").json()
    assert stats["flagged"] == 4 and stats["by_flag"]["rule:all-addresses"] == 2
    shown = landed.cli("indicators", "show", flags_id(landed, "127.0.0.1"), "--json").json()
    assert shown["indicators"][0]["flags"] == ["rule:loopback"]
    assert landed.cli("store", "verify").exit_code == 0  # the records stay as signed
    assert "4 indicator(s) flagged by the landing checks" in landed.cli("status").stdout


def flags_id(party: Party, value: str) -> str:
    listed = party.cli("indicators", "list", "--json").json()["indicators"]
    return next(i["id"] for i in listed if i["value"] == value)


@pytest.mark.parametrize("fmt", ["txt", "csv", "suricata"])
def test_firewall_exports_leave_them_out_and_say_so(landed: Party, fmt: str) -> None:
    r = landed.cli("indicators", "export", "-f", fmt)
    assert r.exit_code == 0, r.stderr
    assert REAL in r.stdout
    for value in HOSTILE:
        assert value not in r.stdout
    assert "left out 4 flagged indicator(s)" in r.stderr


@pytest.mark.parametrize("fmt", ["txt", "csv", "suricata"])
def test_include_flagged_never_exports_all_addresses(landed: Party, fmt: str) -> None:
    r = landed.cli("indicators", "export", "-f", fmt, "--include-flagged")
    assert r.exit_code == 0, r.stderr
    assert "127.0.0.1" in r.stdout and "google.com" in r.stdout
    assert "0.0.0.0/0" not in r.stdout and "::/0" not in r.stdout
    assert "includes 2 flagged" in r.stderr and "left out 2 indicator(s) matching every address" in r.stderr


def test_misp_export_keeps_them_marked_not_for_detection(landed: Party) -> None:
    r = landed.cli("indicators", "export", "-f", "misp")
    attributes = {a["value"]: a for a in json.loads(r.stdout)["Event"]["Attribute"]}
    assert attributes["127.0.0.1"]["to_ids"] is False
    assert {"name": 'cbm:flag="rule:loopback"'} in attributes["127.0.0.1"]["Tag"]
    assert attributes[REAL]["to_ids"] is True


def test_stix_export_keeps_them(landed: Party) -> None:
    r = landed.cli("indicators", "export", "-f", "stix")
    patterns = [o["pattern"] for o in json.loads(r.stdout)["objects"] if o["type"] == "indicator"]
    assert any("0.0.0.0/0" in p for p in patterns) and any("127.0.0.1" in p for p in patterns)


def test_offline_update_then_recheck_flags_stored_indicators(landed: Party, tmp_path: Path) -> None:
    carried = tmp_path / "usb" / "lists" / "sinkholes"
    carried.mkdir(parents=True)
    (carried / "list.json").write_text(json.dumps({
        "name": "List of known sinkholes", "type": "cidr", "version": "20261206", "description": "sinkholes",
        "matching_attributes": ["ip-dst"], "list": [REAL + "/32"]}))
    r = landed.cli("indicators", "warninglists", "--update", str(tmp_path / "usb"), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["source"] == "store" and doc["recheck"]["flagged"] == 5
    assert {"name": "sinkholes", "type": "cidr", "version": "20261206", "entries": 1} in doc["lists"]
    assert REAL not in landed.cli("indicators", "export", "-f", "txt").stdout
    r = landed.cli("indicators", "warninglists", "--update", str(tmp_path / "nowhere"))
    assert r.exit_code == 5 and r.stderr.startswith("cbm: error:")


def test_own_infrastructure_from_config_after_recheck(landed: Party) -> None:
    config = landed.root / "config.toml"
    config.write_text(config.read_text() + f'\n[indicators.checks]\nown_infrastructure = ["{REAL}"]\n')
    r = landed.cli("indicators", "recheck", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["by_flag"][checks.OWN] == 1
    assert landed.cli("indicators", "export", "-f", "txt").stdout == ""
