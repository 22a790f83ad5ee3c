"""Batches made by the reader process (docs/adr/0225-batches-made-by-the-reader.md): a large fresh feed's rows
are grouped, filtered, encoded and checked in the reader process, and the writer only signs and lands them. The
records must be the very ones the writer makes of the same rows (byte for byte: the same hashes), and the index
the same as the writer's and as ``store rebuild``'s, flags included."""

from __future__ import annotations

import multiprocessing.connection
import os
from pathlib import Path
from typing import Any

import pytest

from cbm.core.canonical import encode_plain
from cbm.measures.indicators import batches, index_rows
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.writer import BatchWriter, spliced_payload
from tests.conftest import Party
from tests.measures.test_indicators_bulk import (
    BATCH,
    HEADER,
    IND_INDEXES,
    bulk,
    counts,
    filler,
    import_json,
    ind_indexes,
    index_state,
    nothing_left_running,
    one_error_line,
    record_count,
    repeats_everywhere_feed,
    tables,
    twin,
    write_feed,
)

NOW = "2026-11-23T06:00:00Z"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", NOW)


@pytest.fixture(autouse=True)
def second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


PATTERN = "\"[ipv4-addr:value = '192.168.7.0/24'] OR [domain-name:value = 'flagged.example']\""


def checked_feed() -> list[str]:
    """Rows the landing checks flag (private and shared addresses) and do not flag, a free pattern whose values
    are flagged (its batch is checked by the index), repeats within a batch and across batches, two TLPs."""
    return [HEADER, "ipv4,10.1.2.3,GREEN,50,,,", "ipv4,100.64.0.9,AMBER,50,,,", "domain,ok.example,GREEN,50,,,",
            "ipv4,10.1.2.3,GREEN,55,,,", f"pattern,{PATTERN},AMBER,60,,,",
            *filler("10.70", BATCH), "domain,ok.example,GREEN,70,,later,", "ipv4,100.64.0.9,AMBER,80,,,",
            *filler("10.71", 700, "AMBER"), *filler("10.72", 300)]


def records(party: Party) -> list[tuple[Any, ...]]:
    with party.open() as store:
        return store.conn.execute("SELECT hash, seq, kind, tlp FROM records WHERE kind LIKE 'indicators.%'"
                                  " ORDER BY seq").fetchall()


def flags(party: Party) -> list[tuple[Any, ...]]:
    with party.open() as store:
        return sorted(store.conn.execute("SELECT sid, author, flag FROM ind_flag").fetchall())


@pytest.mark.parametrize("max_deferred", [None, 0], ids=["held back to the end", "bulk load ended early"])
def test_made_batches_are_the_records_the_writer_makes_and_index_as_rebuild_does(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[str], max_deferred: int | None):
    if max_deferred is not None:
        monkeypatch.setattr(BatchWriter, "MAX_DEFERRED", max_deferred)
    feed = write_feed(tmp_path / "feed.csv", checked_feed())
    bulk(monkeypatch, True)
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")

    monkeypatch.setenv("CBM_NO_PARALLEL", "1")  # the same bulk load, the writer grouping the rows itself
    ordinary = import_json(plain, feed)
    assert made == []
    monkeypatch.delenv("CBM_NO_PARALLEL")
    loaded = import_json(us, feed)
    # (ended early, it may end at the first batch: a false positive of the filter, whose hashes vary by process)
    assert "held" in made and made.count("batch") >= (3 if max_deferred is None else 1)
    assert ("unbulk" in made) == (max_deferred is not None)

    assert counts(loaded) == counts(ordinary)
    assert (loaded["repeated"], loaded["updated"]) == (2, 1)
    # the same payloads in the same order: the same record hashes (the two stores' keys differ, not the bytes)
    assert records(us) == records(plain)
    assert tables(us) == tables(plain)
    found = flags(us)
    assert {flag for _, _, flag in found} >= {"rule:private", "rule:shared-address-space"}
    assert len(found) > BATCH  # the filler's private addresses, checked by the reader process

    state = index_state(us)
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert index_state(us) == state and flags(us) == found
    assert us.cli("store", "verify").exit_code == 0


def test_a_feed_into_a_store_holding_our_indicators_is_made_by_the_reader_too(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[str]):
    """The reader starts from the filters of what we hold (docs/adr/0280): the rest of the feed is made there."""
    bulk(monkeypatch, True)
    us = make_party("US")
    assert us.cli("indicators", "add", "--type", "domain", "--value", "held.example").exit_code == 0
    loaded = import_json(us, write_feed(tmp_path / "feed.csv", checked_feed()))
    assert "batch" in made and loaded["created"] > BATCH


