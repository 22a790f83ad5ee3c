"""A block of plain feed lines made column by column (docs/adr/0286) gives what the per-line path gives: the same
rows, ids, errors and order, the same batch messages, whatever the block's size and wherever odd lines fall.

The references are the readers as they were: ``csv.reader`` with the full row builder for every line and the
exact normalisation (tests/measures/test_indicators_fast_paths.py), ``model.simple_indicator_id`` one id at a
time, ``model._common`` one value at a time, and the batch maker fed one Item at a time.
"""

from __future__ import annotations

import io
import itertools
import marshal
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.measures.indicators import batches, model, pipeline
from cbm.measures.indicators import rows as R
from cbm.measures.indicators.formats import Defaults, Item, LineError, ReadNotes, RowBlock
from cbm.measures.indicators.formats import csv as csv_format
from cbm.measures.indicators.formats.feed_columns import normal_kinds, simple_indicator_ids
from tests.measures.test_indicators_bulk import bulk, counts, import_json, index_state, tables, twin
from tests.measures.test_indicators_fast_paths import (
    DEFAULTS,
    KINDS,
    VALUES,
    _csv_text,
    _exact_values,
    _read_all,
    _reference_csv,
)

ONE_LINE = [v for v in VALUES if "\n" not in v and "\r" not in v]


def test_the_ids_of_a_column_are_the_ids_one_at_a_time() -> None:
    values = [*ONE_LINE, "пример.рф", "xn--e1afmkfd.xn--p1ai", "a" * 300, "1.2.3.4"]
    for author in ("US", "RU", "a\nb"):
        for kind in model.SIMPLE_TYPES:
            kinds = [kind] * len(values)
            plain = [v for v in values if "'" not in v and "\\" not in v]
            for column in (values, plain, plain[:1], []):  # a value the pattern quotes: the one-at-a-time way
                assert simple_indicator_ids(author, kinds[:len(column)], column) == \
                    [model.simple_indicator_id(author, kind, v) for v in column], (author, kind)
    mixed = random.Random(5).choices(list(model.SIMPLE_TYPES), k=len(ONE_LINE))
    plain = [v.replace("'", "") .replace("\\", "") for v in ONE_LINE]
    assert simple_indicator_ids("US", mixed, plain) == list(map(model.simple_indicator_id, itertools.repeat("US"),
                                                               mixed, plain))


def _settled(kind: str, value: str) -> str | None:
    """The type model._common gives ``value`` when it gives it back as it is (an IPv6 address aside: its shape is
    judged by the socket module, one at a time), else None."""
    common = model._common(kind, value)
    return common[0] if common is not None and common[1] == value and common[0] != "ipv6-addr" else None


@pytest.mark.parametrize("seed", range(4))
def test_the_normal_values_of_a_column_are_those_normalise_keeps(seed: int) -> None:
    pairs = [(kind, value) for kind in KINDS for value in ONE_LINE]
    random.Random(seed).shuffle(pairs)
    pairs = pairs[:seed * 97 + 1] if seed < 3 else pairs
    kinds, values = [k for k, _ in pairs], [v for _, v in pairs]
    found, unsettled = normal_kinds(kinds, values)
    assert len(found) == len(values)
    for i, (kind, value) in enumerate(pairs):
        want = _settled(kind, value)
        if want is None:
            assert i in unsettled, (kind, value)
        else:
            assert i not in unsettled and found[i] == want, (kind, value)
            assert model.normalise(kind, value) == (want, value)


def test_a_column_of_common_values_is_settled_whole() -> None:
    kinds = ["ipv4-addr", "domain-name", "url", "file-md5", "file-sha1", "file-sha256", "domain-name"]
    values = ["1.2.3.4", "example.com", "https://example.com/a?b#c", "d41d8cd98f00b204e9800998ecf8427e",
              "da39a3ee5e6b4b0d3255bfef95601890afd80709",
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "a" * 63 + ".com"]
    assert normal_kinds(kinds, values) == (kinds, [])
    assert normal_kinds([""] * 4, values[:4]) == (kinds[:4], [])
    long_host = "http://" + ".".join(["a" * 63] * 4) + ".com/"  # a host over 253 characters: no common shape
    assert normal_kinds(["url", "url"], ["http://a.com/", long_host]) == (["url", "url"], [1])


