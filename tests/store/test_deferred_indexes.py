"""Indexes handed to the store by name and version (docs/adr/0216-index-versions-as-data.md): a store opened to read
loads no index module; the first write loads them and rebuilds any whose real version moved."""

from __future__ import annotations

import sqlite3

from cbm.measures import registry
from cbm.store import indexes
from cbm.store.db import Draft, Store
from tests.conftest import Party


def test_the_registry_declares_the_versions_its_indexes_carry():
    """Bumping an index's version without its declaration would leave reading commands on stale tables."""
    assert registry.index_versions() == {index.name: index.version for index in registry.indexes()}
    assert dict(indexes.STORE_INDEX_VERSIONS) == {index.name: index.version for index in indexes.store_indexes()}


def _inquiry_rows(store: Store) -> int:
    return int(store.conn.execute("SELECT COUNT(*) FROM inquiry_threads").fetchone()[0])


def _open_inquiry(us: Party, subject: str) -> None:
    r = us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence", "ROUTINE",
               "--subject", subject, "--body", "Port scans.")
    assert r.exit_code == 0, r.stderr


def test_reading_loads_no_index_and_a_write_rebuilds_one_whose_version_moved(us_ru: tuple[Party, Party]):
    us, _ = us_ru
    for n in range(3):
        _open_inquiry(us, f"Scan {n}")
    with us.open() as store:
        assert _inquiry_rows(store) == 3
        built = dict(store.conn.execute("SELECT name, version FROM index_versions").fetchall())
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        conn.execute("DELETE FROM inquiry_threads")  # visible only if the inquiry index is refolded
    conn.close()

    loads: list[int] = []
    bumped = tuple(index._replace(version=index.version + 1) if index.name == "inquiry" else index
                   for index in registry.indexes())

    def load() -> tuple[indexes.Index, ...]:
        loads.append(1)
        return bumped

    # declared as built (a version bump the declaration missed): opening and reading take the declaration's word
    with Store.open(us.root, indexes=indexes.Deferred(registry.index_versions(), load)) as store:
        assert store.counts()["by_measure"] == {"inquiry": 3}
        assert loads == [] and _inquiry_rows(store) == 0
        # the first write loads the real indexes and refolds the one whose version moved, before it writes
        store.append_many([Draft("bundle.receipt", {"logs": {}}, ("RU",))])
        assert loads == [1]
        assert _inquiry_rows(store) == 3
        versions = dict(store.conn.execute("SELECT name, version FROM index_versions").fetchall())
        assert versions == {**built, "inquiry": built["inquiry"] + 1}
        store.append_many([Draft("bundle.receipt", {"logs": {}}, ("RU",))])
        assert loads == [1]  # once per open store


def test_a_declared_version_the_tables_were_not_built_with_loads_and_rebuilds_on_open(us_ru: tuple[Party, Party]):
    us, _ = us_ru
    _open_inquiry(us, "Scan")
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        conn.execute("DELETE FROM inquiry_threads")
        conn.execute("UPDATE index_versions SET version = 0 WHERE name = 'inquiry'")  # as after an upgrade
    conn.close()
    with us.open() as store:
        assert _inquiry_rows(store) == 1