@pytest.mark.parametrize("header", [
    {"created": NOW, "kind": "indicators.batch", "prev": None, "seq": 1, "tlp": "GREEN", "to": ["*"], "v": 1},
    {"created": NOW, "kind": "indicators.batch", "prev": "ab" * 32, "seq": 12, "tlp": "AMBER+STRICT",
     "to": ["RU", "UA"], "v": 1},
])
def test_a_spliced_payload_is_the_canonical_encoding_of_the_whole_record(header: dict[str, Any]):
    body = {"fields": list(R.FIELDS), "rows": [["indicator--1", "domain", "ex\u00e4mple.example", None, 50],
                                               ["indicator--2", "ipv4-addr", "10.0.0.1", None, None, ["energy"]]],
            "source": "fe\"ed,\u041f.csv"}
    assert spliced_payload("US", encode_plain(body), header) == encode_plain({"author": "US", "body": body, **header})


def imported_both_ways(make_party: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feed: Path) \
        -> tuple[Party, Party, dict[str, Any], dict[str, Any]]:
    """US imports ``feed`` in a bulk load through the reader process's made batches, its twin ``plain`` the
    same feed with the writer grouping the rows itself: the two stores and their import results."""
    bulk(monkeypatch, True)
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    monkeypatch.setenv("CBM_NO_PARALLEL", "1")
    ordinary = import_json(plain, feed)
    monkeypatch.delenv("CBM_NO_PARALLEL")
    return us, plain, import_json(us, feed), ordinary


VARIED_HEADER = ("type,value,tlp,confidence,valid_from,valid_until,sectors,labels,indicator_types,name,description,"
                 "origin,asn,revoked")


def varied_feed() -> list[str]:
    """Every indicator type, addresses and CIDRs of both versions, flagged and unflagged values, a free pattern,
    sectors, labels, explicit and default times, origins and ASNs, a row revoked at the source (skipped), repeats
    within a batch and across batches (held back to the end), two TLPs: each column of the index gets a value."""
    pattern = "\"[ipv4-addr:value = '192.168.9.0/24'] OR [domain-name:value = 'pattern.example']\""
    head = [
        "ipv4,203.0.113.7,GREEN,80,2026-11-01T00:00:00Z,2027-11-01T00:00:00Z,energy;finance,apt;c2,"
        "malicious-activity,Bad host,two words,RU,AS64500,",
        "ipv4,10.0.0.0/8,GREEN,50,,,,,,,,,,",
        "ipv4,198.51.100.0/25,AMBER,60,,2027-01-01,,,,,,CN,64501,",
        "ipv6,2001:db8::1,GREEN,40,,,,,,,,,,",
        "ipv6,2001:db8:1::/48,AMBER,45,,,,,,,,,,",
        "ipv6,fe80::1,GREEN,45,,,,,,,,,,",
        "domain,evil.example,GREEN,70,2026-10-01,,energy,,,,,IR,,",
        "domain,printer.local,GREEN,70,,,,,,,,,,",
        "url,http://evil.example/x?y=1,AMBER,75,,,,,,,,,,",
        "url,http://10.1.2.3/,GREEN,75,,,,,,,,,,",
        "email,spear@evil.example,GREEN,65,,,,,,,,,,",
        "md5," + "0f" * 16 + ",GREEN,90,,,,,,,,,,",
        "sha1," + "1e" * 20 + ",GREEN,90,,,,,,,,,,",
        "sha256," + "2d" * 32 + ",AMBER,90,,,,,,dropper,,,,",
        f"pattern,{pattern},AMBER,60,,2027-06-01,,,,,,,,",
        "domain,revoked.example,GREEN,50,,,,,,,,,,true",
        "ipv4,203.0.113.7,GREEN,85,2026-11-01T00:00:00Z,2027-11-01T00:00:00Z,energy,apt,,Bad host,,RU,AS64500,",
        "domain,again.example,GREEN,50,,,,,,,,,,",
    ]
    later = ["domain,again.example,GREEN,55,,,,,,,later,,,", "ipv4,10.0.0.0/8,AMBER,50,,,,,,,,,,",
             "md5," + "0f" * 16 + ",GREEN,95,,,,,,,,DE,AS3320,"]
    filler_rows = [f"ipv4,10.80.{i // 250}.{i % 250 + 1},GREEN,40,,,,,,,,,," for i in range(BATCH)]
    return [VARIED_HEADER, *head, *filler_rows, *later]


