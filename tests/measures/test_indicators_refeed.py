"""The same national feed imported again (issue 20, docs/adr/0292): rows that are the version we hold are skipped
by their digest, before any look-up. The result must be what the exact path gives: the same counts, versions,
index (digests included) and ``store rebuild``; rows the feed brings twice, changed in between, under another TLP,
or whose value we hold under another id still take the exact path, in order.

Each test lands the same feeds in two stores of the same party code: with every file on the bulk path ("us",
where unchanged rows are skipped by digest) and with none ("plain", the exact path)."""

from __future__ import annotations

import os
import signal

import pytest

from cbm.measures.indicators import held as held_index
from cbm.measures.indicators import index as ix
from tests.conftest import count_calls
from tests.measures.test_indicators_bulk import (
    BATCH,
    HEADER,
    IND_INDEXES,
    ONE_CORE_SKIP,
    bulk,
    filler,
    import_json,
    ind_indexes,
    kill_midway,
    reaped,
    record_count,
    small_rows_feed,
    tables,
    twin,
    write_feed,
)
from tests.measures.test_indicators_bulk_held import both, hold, same_result

NOW = "2026-11-23T06:00:00Z"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", NOW)


@pytest.fixture(autouse=True)
def second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


@pytest.fixture(autouse=True)
def short_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """These feeds' lines are short: estimated as such, the store holds no more than four times what comes, so
    each import of them is a bulk load (docs/adr/0280), as a national feed's daily import is."""
    from cbm.measures.indicators import service

    monkeypatch.setattr(service, "CSV_BYTES_PER_ROW", 25)


def daily_feed() -> list[str]:
    """A day's feed: two TLPs, over a batch each, and a few rows of every kind."""
    return [HEADER, *filler("10.30", BATCH + 100), *filler("10.31", 300, "AMBER"), "domain,day.example,GREEN,50,,,",
            "url,http://day.example/a,AMBER,60,2027-01-01,,", "ipv4,10.99.0.1,GREEN,50,,,"]


def next_day(first: list[str]) -> list[str]:
    """The next day's feed: most rows the same, some changed (confidence, valid until), some new, one under
    another TLP, and one indicator three times in three batches (the same, changed, the same again: the exact
    path makes two versions of it)."""
    changed = changed_rows(first)
    return [HEADER, "ipv4,10.30.0.1,GREEN,40,,", *changed[1:BATCH], "ipv4,10.30.0.1,GREEN,41,,",
            *filler("10.32", BATCH), "ipv4,10.30.0.1,GREEN,40,,", *changed[BATCH:],
            "domain,day.example,AMBER,50,,,", *filler("10.33", 250, "AMBER")]


def changed_rows(first: list[str]) -> list[str]:
    """``first``'s rows (no header), every 20th address with a new confidence and valid until."""
    return [line.replace(",40,,", ",45,2027-02-01") if i % 20 == 10 else line for i, line in enumerate(first[1:])]


def test_the_same_feed_again_is_skipped_by_digest_and_reads_no_held_version(
        make_party, tmp_path, monkeypatch, reader, held_versions_read):
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    feed = write_feed(tmp_path / "feed.csv", daily_feed())
    both(us, plain, feed, monkeypatch)
    held_versions_read.clear()
    bulk(monkeypatch, True)
    again = import_json(us, feed)
    assert again["unchanged"] == again["read"] == len(daily_feed()) - 1 and again["records"] == 0
    assert held_versions_read == []  # no record read back: every row was told by its digest
    bulk(monkeypatch, False)
    ordinary = import_json(plain, feed)
    assert held_versions_read  # the exact path reads each held version back
    same_result(us, plain, again, ordinary)


def test_the_next_days_feed_lands_as_the_exact_path(make_party, tmp_path, monkeypatch, reader):
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    first = daily_feed()
    both(us, plain, write_feed(tmp_path / "feed.csv", first), monkeypatch)
    loaded, ordinary = both(us, plain, write_feed(tmp_path / "feed2.csv", next_day(first)), monkeypatch)

    assert ordinary["created"] == BATCH + 250
    # every 20th row changed, one under another TLP, and the one brought three times: two new versions
    changed = sum(a != b for a, b in zip(first[1:], changed_rows(first), strict=True))
    assert changed > 200 and ordinary["updated"] == changed + 1 + 2
    assert loaded["unchanged"] == ordinary["unchanged"] > BATCH
    same_result(us, plain, loaded, ordinary)
    with us.open() as store:  # 40 (held), 41, then 40 again: three versions
        assert store.conn.execute("SELECT versions FROM ind WHERE value = '10.30.0.1'").fetchone() == (3,)


def test_a_row_whose_value_we_hold_under_a_sources_id_still_merges_as_the_exact_path(
        make_party, tmp_path, monkeypatch, reader):
    """A row whose value we hold under a source's id (the exact path merges it into that id) is no row to skip
    by its own id's digest: it is compared with the version it merges into."""
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    bulk(monkeypatch, False)
    for party in (us, plain):
        hold(party, tmp_path)
    feed = write_feed(tmp_path / "feed.csv", [*daily_feed(), "domain,stix-held.example,GREEN,70,,,"])
    both(us, plain, feed, monkeypatch)
    loaded, ordinary = both(us, plain, feed, monkeypatch)
    assert loaded["unchanged"] == ordinary["unchanged"] == len(daily_feed())
    same_result(us, plain, loaded, ordinary)


