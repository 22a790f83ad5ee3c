"""``cbm store rebuild`` regenerates every derived index (and the derived record columns) exactly."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from cbm.core.errors import CbmError
from cbm.core.records import KIND, MEASURES, build_payload, sign_record
from cbm.measures import registry
from cbm.store import indexes
from cbm.store.db import Draft, Store
from cbm.store.index_receipts import acknowledged, delivered_at
from cbm.store.ingest import ingest
from tests.conftest import Party

SOURCE = Path(__file__).resolve().parents[2] / "cbm"


def _all_indexes() -> tuple[indexes.Index, ...]:
    """The store's own indexes and every measure's, as an opened store folds them."""
    return (*indexes.store_indexes(), *registry.indexes())


def _kinds() -> list[str]:
    literal = re.compile(r'"((?:' + "|".join(MEASURES) + r')\.[a-z_]+(?:\.[a-z_]+)*)"')
    found = {k for p in SOURCE.rglob("*.py") for k in literal.findall(p.read_text("utf-8")) if KIND.fullmatch(k)}
    return sorted(found - {"keys.rotate", "keys.revoke"})


def _snapshot(store: Store) -> dict[str, list[tuple]]:
    tables = {t for index in _all_indexes() for t in index.tables}
    exists = {name for (name,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    snap = {t: sorted(store.conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables & exists}
    snap["records"] = store.conn.execute(
        "SELECT id, hash, author, seq, prev, kind, created, tlp, audience, keyid, subject FROM records ORDER BY id"
    ).fetchall()
    return snap


def _populate(us: Party, ru: Party) -> None:
    with us.open() as store:
        store.append_many([Draft("bundle.receipt", {"logs": {"RU": {"seq": n, "hash": f"{n:064x}"},
                                                             "CN": {"seq": 2 * n, "hash": f"{2 * n:064x}"}}},
                                 ("RU",)) for n in (1, 2, 3)])
        store.append_many([Draft("inquiry.open", {"ref": f"US-{n}", "text": "t"}, ("RU",)) for n in range(3)])
    with ru.open() as ru_store:
        pair = ru_store.signer()
    with us.open() as store:
        seq = 0
        prev = None
        for kind in _kinds():  # one by one: a measure may refuse a body it finds meaningless, that is fine
            payload = build_payload(author="RU", seq=seq + 1, prev=prev, created="2026-11-23T05:00:00Z", kind=kind,
                                    to=["US"], tlp="GREEN",
                                    body={"ref": "RU-1", "text": "t", "logs": {"US": {"seq": 2, "hash": "ab" * 32}}})
            try:
                landed = ingest(store, [sign_record(payload, kind, pair)]).landed
            except CbmError:
                continue
            seq, prev = seq + 1, landed[0].hash


def test_rebuild_regenerates_indexes_and_columns_exactly(us_ru: tuple[Party, Party]):
    us, ru = us_ru
    _populate(us, ru)
    with us.open() as store:
        before = _snapshot(store)
        assert len(before["receipts"]) == 7  # 3 receipts of ours naming 2 logs each, 1 of RU
        assert acknowledged(store.conn, "US", "CN")[0] == 6
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        for table in before:
            if table != "records":
                conn.execute(f'DELETE FROM "{table}"')
        conn.execute("UPDATE records SET subject = NULL, kind = 'x.y', audience = '[]'")
    conn.close()
    with us.open() as store:
        assert acknowledged(store.conn, "US", "CN") == (0, None, None)  # the damage is real ...
    r = us.cli("store", "rebuild", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.store.rebuild/1" and doc["indexes"]["receipts"] == 4  # 3 ours + RU's one
    with us.open() as store:
        assert _snapshot(store) == before  # ... and fully repaired
        assert delivered_at(store.conn, "US", "RU", 2) is not None
    assert us.cli("store", "verify").exit_code == 0


def test_rebuild_is_idempotent_and_a_stale_index_rebuilds_on_open(us_ru: tuple[Party, Party]):
    us, ru = us_ru
    _populate(us, ru)
    with us.open() as store:
        before = _snapshot(store)
        store.rebuild()
        assert _snapshot(store) == before
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        conn.execute("DELETE FROM receipts")
        conn.execute("UPDATE index_versions SET version = 0 WHERE name = 'receipts'")  # as after an upgrade
    conn.close()
    with us.open() as store:
        assert _snapshot(store) == before


def test_rebuild_lists_only_indexes_that_derive_something(us_ru: tuple[Party, Party]):
    """Regression: ``store rebuild`` listed a "workgroup" index that owned no table and folded no record (it only
    held a query; that now lives in cbm/store/activity.py). A store written before still opens, rebuilds and
    verifies, its leftover index_versions row ignored."""
    us, ru = us_ru
    _populate(us, ru)
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        conn.execute("INSERT OR REPLACE INTO index_versions (name, version) VALUES ('workgroup', 1)")
    conn.close()
    r = us.cli("store", "rebuild", "--json")
    assert r.exit_code == 0, r.stderr
    by_name = {index.name: index for index in _all_indexes()}
    assert set(r.json()["indexes"]) == set(by_name)
    assert all(index.tables and index.kinds for index in by_name.values())
    assert "workgroup" not in by_name
    assert us.cli("store", "verify").exit_code == 0


def test_an_index_an_older_cbm_built_is_rebuilt_on_first_use_and_the_user_is_told(us_ru: tuple[Party, Party]):
    """After an upgrade that moves an index's version, the first command refolds the store's records (about a
    minute for a million indicators): a status line says so, once, instead of a silent wait; -q hides it; a
    new store and a store already current say nothing."""
    us, ru = us_ru
    _populate(us, ru)
    assert us.cli("status").stderr == ""  # current: nothing to say
    with us.open() as store:
        before = _snapshot(store)

    def age(name: str) -> None:
        conn = sqlite3.connect(us.root / "store.sqlite")
        with conn:
            conn.execute("UPDATE index_versions SET version = version - 1 WHERE name = ?", (name,))
        conn.close()

    age("indicators")
    r = us.cli("status")
    assert r.exit_code == 0, r.stderr
    # said once the command is done (docs/adr/0301), or while it runs when it takes long (a busy machine)
    assert re.search(r"rebuil(t|ds) the store's indicators index from its records, once", r.stderr), r.stderr
    assert us.cli("status").stderr == ""  # once
    with us.open() as store:
        assert _snapshot(store) == before
    age("malformed")
    r = us.cli("-q", "status")
    assert r.exit_code == 0 and r.stderr == ""
    assert us.cli("status").stderr == ""  # -q hid the line, the rebuild was done all the same
