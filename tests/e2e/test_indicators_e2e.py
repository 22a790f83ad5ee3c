"""Indicators between real stores through real bundle files: TLP and audience on the way out, sightings and
revocations crossing back, corroboration, and the firewall export at the far end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def send(sender: Party, receiver: Party, path: Path) -> None:
    r = sender.cli("bundle", "export", "--to", receiver.code, "-o", str(path))
    assert r.exit_code == 0, r.stderr
    r = receiver.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr


def add(party: Party, value: str, *args: str) -> str:
    r = party.cli("indicators", "add", "--value", value, *args, "--json")
    assert r.exit_code == 0, r.stderr
    return str(r.json()["id"])


def held(party: Party, author: str | None = None) -> dict[str, dict]:
    args = ["indicators", "list", "--limit", "0", "--json"] + (["--from", author] if author else [])
    return {i["value"]: i for i in party.cli(*args).json()["indicators"]}


def test_tlp_and_audience_decide_what_each_peer_receives(three, tmp_path):
    us, ru, cn = three
    add(us, "198.51.100.1", "--tlp", "GREEN")
    add(us, "198.51.100.2", "--tlp", "AMBER")
    add(us, "198.51.100.3", "--tlp", "RED", "--to", "RU")
    add(us, "198.51.100.4", "--tlp", "AMBER+STRICT", "--to", "RU")
    add(us, "198.51.100.5", "--tlp", "RED")  # RED to '*' reaches nobody: RED goes only to named parties
    add(us, "198.51.100.6", "--tlp", "CLEAR", "--to", "CN")
    send(us, ru, tmp_path / "us-ru.cbm")
    send(us, cn, tmp_path / "us-cn.cbm")
    assert set(held(ru, "US")) == {"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"}
    assert set(held(cn, "US")) == {"198.51.100.1", "198.51.100.2", "198.51.100.6"}
    assert held(ru)["198.51.100.3"]["tlp"] == "RED"
    # the bundle file for CN does not even contain the RED value
    assert b"198.51.100.3" not in (tmp_path / "us-cn.cbm").read_bytes()
    # RU cannot pass US's RED indicator on: its own export keeps the label, and warns
    r = ru.cli("indicators", "export", "-f", "txt", "--from", "US", "-o", str(tmp_path / "ru.txt"))
    assert r.exit_code == 0 and "RED" in r.stderr


def test_feed_sighting_and_revocation_cross_between_stores(us_ru, tmp_path):
    us, ru = us_ru
    r = us.cli("indicators", "import", str(SAMPLES / "feed.csv"), "--to", "RU", "--json")
    assert r.exit_code == 0, r.stderr
    send(us, ru, tmp_path / "1.cbm")
    theirs = held(ru, "US")
    assert len(theirs) == 9  # RED included: it was addressed to RU by name
    c2 = theirs["198.51.100.23"]
    # RU's sensor sees the C2 address three times and tells US
    r = ru.cli("indicators", "sighting", c2["id"][:19], "--count", "3", "--first-seen", "2026-11-20T08:00Z",
               "--last-seen", "2026-11-22T17:30Z", "--description", "beaconing from a substation VLAN")
    assert r.exit_code == 0, r.stderr
    send(ru, us, tmp_path / "2.cbm")
    shown = us.cli("indicators", "show", c2["id"], "--json").json()["indicators"][0]
    assert shown["sightings"] == [{"by": "RU", "count": 3, "first_seen": "2026-11-20T08:00:00Z",
                                   "last_seen": "2026-11-22T17:30:00Z", "reported": "2026-11-23T06:00:00Z",
                                   "record": shown["sightings"][0]["record"]}]
    assert us.cli("indicators", "stats", "--json").json()["sighted"] == 1
    status = us.cli("status", "--json").json()
    assert any("sighting" in a["text"] for a in status["attention"] if a["measure"] == "indicators")
    assert "3" in us.cli("indicators", "search", "198.51.100.23").stdout
    # RU cannot revoke what US wrote
    r = ru.cli("indicators", "revoke", c2["id"], "--reason", "not ours")
    assert r.exit_code == 4 and "only its author" in r.stderr
    # US finds it was a false positive and revokes it; the revocation reaches RU
    r = us.cli("indicators", "revoke", c2["id"], "--reason", "false positive: shared hosting")
    assert r.exit_code == 0, r.stderr
    send(us, ru, tmp_path / "3.cbm")
    assert held(ru, "US")["198.51.100.23"]["state"] == "revoked"
    shown = ru.cli("indicators", "show", c2["id"], "--json").json()["indicators"][0]
    assert shown["revocations"][0]["reason"] == "false positive: shared hosting"
    assert shown["stix"]["revoked"] is True
    # RU's firewall list leaves revoked indicators out
    r = ru.cli("indicators", "export", "-f", "txt", "--type", "ipv4-addr", "--active", "--tlp-max", "GREEN")
    assert r.exit_code == 0 and "198.51.100.23" not in r.stdout


def test_new_version_replaces_the_old_one_at_the_peer(us_ru, tmp_path):
    us, ru = us_ru
    sid = add(us, "evil.example.com", "--confidence", "50")
    send(us, ru, tmp_path / "1.cbm")
    assert add(us, "evil.example.com", "--confidence", "95") == sid
    send(us, ru, tmp_path / "2.cbm")
    theirs = held(ru, "US")["evil.example.com"]
    assert theirs["confidence"] == 95 and theirs["versions"] == 2


def test_corroboration_when_both_parties_report_a_value(us_ru, tmp_path):
    us, ru = us_ru
    add(us, "203.0.113.50")
    send(us, ru, tmp_path / "1.cbm")
    add(ru, "203[.]0[.]113[.]50", "--confidence", "70")
    r = ru.cli("indicators", "search", "203.0.113.50", "--json")
    doc = r.json()
    assert doc["reported_by"] == ["RU", "US"] and doc["corroborated"] is True
    assert "corroborated" in ru.cli("indicators", "search", "203.0.113.50").stdout
    one = doc["hits"][0]["id"]
    assert ru.cli("indicators", "show", one, "--json").json()["indicators"][0]["also_reported_by"]


def test_a_peer_cannot_revoke_our_indicator_even_with_a_forged_record(us_ru, tmp_path):
    us, ru = us_ru
    sid = add(us, "192.0.2.99")
    send(us, ru, tmp_path / "1.cbm")
    with ru.open() as store:  # bypass the CLI's refusal: a well-signed RU record naming US's id
        store.append("indicators.revoke", {"ref": sid, "ids": [sid], "reason": "forged"})
    send(ru, us, tmp_path / "2.cbm")
    assert held(us)["192.0.2.99"]["state"] == "active"
    assert held(ru)["192.0.2.99"]["state"] == "active"