# -- whole feeds, in blocks of any size ------------------------------------------------------------------------

_HEADERS = [
    "type,value,tlp,confidence,valid_from,valid_until,sectors,labels,indicator_types,name,description",
    "type,value,tlp,confidence,valid_from,valid_until,sectors,labels,indicator_types,name,description,origin,asn,"
    "revoked",
    "indicator,tags,country",  # no type column: each value recognised
    "value,type",
]
_CELLS = {
    "type": ["ipv4-addr", "ip", "domain", "url", "md5", "sha1", "sha256", "hash", "ipv6", "email", " IPv4 ", "",
             "pattern", "no-such-type", "hostname"],
    "tlp": ["GREEN", "AMBER", "red", "", "AMBER+STRICT", "PURPLE", " clear "],
    "confidence": ["80", "", "101", "x", " 50 ", "0"],
    "valid_from": ["2026-02-14T21:00:00Z", "", "2026-01-21", "yesterday", "2027-06-01T00:00:00Z"],
    "valid_until": ["", "2027-01-21T00:00:00Z", "2020-01-01T00:00:00Z", "2026-12-06T13:00:01Z", "later"],
    "sectors": ["", "finance;energy", "Finance|Health", "no-such-sector", " ", "energy"],
    "labels": ["", "apt;ransomware", "a;a;b", '["x, y"]', " ", "c2"],
    "indicator_types": ["", "malicious-activity", "x;x", "anomalous-activity;malicious-activity"],
    "name": ["", "LockBit", "Emotet ", "tab\there", "Ünïcode", "x" * 70000],
    "description": ["", "C2 server", "dropper hash", "d" * 70000, "ctl\x01"],
    "origin": ["", "RU", "ru", "XX", "US"],
    "asn": ["", "AS64500", "64500", "AS0", "1"],
    "revoked": ["", "true", "false", " ", "revoked"],
    "country": ["", "RU", "ZZ"],
    "tags": ["", "a;b", "x"],
    "indicator": ONE_LINE,
}


def _line(rng: random.Random, header: str, odd: float) -> str:
    names = header.split(",")
    cells = []
    for name in names:
        column = name if name != "value" else "indicator"
        pool = _CELLS[column]
        if column == "indicator" or rng.random() < odd:
            cells.append(rng.choice(pool))
        else:
            cells.append(pool[min(1, len(pool) - 1)] if column != "revoked" else "")
    if names[0] == "type" and rng.random() > odd:  # mostly a value of its type
        kind, value = rng.choice([("ipv4-addr", f"10.{rng.randrange(256)}.{rng.randrange(256)}.1"),
                                  ("domain", f"host{rng.randrange(10**6)}.example.com"),
                                  ("url", f"https://h{rng.randrange(99)}.example.org/p?{rng.randrange(99)}"),
                                  ("sha256", f"{rng.getrandbits(256):064x}"),
                                  ("ipv6", f"2001:db8::{rng.randrange(999):x}"),
                                  ("md5", f"{rng.getrandbits(128):032X}")])
        cells[0], cells[1] = kind, value
    line = ",".join(cells)
    roll = rng.random()
    if roll < odd / 4:
        line = rng.choice(["", "# a comment", "  # indented", "   ", ",", "ipv4-addr,1.2.3.4", line + ",extra",
                           line.replace(",", ",'", 1), "\ufeff" + line, " " + line, line + "\r"])
    return line


