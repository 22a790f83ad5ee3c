"""The landing's C-level shortcuts (docs/adr/0222-screened-landing-checks.md) change no verdict and no row:
the malformed gate's ASCII test for control characters says what the exact test says, and the fold that inserts
``ind`` rows many to a statement leaves the index exactly as inserting them one by one, new versions, repeats
within a batch and a batch's tail included."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.core.fields import control_character
from cbm.measures import malformed
from cbm.measures.indicators import ind_insert
from cbm.measures.indicators import index as ix
from cbm.measures.indicators import rows as R

CONTROL = st.sampled_from(["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\u202e",
                           "\u200b", "\ufeff", "\xa0", "é", "\U0001f600"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=12),
                          st.text(max_size=6), CONTROL), max_size=8))
def test_the_gate_finds_a_control_character_wherever_the_exact_test_does(parts: list[str]) -> None:
    text = "".join(parts)
    assert malformed._single_line(text) == (text.isprintable() or control_character(text) is None)


@pytest.mark.parametrize("bad", ["\x00", "\t", "\x1f", "\x7f", "\n", "\u2028", "\u202e"])
def test_a_control_character_in_a_long_ascii_column_is_refused(bad: str) -> None:
    """A batch of a feed's usual size, every row well formed but one whose value hides a control character."""
    rows = [[f"indicator--{n:08x}-0000-4000-8000-000000000000", "domain-name", f"host{n}.example"]
            for n in range(300)]
    rows[217][R.VALUE] = f"evil{bad}.example"
    assert malformed.batch_reason({"fields": list(R.FIELDS), "rows": rows}) == \
        "row 218: value holds a control character"


def _batch(first: int, count: int, tag: str) -> list[list[Any]]:
    return [[f"indicator--{n:08x}-0000-4000-8000-000000000000", "domain-name", f"{tag}{n}.example.net"]
            for n in range(first, first + count)]


def _index(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in ix.TABLES}


def _folded_both_ways(make_party: Any, monkeypatch: pytest.MonkeyPatch, batches: list[list[list[Any]]]) \
        -> list[dict[str, list[tuple[Any, ...]]]]:
    """The indicator index two stores fold from ``batches``: the first through the many-row INSERT, the second a
    row at a time with every value bound (the author column left out: it differs between the two stores)."""
    found = []
    for one_by_one in (False, True):
        if one_by_one:
            monkeypatch.setattr(ix, "_insert_or_ignore", lambda conn, rows, nulls=frozenset(): conn.executemany(
                ind_insert.INSERT.format(verb="OR IGNORE"), rows))
        party = make_party("US" if not one_by_one else "RU")
        with party.open() as store:
            for batch in batches:
                store.append("indicators.batch", {"fields": list(R.FIELDS), "rows": batch})
            index = _index(store.conn)
        found.append({table: [tuple(v for i, v in enumerate(row) if i not in (1,)) for row in rows]
                      for table, rows in index.items()})
    return found


def test_many_rows_to_a_statement_fold_as_one_by_one(make_party, monkeypatch) -> None:
    """Two stores land the same batches (a first one; then one mixing new versions of held indicators, new ones
    and a repeat within itself, longer than one statement and not a multiple of it), one through the many-row
    INSERT and one a row at a time: their indicator index is the same, row for row."""
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")
    assert 200 % ind_insert._PER_STATEMENT and 200 > 2 * ind_insert._PER_STATEMENT
    second = _batch(0, 100, "changed") + _batch(500, 99, "new") + _batch(0, 1, "again")
    found = _folded_both_ways(make_party, monkeypatch, [_batch(0, 150, "first"), second])
    assert found[0] == found[1]
    ind = found[0]["ind"]
    assert len(ind) == 249 and len(found[0]["ind_hist"]) == 101


def _full(first: int, count: int, tag: str, *, created: bool, sectors: bool, revoked: bool) -> list[list[Any]]:
    """Rows filling, on every other row, the columns a batch may leave out entirely (created, sectors, revoked)."""
    rows = []
    for n, row in enumerate(_batch(first, count, tag)):
        row.extend([None] * (len(R.FIELDS) - len(row)))
        if n % 2:
            row[R.CREATED] = "2026-11-01T00:00:00Z" if created else None
            row[R.SECTORS] = ["energy", "finance"] if sectors else None
            row[R.EXTRA] = {"revoked": True} if revoked else None
        row[R.CONFIDENCE] = None if n % 3 else 70
        rows.append(row)
    return rows


@pytest.mark.parametrize(("created", "sectors", "revoked"), [(False, False, False), (True, False, False),
                                                             (False, True, True), (True, True, True)])
def test_values_bound_once_or_named_null_fold_as_one_by_one(make_party, monkeypatch, created: bool, sectors: bool,
                                                             revoked: bool) -> None:
    """A statement binds the values a batch's rows share once and names as NULL the columns none of its rows
    fills (docs/adr/0237): batches with and without created times, sectors and revocations at the source, new
    versions among them, land the same index as rows inserted one by one with every value bound."""
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")
    batches = [_full(0, 150, "first", created=created, sectors=sectors, revoked=revoked),
               _full(100, 100, "later", created=not created, sectors=sectors, revoked=False)]
    found = _folded_both_ways(make_party, monkeypatch, batches)
    assert found[0] == found[1]
    ind = found[0]["ind"]
    assert len(ind) == 200 and len(found[0]["ind_hist"]) == 50
    # created (7), sectors (12), revoked (14): left out by whole batches, or filled on some of their rows
    assert any(row[7] is not None for row in ind) and any(row[7] is None for row in ind)
    assert any(row[12] is not None for row in ind) == sectors and any(row[12] is None for row in ind)
    assert any(row[14] is not None for row in ind) == revoked and any(row[14] is None for row in ind)