def test_the_index_keeps_each_versions_digest_and_a_rebuild_gives_the_same(make_party, tmp_path, monkeypatch):
    us = make_party("US")
    bulk(monkeypatch, True)
    import_json(us, write_feed(tmp_path / "feed.csv", daily_feed()))
    with us.open() as store:
        digests = [d for (d,) in store.conn.execute("SELECT digest FROM ind")]
        held = store.query(held_index.held_digests, "US", [])
    assert all(type(d) is bytes and len(d) == 16 for d in digests) and len(set(digests)) == len(digests)
    assert len(held) == len(digests) and all(d in held for d in digests) and bytes(16) not in held
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    with us.open() as store:
        assert sorted(d for (d,) in store.conn.execute("SELECT digest FROM ind")) == sorted(digests)


@ONE_CORE_SKIP
def test_a_reimport_with_changes_killed_midway_leaves_the_store_as_before(make_party, tmp_path, monkeypatch):
    us = make_party("US")
    feed = small_rows_feed(tmp_path / "feed.csv")  # just over the real threshold: the subprocess reads in bulk
    first = import_json(us, feed)
    lines = feed.read_text(encoding="utf-8").splitlines()
    changed = [line + ",60" if i % 10 == 1 else line for i, line in enumerate(lines)]  # a confidence given
    feed2 = write_feed(tmp_path / "feed2.csv", changed + [f"ipv4,10.250.0.{i},GREEN" for i in range(1, 200)])
    records, before = record_count(us), tables(us)
    with reaped(kill_midway(us, feed2, signal.SIGKILL)):
        assert record_count(us) == records and tables(us) == before
        assert ind_indexes(us) == IND_INDEXES
        r = us.cli("store", "verify")
        assert r.exit_code == 0, r.stderr
        again = import_json(us, feed2)  # the next import is complete
        assert again["updated"] == len(range(1, len(lines), 10)) and again["created"] == 199
        assert again["unchanged"] == first["created"] - again["updated"]


def test_a_store_holding_far_more_than_the_feed_skips_its_unchanged_rows_too(
        make_party, tmp_path, monkeypatch, reader, held_versions_read):
    """A store grown past four times the daily feed (no bulk load, ADR 0280) still skips the feed's unchanged
    rows by digest, and lands the next day's changes as the exact path does."""
    from cbm.measures.indicators import service

    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    first = daily_feed()
    both(us, plain, write_feed(tmp_path / "old.csv", [HEADER, *filler("10.40", 6 * len(first))]), monkeypatch)
    both(us, plain, write_feed(tmp_path / "feed.csv", first), monkeypatch)
    with us.open() as store:
        assert not store.query(ix.bulk_pays, service._rows_in(str(tmp_path / "feed.csv")))
    feed2 = write_feed(tmp_path / "feed2.csv", next_day(first))
    bulk(monkeypatch, False)
    held_versions_read.clear()
    ordinary = import_json(plain, feed2)
    exact = len(held_versions_read)
    bulk(monkeypatch, True)
    held_versions_read.clear()
    loaded = import_json(us, feed2)
    assert loaded["unchanged"] == ordinary["unchanged"] > BATCH
    # the exact path reads back every held row's version; here only those of the rows that changed
    assert exact > ordinary["unchanged"] > 10 * len(held_versions_read)
    same_result(us, plain, loaded, ordinary)


@pytest.fixture
def digest_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times an import loaded the held digests (a pass over everything we hold, ~40 MB at 1M)."""
    return count_calls(monkeypatch, held_index, "held_digests")


def test_a_new_feed_with_a_few_rows_we_hold_loads_no_digests_and_lands_as_the_exact_path(
        make_party, tmp_path, monkeypatch, reader, digest_loads, held_versions_read):
    """A new feed whose held-back rows are few (under a tenth of what is read, as the filters' false positives
    of a new feed are): the reader process's held-back rows take the exact path, no digest is loaded (docs/adr/0303),
    and the result is the exact path's."""
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    first = daily_feed()
    both(us, plain, write_feed(tmp_path / "feed.csv", first), monkeypatch)
    digest_loads.clear()
    few = first[1:21]  # 20 rows we hold, unchanged, among 2 batches of new ones
    feed = write_feed(tmp_path / "feed2.csv", [HEADER, *filler("10.50", BATCH), *few, *filler("10.51", BATCH)])
    held_versions_read.clear()
    loaded, ordinary = both(us, plain, feed, monkeypatch)
    assert loaded["unchanged"] == ordinary["unchanged"] == 20 and loaded["created"] == 2 * BATCH
    if reader == "reader process":
        assert digest_loads == []
    same_result(us, plain, loaded, ordinary)


def test_held_rows_are_screened_once_they_are_many_the_earlier_ones_too(
        make_party, tmp_path, monkeypatch, digest_loads, held_versions_read):
    """The reader process's first held-back rows are a few of what it read: they wait unscreened. Then a whole
    batch of rows we hold comes: from there the held rows are screened by digest, those that waited first, so no
    unchanged row takes the exact path (docs/adr/0303)."""
    from cbm.measures.indicators import batches

    monkeypatch.setattr(batches, "HELD_CHUNK", 50)  # a "held" message every 50 held rows (forked: the reader too)
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    green, amber = filler("10.60", 60), filler("10.61", 600, "AMBER")
    both(us, plain, write_feed(tmp_path / "feed.csv", [HEADER, *green, *amber]), monkeypatch)
    digest_loads.clear()
    # the first GREEN batch: 60 held of 5,000 read (1.2 %, its own message); then 600 held AMBER rows (11.8 %)
    feed = write_feed(tmp_path / "feed2.csv", [HEADER, *green, *filler("10.62", BATCH - 60), *amber])
    held_versions_read.clear()
    bulk(monkeypatch, True)
    loaded = import_json(us, feed)
    assert (loaded["unchanged"], loaded["created"]) == (660, BATCH - 60)
    assert digest_loads == [1] and held_versions_read == []  # every held row told by its digest
    bulk(monkeypatch, False)
    same_result(us, plain, loaded, import_json(plain, feed))
