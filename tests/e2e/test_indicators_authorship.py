"""An id belongs to its author (issue 14, point 3): three stores, real bundle files, real STIX files.

US publishes indicators and hands its STIX export to RU, which imports the file. CN then receives bundles from
both. Before, RU signed US's ids as its own: CN saw one id from two authors, "corroborated" by a copy, routed a
sighting to the wrong party, and its STIX export had duplicate ids.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from cbm.measures.indicators import model
from tests.conftest import Party


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-11-23T06:00:00Z")


def ship(src: Party, dst: Party, path: Path) -> None:
    r = src.cli("bundle", "export", "--to", dst.code, "-o", str(path))
    assert r.exit_code == 0, r.stderr
    r = dst.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr


def listed(party: Party) -> dict[str, dict]:
    return {(i["author"], i["value"]): i for i in party.cli("indicators", "list", "--json").json()["indicators"]}


def test_a_peer_export_imported_as_a_file_is_reauthored_and_a_third_store_keeps_ids_apart(three, tmp_path):
    us, ru, cn = three
    for value in ("c2.grid-ops.example", "198.51.100.77", "http://drop.example/a.bin"):
        assert us.cli("indicators", "add", "--value", value, "--tlp", "GREEN").exit_code == 0
    us_file = tmp_path / "us.stix.json"
    assert us.cli("indicators", "export", "-o", str(us_file)).exit_code == 0
    us_ids = {o["id"] for o in json.loads(us_file.read_text())["objects"] if o["type"] == "indicator"}

    r = ru.cli("indicators", "import", str(us_file), "--json")
    assert r.exit_code == 0, r.stderr
    assert "3 indicator(s) with another party's id, re-authored under ids of ours" in r.stderr
    ru_ids = {i["id"] for i in listed(ru).values()}
    assert len(ru_ids) == 3 and not ru_ids & us_ids
    assert all(i["author"] == "RU" for i in listed(ru).values())
    again = ru.cli("indicators", "import", str(us_file), "--json").json()
    assert (again["created"], again["updated"]) == (0, 0)  # re-importing the same file changes nothing
    # RU's own indicators are those RU would have made from the values itself: adding one again is no new one
    assert ru.cli("indicators", "add", "--value", "198.51.100.77", "--json").json()["action"] != "created"

    ship(us, cn, tmp_path / "us-cn.cbm")
    ship(ru, cn, tmp_path / "ru-cn.cbm")
    held = listed(cn)
    assert {(a, v) for a, v in held} == {(a, v) for a in ("US", "RU") for v in
                                          ("c2.grid-ops.example", "198.51.100.77", "http://drop.example/a.bin")}
    us_one = held[("US", "198.51.100.77")]["id"]
    shown = cn.cli("indicators", "show", us_one, "--json").json()["indicators"]
    assert [s["author"] for s in shown] == ["US"]  # one id, one author
    sighted = cn.cli("indicators", "sighting", us_one, "--count", "1", "--json").json()
    assert sighted["author"] == "US"  # feedback goes to the indicator's author

    export = json.loads(cn.cli("indicators", "export").stdout)
    counts = Counter(o["id"] for o in export["objects"])
    assert not [i for i, n in counts.items() if n > 1]
    links = [o for o in export["objects"] if o.get("relationship_type") == "derived-from"]
    assert {(lk["source_ref"], lk["target_ref"]) for lk in links} == {
        (held[("RU", v)]["id"], held[("US", v)]["id"]) for a, v in held if a == "US"}
    assert all(lk["created_by_ref"] == model.identity_id("RU") for lk in links)


def test_another_partys_id_without_a_creator_is_reauthored_too(three, tmp_path):
    us, ru, _ = three
    assert us.cli("indicators", "add", "--value", "evil.example").exit_code == 0
    ship(us, ru, tmp_path / "us-ru.cbm")
    bundle = json.loads(us.cli("indicators", "export").stdout)
    for obj in bundle["objects"]:
        obj.pop("created_by_ref", None)  # a file that no longer says who made it
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] in ("indicator", "marking-definition")]
    stripped = tmp_path / "stripped.json"
    stripped.write_text(json.dumps(bundle))
    r = ru.cli("indicators", "import", str(stripped))
    assert r.exit_code == 0, r.stderr
    assert "1 indicator(s) with another party's id, re-authored" in r.stderr
    held = listed(ru)
    assert held[("US", "evil.example")]["id"] != held[("RU", "evil.example")]["id"]


def test_our_own_export_keeps_its_ids(three, tmp_path):
    us, _, _ = three
    us.cli("indicators", "add", "--value", "evil.example")
    out = tmp_path / "own.json"
    us.cli("indicators", "export", "-o", str(out))
    r = us.cli("indicators", "import", str(out))
    assert r.exit_code == 0 and "re-authored" not in r.stderr


def test_related_objects_by_another_party_are_reauthored_and_stay_linked(three, tmp_path):
    us, ru, _ = three
    assert us.cli("indicators", "add", "--value", "c2.grid-ops.example").exit_code == 0
    bundle = json.loads(us.cli("indicators", "export").stdout)
    (indicator,) = [o for o in bundle["objects"] if o["type"] == "indicator"]
    us_identity = model.identity_id("US")
    made = "2026-11-20T00:00:00.000Z"
    malware = {"type": "malware", "spec_version": "2.1", "id": model.object_id("malware", "gridlock"),
               "created": made, "modified": made, "created_by_ref": us_identity, "name": "GridLock",
               "is_family": True}
    link = {"type": "relationship", "spec_version": "2.1", "id": model.object_id("relationship", "gl"),
            "created": made, "modified": made, "created_by_ref": us_identity, "relationship_type": "indicates",
            "source_ref": indicator["id"], "target_ref": malware["id"]}
    bundle["objects"] += [malware, link]
    us_file = tmp_path / "us-with-context.json"
    us_file.write_text(json.dumps(bundle))

    r = ru.cli("indicators", "import", str(us_file), "--json")
    assert r.exit_code == 0, r.stderr
    assert "2 related object(s) by another party, re-authored" in r.stderr
    export = {o["id"]: o for o in json.loads(ru.cli("indicators", "export").stdout)["objects"]}
    assert not [o for o in export.values() if o.get("created_by_ref") == us_identity]  # nothing signed as US's
    ru_malware = [o for o in export.values() if o["type"] == "malware"]
    assert [m["name"] for m in ru_malware] == ["GridLock"] and ru_malware[0]["id"] != malware["id"]
    (ru_indicator,) = [o for o in export.values() if o["type"] == "indicator"]
    indicates = [o for o in export.values() if o.get("relationship_type") == "indicates"]
    # RU's copy of the relationship links RU's indicator to RU's copy of the malware
    assert [(o["source_ref"], o["target_ref"], o["created_by_ref"]) for o in indicates] == [
        (ru_indicator["id"], ru_malware[0]["id"], model.identity_id("RU"))]
    again = ru.cli("indicators", "import", str(us_file), "--json").json()
    assert (again["created"], again["updated"], again["records"]) == (0, 0, 0)


def test_a_large_peer_file_lands_in_bulk_and_every_peer_id_is_still_found(three, tmp_path):
    """A STIX file over the bulk-load size (4 MB) into a store that holds the peer's indicators: the bulk load
    suspends the indexes on ``ind``, and each indicator's id must still be looked up among the peer's (one
    index look-up, not a scan of everything landed so far: the import of a 30k-object file stalled)."""
    us, ru, _cn = three
    feed = tmp_path / "us.csv"
    feed.write_text("type,value,tlp\n" + "".join(f"domain-name,n{i}.bulk-peer.example,GREEN\n" for i in range(10_000)))
    assert us.cli("indicators", "import", str(feed)).exit_code == 0
    us_file = tmp_path / "us.stix.json"
    assert us.cli("indicators", "export", "-o", str(us_file)).exit_code == 0
    assert us_file.stat().st_size > 4 * 1024 * 1024  # the bulk path (pipeline.PARALLEL_MIN_BYTES)
    ship(us, ru, tmp_path / "us-ru.cbm")

    r = ru.cli("indicators", "import", str(us_file), "--json")
    assert r.exit_code == 0, r.stderr
    assert "10000 indicator(s) with another party's id, re-authored under ids of ours" in r.stderr
    held = ru.cli("indicators", "list", "--json", "--limit", "20000").json()["indicators"]
    ours = {i["id"] for i in held if i["author"] == "RU"}
    theirs = {i["id"] for i in held if i["author"] == "US"}
    assert len(ours) == len(theirs) == 10_000 and not ours & theirs
    with ru.open() as store:  # the lookup index lives only while the bulk load does
        names = store.query(lambda conn: [n for (n,) in conn.execute("SELECT name FROM sqlite_master")])
    assert "ind_sid_others" not in names and "ind_sid" in names


def test_while_a_bulk_load_suspends_the_indexes_another_partys_id_is_one_index_lookup(three, tmp_path):
    from cbm.measures.indicators import index as ix

    us, ru, _cn = three
    assert us.cli("indicators", "add", "--value", "c2.grid-ops.example", "--tlp", "GREEN").exit_code == 0
    ship(us, ru, tmp_path / "us-ru.cbm")
    (us_id,) = [i["id"] for i in listed(ru).values()]
    with ru.open() as store, store.transaction():
        store.query(ix.suspend_indexes, "RU")
        plan = store.query(lambda conn: " ".join(str(row[3]) for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM ind WHERE sid = ? AND author <> 'RU' LIMIT 1", ("x",))))
        assert "USING COVERING INDEX ind_sid_others" in plan or "USING INDEX ind_sid_others" in plan, plan
        assert not store.query(ix.held_by_others, "indicator--x", "RU")
        assert store.query(ix.held_by_others, us_id, "RU")
        store.query(ix.resume_indexes)


def test_a_bulk_load_into_a_store_holding_no_other_partys_rows_makes_no_lookup_index_and_knows_none_is_held(
        three, tmp_path):
    """The index of the others' ids would be empty: none is made (its empty root page, dirty from the first
    statement, was the one page written twice to the WAL, docs/adr/0297). The answer "no other party holds it"
    holds only while that suspension lasts: after a rollback, a peer's rows landing are found again."""
    from cbm.measures.indicators import index as ix

    us, ru, _cn = three

    def index_names(store) -> set[str]:
        return set(store.query(lambda conn: [n for (n,) in conn.execute("SELECT name FROM sqlite_master")]))

    with ru.open() as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.query(ix.suspend_indexes, "RU")
            assert "ind_sid_others" not in index_names(store) and "ind_sid" not in index_names(store)
            assert not store.query(ix.held_by_others, "indicator--x", "RU")
            raise RuntimeError("the import fails: everything rolls back")
        assert "ind_sid" in index_names(store)
        assert us.cli("indicators", "add", "--value", "c2.grid-ops.example", "--tlp", "GREEN").exit_code == 0
        ship(us, ru, tmp_path / "us-ru.cbm")
        (us_id,) = [i["id"] for i in listed(ru).values()]
        assert store.query(ix.held_by_others, us_id, "RU")  # the same connection: nothing stale is trusted
        with store.transaction():  # now another party holds a row: the lookup index is made for the load
            store.query(ix.suspend_indexes, "RU")
            assert "ind_sid_others" in index_names(store)
            assert store.query(ix.held_by_others, us_id, "RU")
            store.query(ix.resume_indexes)
        assert "ind_sid_others" not in index_names(store)
