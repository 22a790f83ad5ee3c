"""New stores use 16 KiB pages (docs/adr/0214-store-page-size.md); a store made before keeps its own, and both
work alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cbm.store import paths
from cbm.store.connection import PAGE_SIZE, connect
from tests.conftest import Party


def page_size(root: Path) -> int:
    conn = sqlite3.connect(root / paths.DATABASE)
    try:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


def test_a_new_store_has_16_kib_pages(make_party) -> None:
    us: Party = make_party("US")
    assert PAGE_SIZE == 16384 and page_size(us.root) == 16384


def test_a_store_made_with_4_kib_pages_keeps_them_and_still_works(make_party, tmp_path: Path) -> None:
    us: Party = make_party("US")
    database = us.root / paths.DATABASE
    # the store as an older cbm made it: SQLite's default page size (a page size changes only by VACUUM,
    # outside WAL mode)
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("VACUUM")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    assert page_size(us.root) == 4096
    connect(database).close()  # opening it again changes nothing
    assert page_size(us.root) == 4096
    added = us.cli("indicators", "add", "--value", "203.0.113.9", "--json")
    assert added.exit_code == 0, added.stderr
    assert us.cli("indicators", "search", "203.0.113.9", "--json").json()["hits"][0]["value"] == "203.0.113.9"
    assert us.cli("store", "verify").exit_code == 0
    assert page_size(us.root) == 4096
