"""On the landing path a batch is read column by column: the malformed gate and the indicator index share one
transposition of its rows (docs/adr/0213-one-pass-indicator-landing.md). Whatever the rows hold, the answers
must be exactly those of reading the batch row by row: no malformed row slips through the gate's C-level
passes, and the index gets the same rows, flags, ranges, origins and revocations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cbm.measures import malformed
from cbm.measures.indicators import columns, index_rows
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import rows as R

IDENTITY = list(range(len(R.FIELDS)))
HOSTILE = st.sampled_from(["", "\n", "a\x00b", "\x7f", "\u2028", "\u202e", "x" * 70_000])
TEXT = st.one_of(st.none(), st.text(max_size=12), HOSTILE, st.integers(-3, 3), st.sampled_from([[], {}, ["a"]]))
TIME = st.one_of(st.none(), st.sampled_from(["2026-11-23T05:00:00Z", "2026-11-23", "2026-11-23T05:00:00.123Z",
                                             "2026-11-23T05:00:00+01:00", "2026-11-23X05:00:00Z", "", "soon"]),
                 st.integers(0, 2))
KIND = st.sampled_from(["ipv4-addr", "ipv6-addr", "domain-name", "url", "file-sha256", "pattern", "x"])
VALUE = st.one_of(st.none(), st.sampled_from(["10.1.2.3", "198.51.100.0/24", "2001:db8::/32", "0.0.0.0/0",
                                              "example.org", "evil.example", "https://google.com/", "a/b", ""]),
                  st.text(max_size=8), st.integers(0, 2))
PATTERN = st.one_of(st.none(), st.sampled_from(["[ipv4-addr:value = '10.9.8.0/24' OR domain-name:value = 'x.test']",
                                                "[url:value = 'https://a.example/x']", "not a pattern"]), TEXT)
LISTS = st.one_of(st.none(), st.lists(st.one_of(st.text(max_size=6), HOSTILE), max_size=3),
                  st.sampled_from([[1], ["a", None], "energy"]))
EXTRA = st.one_of(st.none(), st.sampled_from([{"revoked": True}, {"revoked": False}, {"x": 1}, "revoked"]))
ORIGIN = st.one_of(st.none(), st.sampled_from(["RU", "US", "XX", "ru"]), st.integers(0, 3))
ASN = st.one_of(st.none(), st.sampled_from([64500, 0, 2**32, -1]), st.text(max_size=3))


GOOD_VALUE = st.sampled_from(["10.1.2.3", "198.51.100.0/24", "2001:db8::/32", "example.org", "https://google.com/"])
GOOD = [st.just("indicator--"), KIND, GOOD_VALUE, TIME, st.integers(0, 100),
        st.lists(st.text(max_size=6), max_size=3), st.text(max_size=12), st.text(max_size=12), TIME, PATTERN,
        st.lists(st.text(max_size=6), max_size=3), st.none(), st.none(), TIME, EXTRA, ORIGIN, ASN]
JUNK = st.one_of(TEXT, TIME, LISTS, EXTRA, ASN, HOSTILE)


@st.composite
def rows(draw: st.DrawFn) -> list[list[Any]]:
    """Rows that are mostly well formed (so a batch reaches the gate's column passes and the index's column
    path), with now and then a cell of any type or hostile text, and trailing cells dropped as trimming does."""
    out = []
    for n in range(draw(st.integers(0, 6))):
        row = [draw(strategy) for strategy in GOOD]
        row[R.ID] += f"{n:08x}-0000-4000-8000-000000000000"
        for _ in range(draw(st.integers(0, 2))):
            row[draw(st.integers(0, len(row) - 1))] = draw(JUNK)
        out.append(row[:draw(st.integers(0, len(row)))])
    return out


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])


@SETTINGS
@given(rows())
def test_the_gate_read_by_columns_passes_only_what_row_by_row_passes(batch: list[list[Any]]) -> None:
    body = {"fields": list(R.FIELDS), "rows": batch}
    assert malformed.batch_reason(body) == malformed._first_bad_row(batch, IDENTITY)


ODD_ID_OR_TYPE = st.one_of(st.none(), st.integers(0, 50), st.just(["i"] * 47), st.just({"k": 1}), st.just(""),
                           st.just("x" * 47), st.just("indicator--0b6c7a2e-5d4f-4e3a-8b1c-2d3e4f5a6b7c\n"[1:]),
                           st.sampled_from(["ipv4-addr", "pattern", "ipv4-addr\n", "IPV4-ADDR", "x" * 70_000]))


@SETTINGS
@given(batch=rows(), at=st.integers(0, 5), column=st.sampled_from([R.ID, R.TYPE]), odd=ODD_ID_OR_TYPE)
def test_the_id_and_type_columns_are_judged_as_row_by_row(batch: list[list[Any]], at: int, column: int,
                                                         odd: Any) -> None:
    """The gate judges these two columns by the id rule and the known types alone (not by their column's type,
    length and single-line passes too): whatever a cell holds, the verdict is the row-by-row one."""
    if batch:
        row = batch[at % len(batch)]
        row.extend([None] * (column + 1 - len(row)))
        row[column] = odd
    body = {"fields": list(R.FIELDS), "rows": batch}
    assert malformed.batch_reason(body) == malformed._first_bad_row(batch, IDENTITY)


def test_a_well_formed_feed_batch_takes_the_column_path() -> None:
    """The C-level passes accept a feed's usual rows (else every batch would be walked row by row)."""
    row = ["indicator--00000000-0000-4000-8000-000000000000", "ipv4-addr", "10.1.2.3", "2027-01-01T00:00:00Z",
           80, ["energy"], "name", "two\nlines", "2026-11-23T05:00:00Z", None, ["malicious-activity"]]
    body = {"fields": list(R.FIELDS), "rows": [row, row[:3]]}
    cells = columns.columns(body)
    assert cells is not None and len(cells) == len(R.FIELDS) and cells[R.VALUE] == ("10.1.2.3", "10.1.2.3")
    assert all(malformed._column_ok(i, cells[i]) for i in range(len(malformed._ROW_TYPES)))
    assert malformed.batch_reason(body) is None


