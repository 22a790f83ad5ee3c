"""``indicators list --json``, ``show --json`` and ``search --json`` agree on the fields they share (docs/adr/0291,
0299): a script that lists or searches, then shows one, reads the same labels, flags, value, dates, sectors and
count of versions under the same names, for our own indicators and a peer's alike."""

from __future__ import annotations

from pathlib import Path

from tests.bundle.helpers import export, import_
from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
def test_list_and_show_agree_on_every_field_they_share(us_ru, tmp_path: Path):
    us, ru = us_ru
    for party in (us, ru):
        assert party.cli("indicators", "import", str(SAMPLES / "feed.csv")).exit_code == 0
    added = ru.cli("indicators", "add", "--value", "198.51.100.77", "--label", "APT28, Fancy Bear", "--label",
                   "c2", "--sector", "energy", "--confidence", "70", "--valid-until", "2030-01-01")
    assert added.exit_code == 0, added.stderr
    assert us.cli("indicators", "add", "--value", "10.1.2.3").exit_code == 0  # a private range: flagged
    assert us.cli("indicators", "add", "--value", "10.1.2.3", "--confidence", "20").exit_code == 0  # version 2
    assert export(ru, "US", tmp_path / "ru.cbm").exit_code == 0
    assert import_(us, tmp_path / "ru.cbm").exit_code == 0
    listed = us.cli("indicators", "list", "--json", "--limit", "0").json()["indicators"]
    assert {entry["author"] for entry in listed} == {"US", "RU"}
    for entry in listed:
        shown = us.cli("indicators", "show", entry["id"], "--json").json()["indicators"]
        (one,) = [s for s in shown if s["author"] == entry["author"]]
        shared = set(entry) & set(one)
        assert {"labels", "flags", "type", "value", "valid_until", "sectors", "versions"} <= shared
        assert {k: entry[k] for k in shared} == {k: one[k] for k in shared}, entry["id"]
        assert entry["labels"] == one["stix"].get("labels", [])  # the labels as signed
        assert one["versions"] == len(one["earlier_versions"]) + 1  # a count in both, the versions beside it
        hits = us.cli("indicators", "search", entry["value"], "--json").json()["hits"]
        (hit,) = [h for h in hits if h["id"] == entry["id"] and h["author"] == entry["author"]]
        in_hit = set(entry) & set(hit)
        assert {"labels", "flags", "type", "value", "valid_until", "state"} <= in_hit
        assert {k: entry[k] for k in in_hit} == {k: hit[k] for k in in_hit}, entry["id"]
    labelled = next(e for e in listed if e["value"] == "198.51.100.77")
    assert labelled["labels"] == ["APT28, Fancy Bear", "c2"] and labelled["author"] == "RU"
    assert any(e["flags"] for e in listed) and all(isinstance(e["flags"], list) for e in listed)
    assert {e["versions"] for e in listed if e["value"] == "10.1.2.3"} == {2}


def test_list_json_has_flags_and_labels_without_being_asked(make_party):
    """``flags`` was ``null`` unless ``--flagged`` was given: a script read "not flagged"."""
    us: Party = make_party("US")
    assert us.cli("indicators", "add", "--value", "10.1.2.3").exit_code == 0  # a private range: flagged
    assert us.cli("indicators", "add", "--value", "evil.example.com", "--label", "phishing").exit_code == 0
    (flagged, labelled) = us.cli("indicators", "list", "--json").json()["indicators"]
    assert flagged["flags"] and flagged["labels"] == []
    assert labelled["flags"] == [] and labelled["labels"] == ["phishing"]
