"""The indexes on ``ind`` rebuilt at the end of a bulk load with SQLite's sorter helped by threads
(``resume_indexes``, docs/adr/0285): the same index entries as rows inserted one by one give, and the connection's
other sorts left single-threaded afterwards."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from cbm.measures.indicators import index as ix

ROWS = 20_000


def _store_like(path: Path, indexed: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA page_size = 16384")
    conn.execute("PRAGMA journal_mode = WAL")
    code = "\n".join(line.split("--", 1)[0] for line in ix.SCHEMA.splitlines())  # comments may hold a ";"
    for statement in code.split(";"):
        if statement.strip() and (indexed or " ON ind (" not in statement):
            conn.execute(statement)
    return conn


def _rows() -> list[tuple[object, ...]]:
    rng = random.Random(285)
    rows = []
    for k in range(1, ROWS + 1):
        sid = f"indicator--{rng.getrandbits(128):032x}"
        until = f"2027-0{rng.randint(1, 9)}-01T00:00:00Z" if rng.random() < 0.3 else None
        rows.append((k, "US" if k % 7 else "RU", sid, 1, k, "domain-name", f"h{rng.getrandbits(40):x}.example",
                     "GREEN", "2026-12-07T00:00:00Z", until, 1))
    return rows


INSERT = ("INSERT INTO ind (k, author, sid, rec, pos, type, value, tlp, modified, valid_until, versions)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _entries(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Each index's entries, read through the index itself."""
    return {name: conn.execute(f"SELECT {columns}, k FROM ind INDEXED BY {name}{where} ORDER BY {columns}, k")
            .fetchall()
            for name, columns, where in (("ind_sid", "sid, author", ""), ("ind_value", "value", ""),
                                         ("ind_until", "valid_until", " WHERE valid_until IS NOT NULL"))}


@pytest.mark.parametrize("helpers", [0, 1, 3])
def test_indexes_built_after_a_bulk_load_hold_what_inserts_one_by_one_give(tmp_path, monkeypatch, helpers):
    rows = _rows()
    one_by_one = _store_like(tmp_path / "plain.sqlite", indexed=True)
    with one_by_one:
        one_by_one.execute("BEGIN")
        one_by_one.executemany(INSERT, rows)
        one_by_one.execute("COMMIT")

    monkeypatch.setattr(ix, "sort_helpers", lambda: helpers)
    bulk = _store_like(tmp_path / "bulk.sqlite", indexed=True)
    bulk.execute("PRAGMA cache_size = -64")  # a small sorter memory: the keys are sorted in many runs, merged
    bulk.execute("BEGIN IMMEDIATE")
    ix.suspend_indexes(bulk)  # (the index of other parties' ids, made with a party, is the e2e tests' concern)
    bulk.executemany(INSERT, rows)
    ix.resume_indexes(bulk)
    bulk.execute("COMMIT")

    assert bulk.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert _entries(bulk) == _entries(one_by_one)
    assert bulk.execute("PRAGMA threads").fetchone()[0] == 0  # the connection's later sorts: as before
    names = {n for (n,) in bulk.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ind'")}
    assert names == {"ind_sid", "ind_value", "ind_until"}


def test_one_sorter_helper_per_other_core(monkeypatch):
    for cores, helpers in ((1, 0), (2, 1), (4, 3), (64, ix.SORT_HELPERS_MAX)):
        monkeypatch.setattr("os.sched_getaffinity", lambda pid, n=cores: set(range(n)))
        assert ix.sort_helpers() == helpers