def test_a_varied_feed_indexes_through_made_batches_as_the_writer_and_rebuild_do(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[str]):
    """The index a varied feed's made batches land (rows kept as columns and bound a column at a time, flags
    found by the reader) is row for row the one the writer's own grouping lands, and the one ``store rebuild``
    makes again from the signed records reading them row by row."""
    feed = write_feed(tmp_path / "feed.csv", varied_feed())
    us, plain, loaded, ordinary = imported_both_ways(make_party, tmp_path, monkeypatch, feed)
    assert made.count("batch") >= 2 and "held" in made
    assert counts(loaded) == counts(ordinary) and loaded["invalid"] == 0
    assert records(us) == records(plain)
    landed = tables(us)
    assert landed == tables(plain)
    # every side table a CSV can fill got rows, so each of their columns was compared (a CSV's revoked rows are
    # skipped, sightings are records of their own)
    assert [t for t in ix.TABLES if not landed[t]] == ["ind_revoke", "ind_sight"]
    ind = landed["ind"]
    assert {row[5] for row in ind} >= {"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file-md5",
                                       "file-sha1", "file-sha256", "pattern"}
    assert any(row[13] for row in ind) and any(row[8] for row in ind)  # sectors and explicit created times

    # the rebuild reads every batch row by row (index_rows.from_rows, rows bound as tuples): the other code path
    monkeypatch.setattr(index_rows, "batch_columns", lambda body: None)
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    # row for row, but for the order of ``ind``'s row keys: a rebuild holds back to its end the rows its own id
    # filter may have met, which are not the rows the import's filter held back (a filter's hashes vary by process)
    assert keyless(tables(us)) == keyless(landed)


