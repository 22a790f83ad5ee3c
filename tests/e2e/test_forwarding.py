"""Forwarding third parties' records, with real stores and real bundle files (docs/adr/0173-late-forwarding.md):
a full mesh does not carry anyone's records twice, a hub relays at once for spokes that only talk to it, and a
store that does not relay still delivers everything, one bundle late."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.bundle.helpers import export, hashes, import_, relay, write
from tests.conftest import Party


def exchange_round(parties: list[Party], tmp_path: Path, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every party exports to all, then imports each bundle addressed to it. (sender, recipient) -> export
    report of that bundle."""
    reports: dict[tuple[str, str], dict[str, Any]] = {}
    for p in parties:
        doc = export(p, "all", tmp_path / name / p.code, "--json").json()
        reports.update({(p.code, b["recipient"]): b for b in doc["bundles"]})
    for p in parties:
        for sender in parties:
            if sender is not p:
                r = import_(p, tmp_path / name / sender.code / f"{sender.code.lower()}-to-{p.code.lower()}.cbm")
                assert r.exit_code == 0, r.stderr
    return reports


def send(sender: Party, recipient: Party, path: Path) -> dict[str, Any]:
    """One bundle from ``sender`` to ``recipient``, imported there; the export report."""
    doc = export(sender, recipient.code, path, "--json").json()
    r = import_(recipient, path)
    assert r.exit_code == 0, r.stderr
    return doc


def test_a_full_mesh_forwards_nothing_its_peers_get_from_the_authors(three, tmp_path: Path):
    parties = list(three)
    written = {p.code: [r.hash for r in write(p, n=3)] for p in parties}
    first = exchange_round(parties, tmp_path, "r1")
    assert all(b["forwarded"] == 0 for b in first.values())
    for p in parties:  # a new day before the next round
        written[p.code] += [r.hash for r in write(p, n=2)]
    second = exchange_round(parties, tmp_path, "r2")
    # each bundle carries its sender's new day and receipts, never the third party's records again
    assert {key: b["forwarded"] for key, b in second.items()} == {key: 0 for key in second}
    assert all(b["records"] >= 2 for b in second.values())
    for p in parties:  # and everyone holds everyone's days
        for author, days in written.items():
            assert set(days) <= set(hashes(p, author))


def test_the_old_rule_forwards_the_last_day_again_in_a_mesh(three, tmp_path: Path):
    """The same mesh with every party relaying (forwarding at once, the rule before ADR 0173): the second round
    carries each third party's first day again, the duplicates the default avoids."""
    parties = list(three)
    for p in parties:
        relay(p)
        write(p, n=3)
    exchange_round(parties, tmp_path, "r1")
    second = exchange_round(parties, tmp_path, "r2")
    assert all(b["forwarded"] >= 3 for b in second.values())


def test_a_hub_relays_at_once_for_spokes_that_only_talk_to_it(three, tmp_path: Path):
    hub, s1, s2 = three
    relay(hub)
    shared = write(s1, n=2)
    private = write(s1, to=(hub.code,), tlp="AMBER", n=1)  # for the hub only: goes on only as a withheld range
    send(s1, hub, tmp_path / "s1-hub.cbm")
    doc = send(hub, s2, tmp_path / "hub-s2.cbm")
    assert doc["forwarded"] == 2 and doc["deferred"] == 0
    assert hashes(s2, s1.code)[:2] == [r.hash for r in shared]
    assert private[0].hash not in hashes(s2, s1.code)
    # and back: S2's answer reaches S1 through the hub in one hop
    answer = write(s2, n=1)
    send(s2, hub, tmp_path / "s2-hub.cbm")
    send(hub, s1, tmp_path / "hub-s1.cbm")
    assert answer[0].hash in hashes(s1, s2.code)
    with s1.open() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM records WHERE author = ?", (s2.code,)).fetchone()[0] >= 1


def test_a_store_that_does_not_relay_still_delivers_everything_one_bundle_late(three, tmp_path: Path):
    hub, s1, s2 = three  # no [forwarding] policy at the hub: the default, late
    shared = write(s1, n=2)
    send(s1, hub, tmp_path / "s1-hub.cbm")
    r = export(hub, s2.code, tmp_path / "hub-s2-1.cbm", "--json")
    assert r.json()["forwarded"] == 0 and r.json()["deferred"] == 2  # S2 might get them from S1 itself
    assert "2 record(s) of third parties wait for the next bundle: CN may get them from their authors" in r.stderr
    assert import_(s2, tmp_path / "hub-s2-1.cbm").exit_code == 0
    doc = send(hub, s2, tmp_path / "hub-s2-2.cbm")  # it did not: they go now
    assert doc["forwarded"] == 2
    assert hashes(s2, s1.code)[:2] == [r.hash for r in shared]


def test_a_peer_that_got_the_records_from_their_author_is_not_sent_them_again(three, tmp_path: Path):
    us, ru, cn = three
    write(cn, n=2)
    send(cn, us, tmp_path / "cn-us.cbm")
    send(us, ru, tmp_path / "us-ru-1.cbm")  # CN's records held back for RU
    send(cn, ru, tmp_path / "cn-ru.cbm")  # RU gets them from CN itself
    send(ru, us, tmp_path / "ru-us.cbm")  # and says so in its receipt
    doc = send(us, ru, tmp_path / "us-ru-2.cbm")
    assert doc["forwarded"] == 0 and doc["deferred"] == 0


def test_export_all_ignores_acknowledgements_and_forwards_at_once(three, tmp_path: Path):
    hub, s1, s2 = three
    write(s1, n=2)
    send(s1, hub, tmp_path / "s1-hub.cbm")
    doc = export(hub, s2.code, tmp_path / "full.cbm", "--all", "--json").json()
    assert doc["forwarded"] == 2


def test_a_malformed_forwarding_policy_is_a_usage_error_and_changes_nothing(three, tmp_path: Path):
    us, ru, _ = three
    write(us, n=1)
    config = us.root / "config.toml"
    config.write_text(config.read_text("utf-8") + '\n[forwarding]\nrelay = "everyone"\n', "utf-8")
    with us.open() as store:
        before = store.counts()
    r = us.cli("bundle", "export", "--to", "all", "-o", f"{tmp_path / 'out'}/")
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith("cbm: error: config.toml: forwarding.relay must be a list of party codes")
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not (tmp_path / "out").exists()
    with us.open() as store:
        assert store.counts() == before
    config.write_text(config.read_text("utf-8").replace('"everyone"', '["ru"]'), "utf-8")
    r = us.cli("bundle", "export", "--to", ru.code, "-o", str(tmp_path / "x.cbm"))
    assert r.exit_code == 2 and "'ru' is not a party code" in r.stderr
