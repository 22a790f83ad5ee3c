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
from cbm.measures.indicators import batches
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


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tags of the reader's messages the writer took, in order (empty: the reader sent rows as before)."""
    tags: list[str] = []
    real = BatchWriter.add_made

    def spy(self: BatchWriter, message: tuple[Any, ...]) -> None:
        tags.append(message[0])
        real(self, message)

    monkeypatch.setattr(BatchWriter, "add_made", spy)
    return tags


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


def test_a_feed_into_a_store_holding_our_indicators_is_grouped_by_the_writer(
        make_party, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, made: list[str]):
    bulk(monkeypatch, True)
    us = make_party("US")
    assert us.cli("indicators", "add", "--type", "domain", "--value", "held.example").exit_code == 0
    loaded = import_json(us, write_feed(tmp_path / "feed.csv", checked_feed()))
    assert made == [] and loaded["created"] > BATCH


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
    bulk(monkeypatch, True)
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    monkeypatch.setenv("CBM_NO_PARALLEL", "1")
    ordinary = import_json(plain, feed)
    monkeypatch.delenv("CBM_NO_PARALLEL")
    loaded = import_json(us, feed)

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