def keyless(found: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """:func:`tables` without ``ind``'s row key ``k``."""
    return {**found, "ind": sorted((row[1:] for row in found["ind"]), key=repr)}


def many_held_feed() -> list[str]:
    """A first GREEN batch, then 40 of its rows again, changed, each after the other (every one held back:
    the reader met its id), among new rows of another TLP: far more held rows than one patched chunk."""
    first = filler("10.80", BATCH)
    again = [line.replace(",40,", f",{41 + n % 50},") for n, line in enumerate(first[:40])]
    return [HEADER, *first, *[x for pair in zip(again, filler("10.81", 40, "AMBER"), strict=True) for x in pair],
            *filler("10.82", 300)]


@pytest.mark.parametrize("max_deferred", [None, 25], ids=["held back to the end", "bulk load ended early"])
def test_held_rows_go_over_in_chunks_and_land_whole_and_in_order(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[str], max_deferred: int | None):
    """The reader hands its held rows (and, once the bulk load ended, its pending ones) over in messages of at
    most ``HELD_CHUNK`` rows, as it finds them: every row lands, in the order read, into the very records the
    writer makes grouping the rows itself."""
    monkeypatch.setattr(batches, "HELD_CHUNK", 3)
    if max_deferred is not None:
        monkeypatch.setattr(BatchWriter, "MAX_DEFERRED", max_deferred)
    sizes: list[int] = []
    real = BatchWriter.add_made

    def sizing(self: BatchWriter, message: tuple[Any, ...]) -> None:
        if message[0] in ("held", "rows"):
            sizes.append(len(message[1]))
        real(self, message)

    monkeypatch.setattr(BatchWriter, "add_made", sizing)
    feed = write_feed(tmp_path / "feed.csv", many_held_feed())
    us, plain, loaded, ordinary = imported_both_ways(make_party, tmp_path, monkeypatch, feed)

    assert made.count("held") >= 8 and max(sizes) <= 3  # 25 to 40 held rows, 3 a message
    assert ("unbulk" in made, "lookup" in made) == ((True, False) if max_deferred else (False, True))
    assert counts(loaded) == counts(ordinary) and loaded["updated"] == 40
    assert records(us) == records(plain)
    assert tables(us) == tables(plain) and index_state(us) == index_state(plain)
    for n in (0, 39):  # the last version read is current
        hit = us.cli("indicators", "search", f"10.80.0.{n + 1}", "--json").json()["hits"][0]
        assert hit["confidence"] == 41 + n % 50


@pytest.mark.parametrize("death", ["before the filter", "halfway through the filter"])
def test_a_reader_dying_while_it_hands_the_filter_over_is_one_error_line(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[str], death: str):
    """The reader process ends the bulk load early (too many held rows) and dies after the ``unbulk`` tag,
    before or while it sends the filter's bits: one clean error, the store as before, nothing left running."""
    monkeypatch.setattr(BatchWriter, "MAX_DEFERRED", 10)
    parent = os.getpid()
    real_send = multiprocessing.connection.Connection.send_bytes

    def send_bytes(self: Any, buf: Any, *args: Any) -> None:
        if os.getpid() != parent and not isinstance(buf, bytes):  # the filter's bits, sent from its memory
            if death != "before the filter":
                real_send(self, bytes(buf)[:len(buf) // 2])
            os._exit(1)
        real_send(self, buf, *args)

    monkeypatch.setattr(multiprocessing.connection.Connection, "send_bytes", send_bytes)
    feed = write_feed(tmp_path / "feed.csv", repeats_everywhere_feed())
    bulk(monkeypatch, True)
    us = make_party("US")
    before = record_count(us)
    with nothing_left_running():
        r = us.cli("indicators", "import", str(feed))
    assert r.exit_code == 4 and r.stdout == ""
    assert one_error_line(r.stderr) == f"cbm: error: reading {feed} failed: the reader process stopped"
    assert made.count("unbulk") == 0  # it never reached the writer
    assert record_count(us) == before and ind_indexes(us) == IND_INDEXES


@pytest.mark.parametrize("reader", ["reader process", "in-process reader"])
def test_held_rows_land_under_the_default_page_cache(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str):
    """1,200 rows held back to the end land in one batch with the indexes back: SQLite's page cache stays at
    its default (a bounded few rows; bulk_mode's 64 MiB only filled with dirty pages), and they land right."""
    from cbm.measures.indicators import index as ix

    raised: list[int] = []
    real = ix.bulk_mode
    monkeypatch.setattr(ix, "bulk_mode", lambda conn, cache_mib=64: (raised.append(1), real(conn, cache_mib)))
    if reader == "in-process reader":
        monkeypatch.setenv("CBM_NO_PARALLEL", "1")
    first = filler("10.90", BATCH)
    feed = write_feed(tmp_path / "feed.csv", [HEADER, *first, *[line.replace(",40,", ",42,") for line in first[:1200]]])
    bulk(monkeypatch, True)
    us = make_party("US")
    loaded = import_json(us, feed)
    assert (loaded["created"], loaded["updated"]) == (BATCH, 1200)
    assert raised == []
    hit = us.cli("indicators", "search", "10.90.4.200", "--json").json()["hits"][0]
    assert hit["confidence"] == 42


@pytest.mark.parametrize("behind", [0, 10**9], ids=["reader checks every batch", "writer checks every batch"])
def test_who_runs_the_landing_checks_changes_no_record_flag_or_index(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behind: int):
    """The reader process runs a batch's landing checks only while the writer lags behind it (docs/adr/0259),
    else the writer's index runs them as the batch lands: either way the same records, the same flags, the same
    index as the writer's own grouping and as ``store rebuild``."""
    monkeypatch.setattr(batches, "WRITER_BEHIND", behind)
    carried: list[bool] = []
    real = BatchWriter.add_made

    def spy(self: BatchWriter, message: tuple[Any, ...]) -> None:
        if message[0] == "batch":
            carried.append(message[5] is not None)
        real(self, message)

    monkeypatch.setattr(BatchWriter, "add_made", spy)
    feed = write_feed(tmp_path / "feed.csv", [*checked_feed(), "ipv6,fe80::1,GREEN,45,,,"])
    us, plain, loaded, ordinary = imported_both_ways(make_party, tmp_path, monkeypatch, feed)
    # the free pattern's batch always goes unchecked; every other batch is checked where ``behind`` says
    assert len(carried) >= 3 and carried.count(True) == (len(carried) - 1 if behind == 0 else 0)
    assert counts(loaded) == counts(ordinary)
    assert records(us) == records(plain) and tables(us) == tables(plain)
    found = flags(us)
    assert {flag for _, _, flag in found} >= {"rule:private", "rule:shared-address-space", "rule:link-local"}
    assert len(found) > BATCH
    state = index_state(us)
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    assert index_state(us) == state and flags(us) == found
