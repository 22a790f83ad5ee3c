"""An export imported back is a no-op, and a STIX object's own properties survive a pass through cbm
(issue 14, point 5), on the OASIS APT1 and Poison Ivy reports and cbm's sample feeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA, Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
OASIS = DATA / "stix21" / "oasis-cti-documentation"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


@pytest.fixture
def us(make_party) -> Party:
    us = make_party("US")
    for path in (SAMPLES / "feed.csv", SAMPLES / "feed-defanged.txt", SAMPLES / "bundle.stix.json",
                 OASIS / "apt1.json", OASIS / "poisonivy.json"):
        r = us.cli("indicators", "import", str(path))
        assert r.exit_code == 0, (path, r.stderr)
    return us


def test_our_own_export_imported_back_changes_nothing(us, tmp_path):
    out = tmp_path / "own.json"
    assert us.cli("indicators", "export", "-o", str(out)).exit_code == 0
    r = us.cli("indicators", "import", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert (doc["created"], doc["updated"], doc["records"]) == (0, 0, 0)
    assert doc["unchanged"] == doc["read"] > 50
    again = tmp_path / "again.json"
    assert us.cli("indicators", "export", "-o", str(again)).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_csv_and_stix_round_trips_agree_with_each_other(us, make_party, tmp_path):
    out = tmp_path / "own.json"
    us.cli("indicators", "export", "-o", str(out), "--tlp-max", "GREEN")
    ru = make_party("RU")
    assert ru.cli("indicators", "import", str(out)).exit_code == 0
    r = ru.cli("indicators", "import", str(out), "--json")
    assert (r.json()["created"], r.json()["updated"]) == (0, 0)


def test_stix_properties_survive_unchanged(us):
    exported = {o["id"]: o for o in json.loads(us.cli("indicators", "export").stdout)["objects"]}
    for path in (OASIS / "apt1.json", OASIS / "poisonivy.json"):
        for source in json.loads(path.read_text())["objects"]:
            if source["type"] != "indicator":
                continue
            mine = exported[source["id"]]
            # README: the importing party becomes the author; a TLP label is added (and the import says so)
            changed = {k for k in source if k != "created_by_ref" and mine.get(k) != source[k]}
            assert not changed, (source["id"], {k: (source[k], mine.get(k)) for k in changed})
    apt1 = exported["indicator--031778a4-057f-48e6-9db9-c8d72b81ccd5"]
    assert apt1["valid_from"] == "2015-05-15T09:12:16.432678Z" and apt1["modified"] == "2015-05-15T09:12:16.432Z"


def test_an_unmarked_stix_indicator_is_labelled_and_the_import_says_so(make_party):
    us = make_party("US")
    r = us.cli("indicators", "import", str(OASIS / "apt1.json"), "--tlp", "AMBER")
    assert r.exit_code == 0
    r = make_party("RU").cli("indicators", "import", str(OASIS / "apt1.json"))
    assert "12 indicator(s) without a TLP marking, labelled TLP:GREEN (--tlp sets another)" in r.stderr
