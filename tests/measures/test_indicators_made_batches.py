"""Batches made by the reader process (docs/adr/0225-batches-made-by-the-reader.md): a large fresh feed's rows
are grouped, filtered, encoded and checked in the reader process, and the writer only signs and lands them. The
records must be the very ones the writer makes of the same rows (byte for byte: the same hashes), and the index
the same as the writer's and as ``store rebuild``'s, flags included."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cbm.core.canonical import encode_plain
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.writer import BatchWriter, spliced_payload
from tests.conftest import Party
from tests.measures.test_indicators_bulk import (
    BATCH,
    HEADER,
    bulk,
    counts,
    filler,
    import_json,
    index_state,
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