def _feed(seed: int, header: str, lines: int, odd: float, ending: str = "\n") -> bytes:
    rng = random.Random(seed)
    body = [_line(rng, header, odd) for _ in range(lines)]
    if seed % 3 == 0:  # a repeat of an earlier line, and the same value under another TLP
        body += body[: lines // 10]
    text = ending.join([header, *body]) + (ending if seed % 2 else "")
    return text.encode("utf-8", "surrogateescape")


def _blocks_read(data: bytes, d: Defaults, block_lines: int) -> list[Any]:
    out: list[Any] = []
    try:
        for item in csv_format.read_blocks(_csv_text(io.BytesIO(data)), d, ReadNotes(), block_lines):
            if type(item) is RowBlock:
                assert item.rows and len(item.rows) == len(item.tlps)
                out.extend(Item(row, tlp) for row, tlp in zip(item.rows, item.tlps, strict=True))
            else:
                out.append(item)
    except csv_format.EmptyFeed as e:
        out.append(("EmptyFeed", "comments" in str(e)))
    return out


def _reference(data: bytes, d: Defaults) -> list[Any]:
    with _exact_values():
        old = _reference_csv(_csv_text(io.BytesIO(data)), d, ReadNotes())
    if old and old[-1][0] == "EmptyFeed":
        old[-1] = ("EmptyFeed", old[-1][1])
    return old


@pytest.mark.parametrize("header", range(len(_HEADERS)), ids=["ours", "origin-revoked", "recognised", "two"])
@pytest.mark.parametrize("odd", [0.0, 0.05, 0.5], ids=["plain", "some-odd", "mostly-odd"])
def test_feeds_read_in_blocks_give_the_rows_and_errors_of_the_full_path(header: int, odd: float) -> None:
    for seed, d in enumerate(DEFAULTS):
        data = _feed(seed + header * 10, _HEADERS[header], 400, odd, "\r\n" if seed == 2 else "\n")
        want = _reference(data, d)
        for block_lines in (1, 2, 7, 64, csv_format.BLOCK_LINES):
            got = _blocks_read(data, d, block_lines)
            assert got == want, (seed, block_lines)
            assert [type(x) for x in got] == [type(x) for x in want]
        assert _read_all(csv_format.read(_csv_text(io.BytesIO(data)), d, ReadNotes())) == want
    if odd == 0.0 and header == 0:  # the corpus takes the column path (else these would be one line at a time)
        blocks = [x for x in csv_format.read_blocks(_csv_text(io.BytesIO(data)), DEFAULTS[0], ReadNotes())
                  if type(x) is RowBlock]
        assert sum(len(b.rows) for b in blocks) > 300


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**6), odd=st.floats(0, 1), block_lines=st.integers(1, 40),
       d=st.sampled_from(DEFAULTS), header=st.sampled_from(_HEADERS))
def test_any_feed_in_any_blocks_reads_as_the_full_path(seed: int, odd: float, block_lines: int, d: Defaults,
                                                        header: str) -> None:
    data = _feed(seed, header, 60, odd)
    assert _blocks_read(data, d, block_lines) == _reference(data, d)


@pytest.mark.parametrize("data", [
    b"type,value\nipv4-addr,1.2.3.4\nipv4-addr,\"5.6.7.8\nipv4-addr,9.9.9.9\n\",x\nipv4-addr,1.2.3.5\n",
    b"type,value\n" + b"ipv4-addr,1.2.3.4\n" * 5 + b"ipv4-addr,1.2\xff.3.4\n" + b"ipv4-addr,1.2.3.6\n" * 5,
    b"type,value\n" + b"ipv4-addr,1.2.3.4\n" * 5 + b"ipv4-addr,1.2.3.4\rx\n" + b"ipv4-addr,1.2.3.6\n" * 5,
    b"type,value\n" + b"ipv4-addr,1.2.3.4\n" * 5 + b"ipv4-addr," + b"1" * 140000 + b"\nipv4-addr,1.2.3.6\n",
    b"type,value\r" + b"ipv4-addr,1.2.3.4\r" * 9,
    b"type,value\n" + b"ipv4-addr,1.2.3.4\n" * 9 + b"ipv4-addr,1.2.3.5",
    b"type,value,name\n" + b"url,http://a.example/it's,x\n" + b"domain,A.EXAMPLE,y\n" * 3 + b"sha1,x,\n",
], ids=range(7))
def test_odd_lines_between_plain_ones_read_as_the_full_path(data: bytes) -> None:
    for block_lines in (1, 3, 4, 1024):
        assert _blocks_read(data, DEFAULTS[0], block_lines) == _reference(data, DEFAULTS[0]), block_lines


