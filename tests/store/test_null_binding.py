"""None binds as SQL NULL through an adapter of its own, not Python's look-up for objects to adapt
(docs/adr/0236-none-binds-without-adaptation.md): the index rows a feed lands carry millions of them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cbm.store.connection import connect


def test_none_has_its_own_adapter_once_the_store_module_is_loaded() -> None:
    adapter = sqlite3.adapters.get((type(None), sqlite3.PrepareProtocol))
    assert adapter is not None
    assert adapter(None) is None  # SQL NULL, as without an adapter


def test_none_still_lands_as_null_and_reads_back_as_none(tmp_path: Path) -> None:
    conn = connect(tmp_path / "store.sqlite")
    try:
        conn.execute("CREATE TABLE t (a TEXT, b INTEGER, c TEXT NOT NULL DEFAULT 'x')")
        conn.executemany("INSERT INTO t (a, b) VALUES (?, ?)", [(None, None), ("v", 1), (None, 2)])
        assert conn.execute("SELECT typeof(a), typeof(b) FROM t ORDER BY rowid").fetchall() == [
            ("null", "null"), ("text", "integer"), ("null", "integer")]
        assert conn.execute("SELECT COUNT(*) FROM t WHERE a IS ?", (None,)).fetchone()[0] == 2
        assert conn.execute("SELECT a, b FROM t WHERE b IS NULL").fetchall() == [(None, None)]
        with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):  # the adapter gave NULL, not a text
            conn.execute("INSERT INTO t (a, c) VALUES (?, ?)", ("v", None))
    finally:
        conn.close()
