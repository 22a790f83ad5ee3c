"""A large feed into a store that already holds some of the importing party's indicators (docs/adr/0280): the
bulk path's id filter is seeded with the ids we hold, a second filter with the values we hold, so only the rows
either filter may hold take the exact path. The result must be what the exact path gives: the same counts
(created, updated, unchanged, repeated, merged), the same versions with old fields merged, the same index, the
same after ``store rebuild``; and a daily re-import, whose rows are all held, suspends no index at all.

Each test lands the same feeds in two stores of the same party code (the same derived ids): with every file on
the bulk path ("us"), and with none ("plain"), as tests/measures/test_indicators_bulk.py does."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cbm.measures.indicators import index as ix
from tests.conftest import Party
from tests.measures.test_indicators_bulk import (
    BATCH,
    HEADER,
    IND_INDEXES,
    ONE_CORE_SKIP,
    bulk,
    counts,
    filler,
    import_json,
    ind_indexes,
    index_state,
    kill_midway,
    reaped,
    record_count,
    repeats_feed,
    small_rows_feed,
    tables,
    twin,
    write_feed,
)

NOW = "2026-11-23T06:00:00Z"
STIX_ID = "indicator--6f0b3f8e-2c1d-4b8a-9e57-1d2c3b4a5f60"  # a source's id, not the one cbm derives


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", NOW)


@pytest.fixture(autouse=True)
def second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


@pytest.fixture
def suspended(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows ``ind`` held each time its indexes were suspended (a bulk load landing its first batch)."""
    calls: list[int] = []
    real = ix.suspend_indexes

    def spy(conn: sqlite3.Connection, party: str | None = None) -> None:
        calls.append(conn.execute("SELECT COUNT(*) FROM ind").fetchone()[0])
        real(conn, party)

    monkeypatch.setattr(ix, "suspend_indexes", spy)
    return calls


def stix_file(path: Path) -> Path:
    """One indicator under a source's own id, for a domain the feed later brings under cbm's derived id."""
    indicator = {"type": "indicator", "spec_version": "2.1", "id": STIX_ID, "created": "2026-10-01T00:00:00Z",
                 "modified": "2026-10-01T00:00:00Z", "pattern": "[domain-name:value = 'stix-held.example']",
                 "pattern_type": "stix", "valid_from": "2026-10-01T00:00:00Z", "name": "from a source"}
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--0d9c1a3e-5b7f-4c2d-8e1a-2b3c4d5e6f70",
                                "objects": [indicator]}), encoding="utf-8")
    return path


HELD = [HEADER, "domain,kept.example,GREEN,50,,keep-name,", "domain,same.example,GREEN,50,,,",
        "domain,tlp.example,GREEN,50,,,", "ipv4,10.99.0.1,GREEN,50,,,"]


def held_feed() -> list[str]:
    """Rows we hold (changed with a field left empty: merged; identical: unchanged; under another TLP: a new
    version; our STIX indicator's domain under the derived id: merged into the STIX id) in the first batch and
    in later ones, among new rows and every kind of in-import repeat."""
    return [*repeats_feed()[:6], "domain,kept.example,GREEN,60,,,", "domain,stix-held.example,GREEN,70,,,",
            *repeats_feed()[6:], "domain,same.example,GREEN,50,,,", "domain,tlp.example,AMBER,50,,,",
            "ipv4,10.99.0.1,GREEN,50,,,", *filler("10.70", 400)]


def hold(party: Party, tmp_path: Path) -> None:
    """A few of the party's own indicators, landed the ordinary way: a small CSV and a STIX indicator."""
    assert import_json(party, write_feed(tmp_path / f"held-{party.root.parent.name}.csv", HELD))["created"] == 4
    assert import_json(party, stix_file(tmp_path / "held.json"))["created"] == 1


def same_result(us: Party, plain: Party, loaded: dict[str, Any], ordinary: dict[str, Any]) -> None:
    assert counts(loaded) == counts(ordinary) and loaded["notices"] == ordinary["notices"]
    state = index_state(us)
    assert state == index_state(plain)
    assert ind_indexes(us) == IND_INDEXES
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert index_state(us) == state
    r = us.cli("store", "verify")
    assert r.exit_code == 0, r.stderr


def both(us: Party, plain: Party, feed: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], ...]:
    bulk(monkeypatch, False)
    ordinary = import_json(plain, feed)
    bulk(monkeypatch, True)
    return import_json(us, feed), ordinary


