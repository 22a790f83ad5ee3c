"""The indicator index is derived: rebuilding it from the records gives the same answers; malformed rows
are ignored rather than breaking it; re-imports are versions or no-ops."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbm.measures import malformed
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import model, queries
from cbm.measures.indicators import rows as R
from cbm.measures.indicators import service as svc
from cbm.measures.indicators.formats import Defaults, build_row
from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def snapshot(party: Party) -> tuple:
    listing = party.cli("indicators", "list", "--limit", "0", "--json").json()["indicators"]
    stats = party.cli("indicators", "stats", "--json").json()
    return listing, stats


def test_rebuild_gives_the_same_state(make_party):
    us = make_party("US")
    us.cli("indicators", "import", str(SAMPLES / "feed.csv"))
    us.cli("indicators", "import", str(SAMPLES / "bundle.stix.json"))
    first = us.cli("indicators", "add", "--value", "198.51.100.23", "--confidence", "99", "--json").json()
    us.cli("indicators", "revoke", first["id"], "--reason", "test")
    us.cli("indicators", "sighting", first["id"], "--count", "2")
    before = snapshot(us)
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert snapshot(us) == before


def test_index_ignores_malformed_rows(make_party):
    us = make_party("US")
    with us.open() as store:
        good = build_row(Defaults(author="US", tlp="GREEN", now="2026-11-23T06:00:00Z"), "", "10.1.1.1")
        store.append("indicators.batch", {"fields": list(R.FIELDS), "rows": [R.trim(good)]})
        # a batch with one bad row is malformed as a whole (ADR 0116): none of its rows is folded
        store.append("indicators.batch", {"fields": list(R.FIELDS),
                                          "rows": [R.trim(list(good)), "junk", [], [1, 2], ["indicator--x", None]]})
        store.append("indicators.batch", {"fields": "nonsense", "rows": [["a", "b"]]})
        store.append("indicators.revoke", {"ids": "not-a-list"})
        store.append("indicators.sighting", {"ref": good[R.ID], "count": "many"})
        rows = list(queries.select(store.conn, queries.Filter(now="2026-11-23T06:00:00Z")))
        assert [(r.value, r.versions) for r in rows] == [("10.1.1.1", 1)]
        assert queries.sightings(store.conn, good[R.ID]) == []
        assert [m.kind for m in store.query(malformed.listed)] == ["indicators.batch", "indicators.batch",
                                                                    "indicators.revoke", "indicators.sighting"]


def test_unchanged_reimport_writes_nothing_and_changed_rows_are_versions(make_party):
    us = make_party("US")
    with us.open() as store:
        opts = svc.Options()
        result = svc.import_file(store, str(SAMPLES / "feed-defanged.txt"), opts)
        assert result.created == 11
        head = store.head("US")
        again = svc.import_file(store, str(SAMPLES / "feed-defanged.txt"), opts)
        assert again.unchanged == 11 and store.head("US") == head
        changed = svc.import_file(store, str(SAMPLES / "feed-defanged.txt"), svc.Options(confidence=40))
        assert changed.updated == 11
        versions = {r.versions for r in queries.select(store.conn, queries.Filter(now="2026-11-23T06:00:00Z"))}
        assert versions == {2}


def test_search_finds_values_inside_multi_value_patterns_and_ranges(make_party):
    us = make_party("US")
    with us.open() as store:
        svc.add(store, svc.Options(), kind=None, value=None,
                pattern="[ipv4-addr:value = '192.0.2.0/24'] OR [domain-name:value = 'x.example']")
        assert [h.match for h in svc.search(store, "x.example").hits] == ["exact"]
        assert [h.match for h in svc.search(store, "192.0.2.200").hits] == ["range"]
        assert svc.search(store, "192.0.3.1").hits == []
        assert model.is_stix_id(svc.search(store, "x.example").hits[0].id, "indicator")


def test_parallel_reader_gives_the_same_result_and_reports_bad_lines(make_party, monkeypatch, tmp_path):
    from cbm.measures.indicators import pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    feed = tmp_path / "feed.csv"
    lines = ["type,value,tlp,confidence"] + [f"ipv4,10.0.{i // 256}.{i % 256},GREEN,{i % 100}" for i in range(3000)]
    feed.write_text("\n".join(lines + ["ipv4,999.1.1.1,GREEN,1", "domain,ok.example,AMBER,5"]) + "\n")
    us = make_party("US")
    with us.open() as store:
        assert pipeline.worthwhile(str(feed), "csv")
        try:
            svc.import_file(store, str(feed), svc.Options())
        except svc.BadLines as e:
            assert e.total == 1 and e.errors[0].line == 3002
        else:
            raise AssertionError("the bad line was not reported")
        assert not ix.holds_any(store.conn, "US")
        result = svc.import_file(store, str(feed), svc.Options(), skip_invalid=True)
        assert result.created == 3001 and result.invalid == 1 and result.by_tlp == {"GREEN": 3000, "AMBER": 1}
    monkeypatch.setenv("CBM_NO_PARALLEL", "1")
    ru = make_party("RU")
    with ru.open() as store:
        assert not pipeline.worthwhile(str(feed), "csv")
        result = svc.import_file(store, str(feed), svc.Options(), skip_invalid=True)
        assert result.created == 3001