@pytest.fixture
def us(make_party):
    return make_party("US")  # one real store for every example: its records give each batch a real record id


@SETTINGS
@given(batch=rows(), tlp=st.sampled_from(["GREEN", "AMBER"]))
def test_the_index_built_by_columns_is_the_index_built_row_by_row(us, batch, tlp) -> None:
    with us.open() as store:
        record = store.append("indicators.batch", {"fields": list(R.FIELDS), "rows": batch}, tlp=tlp)
        if malformed.reason(record) is not None:
            return  # kept as evidence, never folded (ADR 0116): the index never reads it
        by_columns = ix._batch_rows(store.conn, record)
        by_rows = index_rows.from_rows(R.rows_of(record.body), "US", ix._record_id(store.conn, record), tlp,
                                       record.created, ix.checker(store.conn).check, record.to)
    skipped = malformed.left_out(record)  # rows whose value is not in normal form fold nowhere (ADR 0269)
    if skipped is not None:
        by_rows = by_rows.take([i for i in range(len(by_rows)) if i not in skipped.positions])
    assert by_columns == by_rows
    # the columns the column path names NULL for the whole batch (bound as NULL literals, ADR 0237) are
    assert all(row[i] is None for row in by_columns.rows for i in by_columns.nulls)


ONE_ROW = [["indicator--00000000-0000-4000-8000-000000000000", "ipv4-addr", "10.1.2.3"]]


@SETTINGS
@given(batch=rows(), keep=st.sets(st.integers(0, 12)))
@example(batch=ONE_ROW, keep=set())  # none kept, or one: still columns (found by hypothesis)
@example(batch=ONE_ROW, keep={0})
def test_part_of_a_batch_read_by_columns_is_that_part_read_row_by_row(us, batch, keep) -> None:
    """A bulk landing holds back part of most batches (Batch.take): the part kept as columns, still bound a
    column at a time, is the same rows as that part of the batch read row by row."""
    with us.open() as store:
        record = store.append("indicators.batch", {"fields": list(R.FIELDS), "rows": batch})
        if malformed.reason(record) is not None or malformed.left_out(record) is not None:
            return
        by_columns = ix._batch_rows(store.conn, record)
        by_rows = index_rows.from_rows(R.rows_of(record.body), "US", ix._record_id(store.conn, record),
                                       record.tlp, record.created, ix.checker(store.conn).check, record.to)
    positions = sorted(i for i in keep if i < len(batch))
    part = by_columns.take(positions)
    assert part == by_rows.take(positions) and len(part) == len(positions)
    if isinstance(by_columns.rows, index_rows.IndRows):
        assert isinstance(part.rows, index_rows.IndRows)
        assert all(row[i] is None for row in part.rows for i in part.nulls)


@given(st.lists(st.sampled_from(["ipv4-addr", "url", "domain-name", "pattern", "file-md5"]), max_size=40))
def test_positions_by_kind_are_each_types_rows_in_order(kinds: list[str]) -> None:
    """The gate and the landing checks share one grouping of a batch's type column: every row under its type,
    ascending; a list (which may change) is grouped afresh each time, a tuple's answer is kept."""
    expected = {kind: [i for i, k in enumerate(kinds) if k == kind] for kind in dict.fromkeys(kinds)}
    assert columns.positions_by_kind(tuple(kinds)) == expected
    assert columns.positions_by_kind(kinds) == expected
    kinds.append("ipv6-addr")
    assert columns.positions_by_kind(kinds)["ipv6-addr"] == [len(kinds) - 1]