def test_a_feed_into_a_store_holding_a_few_of_ours_lands_in_bulk_as_the_exact_path(
        make_party, tmp_path, monkeypatch, reader, suspended, made):
    """(c): the store holds a few of ours, the feed is almost all new."""
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    bulk(monkeypatch, False)
    hold(us, tmp_path)
    hold(plain, tmp_path)
    loaded, ordinary = both(us, plain, write_feed(tmp_path / "feed.csv", held_feed()), monkeypatch)

    assert suspended == [5]  # a bulk load over the five we held
    assert ("batch" in made) == (reader == "reader process")  # the reader made the batches
    # what the exact path does with rows we hold: three new versions (one merged with the old name, one under
    # another TLP, one merged into the STIX id we hold its domain under), two unchanged; and the feed's repeats
    assert (ordinary["updated"], ordinary["unchanged"]) == (3 + 4, 2 + 1)
    assert list(ordinary["notices"].values()) == [1]  # one kept under the id we hold its pattern under
    same_result(us, plain, loaded, ordinary)
    shown = us.cli("indicators", "show", STIX_ID, "--json").json()["indicators"][0]
    assert len(shown["earlier_versions"]) == 1 and shown["stix"]["confidence"] == 70  # one earlier version
    assert shown["stix"]["name"] == "from a source"  # the old field kept


def test_a_daily_reimport_of_the_same_feed_is_unchanged_and_suspends_nothing(
        make_party, tmp_path, monkeypatch, reader, suspended, made):
    """(b): the same feed again: every row held, every row skipped, no index dropped and rebuilt."""
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    feed = write_feed(tmp_path / "feed.csv", held_feed())
    first, _ = both(us, plain, feed, monkeypatch)
    assert suspended == [0]
    loaded, ordinary = both(us, plain, feed, monkeypatch)

    assert suspended == [0]  # the second import landed no batch in bulk: nothing to rebuild
    # nothing new; all unchanged but the rows the feed itself brings twice under two TLPs (a version each)
    assert ordinary["created"] == 0 and first["created"] > ordinary["unchanged"] > BATCH
    same_result(us, plain, loaded, ordinary)


def second_feed() -> list[str]:
    """Another day's feed: mostly new rows, some of the first feed's changed, some identical, one under another
    TLP, one changed twice in a batch."""
    first = held_feed()
    return [HEADER, *filler("10.71", BATCH + 200), first[12].replace(",GREEN,", ",AMBER,"),
            *[line.replace(",40,", ",45,") for line in first[-300:-200]], *first[-200:-100],
            "domain,kept.example,GREEN,65,,,", *filler("10.72", 50), "domain,kept.example,GREEN,66,,,"]


def test_a_second_feed_into_a_store_holding_the_first_lands_in_bulk_as_the_exact_path(
        make_party, tmp_path, monkeypatch, reader, suspended, made):
    """(d): the store holds one feed, a second, different one comes."""
    from cbm.measures.indicators import service

    monkeypatch.setattr(service, "CSV_BYTES_PER_ROW", 25)  # this feed's short lines: no more held than comes
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    both(us, plain, write_feed(tmp_path / "feed.csv", held_feed()), monkeypatch)
    held = index_state(us)["ind"]
    made.clear()
    loaded, ordinary = both(us, plain, write_feed(tmp_path / "feed2.csv", second_feed()), monkeypatch)

    assert suspended == [0, len(held)]
    assert ("batch" in made) == (reader == "reader process")
    # 100 changed, one under another TLP, one twice in a batch (a repeat: one version); 100 identical
    assert ordinary["created"] == BATCH + 250 and ordinary["updated"] == 100 + 1 + 1
    assert ordinary["unchanged"] == 100 and ordinary["repeated"] == 1
    same_result(us, plain, loaded, ordinary)


@ONE_CORE_SKIP
def test_a_bulk_import_into_a_store_holding_ours_killed_midway_leaves_it_as_before(
        make_party, tmp_path, monkeypatch, suspended):
    us = make_party("US")
    feed = small_rows_feed(tmp_path / "feed.csv")  # just over the real threshold: the subprocess reads in bulk
    hold(us, tmp_path)
    records, before = record_count(us), tables(us)
    with reaped(kill_midway(us, feed, signal.SIGKILL)):
        assert record_count(us) == records and tables(us) == before
        assert ind_indexes(us) == IND_INDEXES
        r = us.cli("store", "verify")
        assert r.exit_code == 0, r.stderr
        bulk(monkeypatch, True)
        again = import_json(us, feed)  # the next import is a bulk load again, and complete
        assert suspended == [5] and again["created"] == again["read"] > 150_000
        assert ind_indexes(us) == IND_INDEXES