# -- the batch maker: a block at a time makes the messages made one row at a time -------------------------------


class _KeepingUp:
    """The writer keeps up: the landing checks are its (no check runs here)."""

    sent = 0

    def writer_behind(self) -> bool:
        return False


def _messages(items: list[Any], batch_size: int, max_held: int) -> list[bytes]:
    maker = batches.BatchMaker(source="feed.csv", check=None, batch_size=batch_size,  # type: ignore[arg-type]
                               max_held=max_held, expected_rows=1000)
    maker.backlog = _KeepingUp()  # type: ignore[assignment]
    return [marshal.dumps(m) if not (type(m) is tuple and m[0] == "unbulk") else b"unbulk"
            for m in pipeline._made(iter(items), maker)]


@pytest.mark.parametrize("batch_size, max_held", [(7, 50_000), (50, 50_000), (5000, 50_000), (7, 3), (50, 0)])
def test_blocks_make_the_batches_rows_one_at_a_time_make(batch_size: int, max_held: int) -> None:
    data = _feed(3, _HEADERS[0], 600, 0.05)  # repeats across and within batches, several TLPs, bad lines
    d = DEFAULTS[0]
    for block_lines in (1, 5, 64, 1024):
        blocks = list(csv_format.read_blocks(_csv_text(io.BytesIO(data)), d, ReadNotes(), block_lines))
        one_at_a_time = [y for x in blocks for y in ([Item(list(r), t) for r, t in zip(x.rows, x.tlps, strict=True)]
                                                      if type(x) is RowBlock else [x])]
        assert any(type(x) is LineError for x in one_at_a_time)
        assert _messages(blocks, batch_size, max_held) == _messages(one_at_a_time, batch_size, max_held), block_lines


def test_a_single_tlp_block_joins_its_batch_a_slice_at_a_time() -> None:
    rows = [[f"indicator--{i % 13}", "ipv4-addr", f"10.0.0.{i % 13}"] for i in range(40)]
    block = RowBlock(rows, ["GREEN"] * 40)
    items = [Item(list(r), "GREEN") for r in rows]
    for size in (3, 13, 14, 100):
        assert _messages([block, block], size, 50_000) == _messages(items + items, size, 50_000), size


# -- end to end: a plain feed through the reader process -------------------------------------------------------


def test_a_plain_feed_lands_the_same_through_the_reader_process(make_party: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               made: list[str]) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-12-06T13:00:00Z")
    feed = tmp_path / "feed.csv"
    feed.write_bytes(_feed(6, _HEADERS[0], 2 * R.MAX_ROWS + 2000, 0.01))  # batches flushed along the way
    bulk(monkeypatch, True)
    us, plain = make_party("US"), twin(tmp_path, "US", "plain")
    monkeypatch.setenv("CBM_NO_PARALLEL", "1")  # read in this process, the writer grouping the rows itself
    ordinary = import_json(plain, feed, "--skip-invalid")
    monkeypatch.delenv("CBM_NO_PARALLEL")
    loaded = import_json(us, feed, "--skip-invalid")
    assert "batch" in made
    assert counts(loaded) == counts(ordinary) and loaded["created"] > R.MAX_ROWS
    assert tables(us) == tables(plain) and index_state(us) == index_state(plain)
    with us.open() as a, plain.open() as b:
        query = "SELECT hash FROM records WHERE kind LIKE 'indicators.%' ORDER BY seq"
        assert a.conn.execute(query).fetchall() == b.conn.execute(query).fetchall()
