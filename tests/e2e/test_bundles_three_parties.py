"""Three real stores (US, RU, CN) exchange real bundle files in both directions over several rounds:
a lost bundle, a duplicated bundle, bundles imported out of order, withheld records, forwarding."""

from __future__ import annotations

from pathlib import Path

from cbm.store import index_receipts
from tests.bundle.helpers import export, hashes, import_, relay, write
from tests.conftest import Party


def ack(party: Party, by: str, author: str) -> int:
    with party.open() as store:
        return index_receipts.acknowledged(store.conn, by, author)[0]


def counts(party: Party) -> dict:
    with party.open() as store:
        return store.counts()


def test_rounds_with_lost_duplicated_and_out_of_order_bundles(three, tmp_path: Path):
    us, ru, cn = three
    # round 1: US writes, exports to RU; the stick is lost
    write(us, n=2)
    export(us, "RU", tmp_path / "lost.cbm")
    (tmp_path / "lost.cbm").unlink()
    # round 2: US writes more; the next bundle carries everything again (nothing was acknowledged)
    write(us, n=1)
    doc = export(us, "RU", tmp_path / "r2.cbm", "--json").json()
    assert doc["number"] == 2 and doc["records"] == 3
    r = import_(ru, tmp_path / "r2.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"US": 3}
    # the same bundle arrives twice (duplicated e-mail): a no-op that says so
    before = counts(ru)
    r = import_(ru, tmp_path / "r2.cbm")
    assert r.exit_code == 0 and "already imported" in r.stderr
    assert counts(ru) == before
    # RU answers; US learns what RU holds
    write(ru, "inquiry.reply", {"ref": "case-0", "text": "received"}, n=1)
    export(ru, "US", tmp_path / "ru1.cbm")
    r = import_(us, tmp_path / "ru1.cbm")
    assert r.exit_code == 0, r.stderr
    assert ack(us, "RU", "US") == 3
    assert us.cli("bundle", "status", "--peer", "RU", "--json").json()["peers"][0]["pending"] >= 0
    # round 3: two bundles US -> RU, imported newest first: the later one lands, the older is a no-op
    write(us, n=1)
    export(us, "RU", tmp_path / "r3a.cbm")
    write(us, n=1)
    export(us, "RU", tmp_path / "r3b.cbm")
    r = import_(ru, tmp_path / "r3b.cbm")
    assert r.exit_code == 0, r.stderr
    r = import_(ru, tmp_path / "r3a.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {}
    assert hashes(ru, "US") == hashes(us, "US")[: len(hashes(ru, "US"))]
    assert len(hashes(ru, "US")) >= 5


def test_out_of_order_gap_is_held_and_reported_then_closes(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2)
    # plain bundles: the "restored" RU below is a stand-in store with fresh keys, which could not open bundles
    # encrypted to the real RU's key (a real backup holds the same keys)
    export(us, "RU", tmp_path / "a.cbm", "--no-encrypt")  # US 1-2
    write(us, n=2)
    # RU acknowledges 1-2, so US's next bundle carries only 3-4
    import_(ru, tmp_path / "a.cbm")
    export(ru, "US", tmp_path / "ack.cbm")
    import_(us, tmp_path / "ack.cbm")
    export(us, "RU", tmp_path / "b.cbm", "--no-encrypt")  # US 3.. (RU acknowledged 1-2)
    # RU restored from a backup taken before bundle a: records 3-4 are held, the missing range named exactly
    from cbm.store.trust import create_store, import_card

    root = tmp_path / "stores" / "RU2"
    create_store(root, "RU", "RU-CERT", None)
    ru2 = Party("RU", root)
    with ru2.open() as store:
        import_card(store, us.card(), us.fingerprint())
    r = import_(ru2, tmp_path / "b.cbm")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["held"] >= 2
    assert doc["missing"] == {"US": [1, 2]}
    assert "missing: US 1-2" in r.stderr
    status = ru2.cli("status", "--json").json()
    assert status["missing"] == {"US": [1, 2]}
    # bundle a arrives late: the gap closes and the held records land
    r = import_(ru2, tmp_path / "a.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["missing"] == {}
    assert hashes(ru2, "US") == hashes(us, "US")


def test_withheld_records_travel_as_ranges_and_chains_still_link(three, tmp_path: Path):
    us, ru, cn = three
    write(us, n=1)
    secret = write(us, to=("CN",), tlp="RED", n=2)
    write(us, n=1)
    doc = export(us, "RU", tmp_path / "ru.cbm", "--json").json()
    assert (doc["records"], doc["withheld"]) == (2, 2)
    r = import_(ru, tmp_path / "ru.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["withheld_new"] == 1
    with ru.open() as store:
        assert all(store.conn.execute("SELECT COUNT(*) FROM records WHERE hash = ?", (s.hash,)).fetchone()[0] == 0
                   for s in secret)
        assert store.head("US")[0] == 4
    assert ru.cli("store", "verify").exit_code == 0
    # CN, named, gets them in full
    doc = export(us, "CN", tmp_path / "cn.cbm", "--json").json()
    assert (doc["records"], doc["withheld"]) == (4, 0)
    assert import_(cn, tmp_path / "cn.cbm").exit_code == 0
    assert hashes(cn, "US") == hashes(us, "US")[:4]


def test_third_party_records_are_forwarded_where_their_audience_allows(three, tmp_path: Path):
    us, ru, cn = three
    relay(us)  # US relays for its peers: forwarding at once (docs/adr/0173-late-forwarding.md)
    shared = write(cn, n=1)[0]
    write(cn, to=("US",), tlp="AMBER", n=1)  # only for US: travels onward only as a withheld range
    export(cn, "US", tmp_path / "cn-us.cbm")
    assert import_(us, tmp_path / "cn-us.cbm").exit_code == 0
    doc = export(us, "RU", tmp_path / "us-ru.cbm", "--json").json()
    cn_log = next(log for log in doc["logs"] if log["author"] == "CN")
    assert (cn_log["records"], cn_log["withheld"]) == (1, 1)
    r = import_(ru, tmp_path / "us-ru.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"].get("CN") == 1
    assert hashes(ru, "CN") == [shared.hash]
    # RU's receipt tells US how far RU holds CN's log; the next US->RU bundle does not carry it again
    export(ru, "US", tmp_path / "ru-us.cbm")
    assert import_(us, tmp_path / "ru-us.cbm").exit_code == 0
    assert ack(us, "RU", "CN") == 2
    doc = export(us, "RU", tmp_path / "us-ru2.cbm", "--json").json()
    assert "CN" not in [log["author"] for log in doc["logs"]]


def test_forwarded_records_of_an_untrusted_author_are_skipped_not_refused(make_party, tmp_path: Path):
    from tests.conftest import introduce

    us, ru, cn = make_party("US"), make_party("RU"), make_party("CN")
    introduce(us, ru)
    introduce(us, cn)  # RU does not know CN
    relay(us)
    write(cn, n=2)
    export(cn, "US", tmp_path / "cn.cbm")
    assert import_(us, tmp_path / "cn.cbm").exit_code == 0
    write(us, n=1)
    export(us, "RU", tmp_path / "us.cbm")
    r = import_(ru, tmp_path / "us.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["skipped"] == {"CN": 2}
    assert "not a party we trust" in r.stderr
    # US 1 (US's receipt to CN) reaches RU only as a withheld range; US 2 is the new record; US 3 is the
    # receipt US writes for RU at export time, telling RU how far US holds CN's log
    assert r.json()["landed"] == {"US": 2}
    assert r.json()["withheld_new"] == 1
