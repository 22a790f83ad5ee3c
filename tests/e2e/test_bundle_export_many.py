"""One export for every peer: `cbm bundle export --to all -o DIR/` (and `--to RU,UK`) between four real stores.

Each peer's file must be exactly the bundle a single export for that peer would have been, must import at that
peer, and the store must be read once per log, not once per peer."""

from __future__ import annotations

import shutil
from pathlib import Path

from cbm.bundle import receipts
from cbm.bundle.export import export_to_many, export_to_path
from tests.bundle.helpers import hashes, import_, write
from tests.conftest import Party, at, introduce

PEERS = ("FR", "RU", "UK")


def four(make_party) -> tuple[Party, ...]:
    parties = tuple(make_party(code) for code in ("US", *PEERS))
    introduce(*parties)
    return parties


def mixed_day(party: Party) -> None:
    """Records for everyone, for one peer, for two peers under AMBER+STRICT, and a RED one for nobody else."""
    write(party, n=3)
    for peer in PEERS + ("US",):
        if peer != party.code:
            write(party, to=(peer,), tlp="AMBER", body={"ref": f"for-{peer}", "text": "bilateral"})
    write(party, to=("RU", "UK"), tlp="AMBER+STRICT", body={"ref": "strict", "text": "two only"})
    write(party, to=("*",), tlp="RED", body={"ref": "red", "text": "nobody"})


def exchange_round(parties: tuple[Party, ...], outbox: Path) -> None:
    for party in parties:
        r = party.cli("bundle", "export", "--to", "all", "-o", f"{outbox}/{party.code}/")
        assert r.exit_code == 0, r.stderr
    for party in parties:
        for sender in parties:
            if sender is not party:
                path = outbox / sender.code / f"{sender.code.lower()}-to-{party.code.lower()}.cbm"
                r = import_(party, path)
                assert r.exit_code == 0, r.stderr


def test_every_peer_gets_exactly_what_a_single_export_would_carry(make_party, tmp_path: Path):
    us, *_ = parties = four(make_party)
    with at("2026-12-01T09:00:00Z"):
        for party in parties:
            mixed_day(party)
        exchange_round(parties, tmp_path / "round1")
        mixed_day(us)
    twin = tmp_path / "twin"
    shutil.copytree(us.root, twin)  # the same store, to export to each peer alone
    with at("2026-12-01T10:00:00Z"):
        # readable, so that the bytes compare (encryption draws a fresh nonce each time; ADR 0141)
        r = us.cli("bundle", "export", "--to", "all", "-o", f"{tmp_path}/out/", "--no-encrypt", "--json")
        assert r.exit_code == 0, r.stderr
        doc = r.json()
        with Party("US", twin).open() as store:
            for peer in PEERS:  # the receipts due, in the order export_to_many writes them
                receipts.write_receipt(store, peer)
            singles = {peer: export_to_path(store, peer, tmp_path / f"single-{peer}.cbm", encrypt=False)
                       for peer in PEERS}
    assert doc["schema"] == "cbm.bundle.export-many/1" and doc["skipped"] == []
    assert [b["recipient"] for b in doc["bundles"]] == list(PEERS)
    for entry in doc["bundles"]:
        peer, path = entry["recipient"], Path(entry["output"])
        assert path == tmp_path / "out" / f"us-to-{peer.lower()}.cbm" and Path(entry["minisig"]).is_file()
        single = singles[peer]
        assert (entry["records"], entry["withheld"], entry["logs"]) == (single.records, single.withheld, single.logs)
        assert path.read_bytes() == (tmp_path / f"single-{peer}.cbm").read_bytes()
        assert entry["records"] > 0 and entry["withheld"] > 0  # each peer is refused something, differently
    assert len({b["records"] for b in doc["bundles"]}) > 1
    # each file lands at its peer: that peer now holds US's log as far as US holds it
    for party in parties[1:]:
        r = import_(party, tmp_path / "out" / f"us-to-{party.code.lower()}.cbm")
        assert r.exit_code == 0, r.stderr
        assert r.json()["landed"].get("US", 0) > 0
        visible = hashes(party, "US")
        assert set(visible) <= set(hashes(us, "US"))
        with party.open() as store:
            assert store.head("US") == Party("US", twin).open().head("US")
    # the stick for RU cannot be used at UK
    r = import_(parties[3], tmp_path / "out" / "us-to-ru.cbm")
    assert r.exit_code == 4 and "not for UK" in r.stderr


def test_a_list_of_peers_and_the_refusals(make_party, tmp_path: Path):
    us, fr, ru, uk = four(make_party)
    write(us, n=2)
    r = us.cli("bundle", "export", "--to", "ru, uk", "-o", str(tmp_path / "two"), "--json")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == \
        ["us-to-ru.cbm", "us-to-ru.cbm.minisig", "us-to-uk.cbm", "us-to-uk.cbm.minisig"]
    assert [b["recipient"] for b in r.json()["bundles"]] == ["RU", "UK"]
    assert "bundle 1 for RU" in r.stderr and "bundle 1 for UK" in r.stderr
    # a table on stdout, one row per peer
    r = us.cli("bundle", "export", "--to", "RU,FR", "-o", f"{tmp_path}/table/")
    assert r.exit_code == 0 and "us-to-fr.cbm" in r.stdout and "us-to-ru.cbm" in r.stdout
    with us.open() as store:
        journal = store.conn.execute("SELECT COUNT(*) FROM bundles_sent").fetchone()[0]
    for args, code, text in [
        (("--to", "all", "-o", "-"), 2, "needs a directory"),
        (("--to", "RU,ZZ", "-o", f"{tmp_path}/bad/"), 5, "unknown party ZZ"),
        (("--to", "RU,US", "-o", f"{tmp_path}/bad/"), 2, "not to ourselves"),
        (("--to", "RU,,UK", "-o", f"{tmp_path}/bad/"), 2, "empty party code"),
        (("--to", "RU,u$", "-o", f"{tmp_path}/bad/"), 2, "not a party code"),
    ]:
        r = us.cli("bundle", "export", *args)
        assert (r.exit_code, r.stdout) == (code, ""), (args, r.stderr)
        assert text in r.stderr and r.stderr.startswith("cbm: error:")
    assert not (tmp_path / "bad").exists()
    with us.open() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM bundles_sent").fetchone()[0] == journal
    # a revoked peer is left out of `all`, and said so
    assert us.cli("keys", "revoke", "--party", "FR", "--reason", "compromise reported by phone", "--yes").exit_code == 0
    r = us.cli("bundle", "export", "--to", "all", "-o", f"{tmp_path}/after/", "--json")
    assert r.exit_code == 0, r.stderr
    assert [b["recipient"] for b in r.json()["bundles"]] == ["RU", "UK"]
    assert r.json()["skipped"][0]["party"] == "FR" and "no bundle for FR" in r.stderr


def test_each_log_is_read_once_for_all_peers(make_party, tmp_path: Path):
    parties = four(make_party)
    us = parties[0]
    for party in parties:
        write(party, n=2)
    exchange_round(parties, tmp_path / "round1")
    write(us, n=2)
    reads: list[str] = []
    with us.open() as store:
        store.conn.set_trace_callback(lambda sql: reads.append(sql) if "SELECT seq, hash, audience" in sql else None)
        result = export_to_many(store, "all", tmp_path / "out")
    assert len(result.bundles) == 3
    assert len(reads) == 4  # one read per log (US, FR, RU, UK), not one per log and peer
