"""Rosters between real stores: a secretariat everyone confirmed (OSCE-SEC) introduces 20 parties; updates
remove and re-add one; a roster by a non-introducer, a forged one and a broken entry are refused; the threshold
policy; and the introduced parties' own rotation and revocation win over any roster."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbm.core.cards import make_card, parse_card
from cbm.core.errors import BadSignature, UnknownSigner
from cbm.core.keys import KeyPair
from cbm.core.records import build_payload, sign_record
from cbm.core.rosters import KIND, roster_body
from cbm.store.ingest import ingest
from cbm.store.trust import card_of, import_card
from tests.bundle.forge import snapshot
from tests.bundle.helpers import relay, write
from tests.conftest import Party, introduce

STATES = ("AL", "AM", "AT", "AZ", "BA", "BE", "BG", "BY", "CA", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI",
          "FR", "GE", "GR")


def confirm_all(at: Party, others: list[Party]) -> None:
    """``at`` confirms every one of ``others`` by fingerprint, as over the phone."""
    with at.open() as store:
        for other in others:
            import_card(store, other.card(), other.fingerprint())


def send(sender: Party, recipient: Party, tmp_path: Path, name: str = "b"):
    path = tmp_path / f"{sender.code}-{recipient.code}-{name}.cbm"
    r = sender.cli("bundle", "export", "--to", recipient.code, "-o", str(path))
    assert r.exit_code == 0, r.stderr
    return recipient.cli("bundle", "import", str(path), "--json")


def keys_of(party: Party) -> dict[str, dict]:
    """party code -> its active key as `cbm keys list --json` shows it (or its last key if none is active)."""
    rows = party.cli("keys", "list", "--json").json()["keys"]
    result: dict[str, dict] = {}
    for row in rows:
        if row["status"] == "active" or row["party"] not in result:
            result[row["party"]] = row
    return result


@pytest.fixture
def osce(make_party):
    """OSCE-SEC confirmed by US and RU; 20 states confirmed by OSCE-SEC only; US accepts OSCE-SEC's rosters."""
    sec, us, ru = make_party("OSCE-SEC"), make_party("US"), make_party("RU")
    states = [make_party(code) for code in STATES]
    introduce(sec, us, ru)
    confirm_all(sec, states)
    for state in states:
        confirm_all(state, [sec, us])
    r = us.cli("keys", "roster", "policy", "--introducer", "OSCE-SEC", "--json")
    assert r.exit_code == 0 and r.json()["policy"] == {"enabled": True, "introducers": ["OSCE-SEC"], "threshold": 1}
    return sec, us, ru, states


def test_a_roster_introduces_20_parties_marked_everywhere_and_a_call_upgrades_them(osce, tmp_path):
    sec, us, ru, states = osce
    r = sec.cli("keys", "roster", "publish", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["parties"] == sorted(["RU", "US", *STATES])
    r = send(sec, us, tmp_path)
    assert r.exit_code == 0, r.stderr
    changes = r.json()["roster_changes"]
    assert sorted(c["party"] for c in changes if c["action"] == "introduced") == sorted(STATES)
    assert "introduced AL" in r.stderr and "fingerprint not confirmed" in r.stderr
    keys = keys_of(us)
    for state in states:
        row = keys[state.code]
        assert (row["status"], row["trust"], row["introduced_by"]) == ("active", "introduced", ["OSCE-SEC"])
        assert row["fingerprint"] == state.fingerprint()
    assert keys["RU"]["trust"] == "confirmed" and keys["US"]["trust"] == "us"  # the roster's US and RU: ignored
    listing = us.cli("keys", "list").stdout
    assert "introduced by OSCE-SEC, fingerprint not confirmed: AL, AM" in listing
    assert "introduced" in listing.splitlines()[2]
    peers = {p["party"]: p for p in us.cli("status", "--json").json()["peers"]}
    assert peers["AL"]["trust"] == "introduced" and peers["OSCE-SEC"]["trust"] == "confirmed"
    assert "active, introduced" in us.cli("status").stdout
    # an introduced party's own bundle now lands, and a bundle for all peers includes it
    al = states[0]
    write(al, n=2)
    r = send(al, us, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"AL": 2}
    r = us.cli("bundle", "export", "--to", "all", "-o", f"{tmp_path}/out/", "--json")
    assert len(r.json()["bundles"]) == 22
    # a fingerprint heard on the phone upgrades AL; a wrong one is refused and changes nothing
    r = us.cli("keys", "confirm", "AM", "--fingerprint", al.fingerprint())
    assert r.exit_code == 1 and "mismatch" in r.stderr
    r = us.cli("keys", "confirm", "AL", "--fingerprint", al.fingerprint(), "--json")
    assert r.exit_code == 0 and r.json()["action"] == "confirmed"
    keys = keys_of(us)
    assert keys["AL"]["trust"] == "confirmed" and keys["AL"]["introduced_by"] is None
    assert keys["AM"]["trust"] == "introduced"
    # the trust basis is not derived from records: a rebuild keeps it
    assert us.cli("store", "rebuild").exit_code == 0
    assert keys_of(us) == keys


def test_a_malformed_policy_is_a_usage_error(osce):
    sec, us, ru, states = osce
    config = us.root / "config.toml"
    config.write_text(config.read_text().replace("threshold = 1", "threshold = 0"))
    r = us.cli("keys", "roster", "policy")
    assert (r.exit_code, r.stdout) == (2, "") and "rosters.threshold" in r.stderr
    r = us.cli("keys", "roster", "policy", "--introducer", "o$", "--json")
    assert r.exit_code == 2 and "not a party code" in r.stderr


def test_without_the_policy_a_roster_introduces_nothing(osce, tmp_path):
    sec, us, ru, states = osce
    sec.cli("keys", "roster", "publish")
    r = send(sec, ru, tmp_path)  # RU never chose to accept rosters
    assert r.exit_code == 0, r.stderr
    assert r.json()["roster_changes"] == []
    assert set(keys_of(ru)) == {"RU", "OSCE-SEC", "US"}
    # and switching the policy off at US retires what was introduced
    send(sec, us, tmp_path)
    r = us.cli("keys", "roster", "policy", "--off", "--json")
    assert r.exit_code == 0 and r.json()["policy"]["enabled"] is False
    assert {c["action"] for c in r.json()["changes"]} == {"departed"}
    assert keys_of(us)["AL"]["status"] == "revoked"


def test_a_roster_update_removes_one_party_and_brings_it_back(osce, tmp_path):
    sec, us, ru, states = osce
    at = states[2]
    sec.cli("keys", "roster", "publish")
    send(sec, us, tmp_path, "1")
    write(at, n=1)
    assert send(at, us, tmp_path, "1").exit_code == 0
    r = sec.cli("keys", "roster", "publish", "--exclude", "AT", "--json")
    assert "AT" not in r.json()["parties"] and len(r.json()["parties"]) == 21
    r = send(sec, us, tmp_path, "2")
    assert r.exit_code == 0, r.stderr
    assert [(c["party"], c["action"]) for c in r.json()["roster_changes"]] == [("AT", "departed")]
    assert "departed AT" in r.stderr
    keys = keys_of(us)
    assert keys["AT"]["status"] == "revoked" and keys["AT"]["last_seq"] == 1
    assert all(keys[code]["status"] == "active" for code in STATES if code != "AT")
    # AT's records held stay; its new ones are refused
    with us.open() as store:
        assert store.counts()["by_author"]["AT"] == 1
    write(at, n=1)
    r = send(at, us, tmp_path, "2")
    assert r.exit_code == 3, r.stderr
    # AT joins again: listed again, trusted again
    sec.cli("keys", "roster", "publish")
    r = send(sec, us, tmp_path, "3")
    assert [(c["party"], c["action"]) for c in r.json()["roster_changes"]] == [("AT", "returned")]
    assert send(at, us, tmp_path, "3").exit_code == 0


def test_rosters_by_a_non_introducer_forged_or_broken_are_refused(osce, make_party, tmp_path):
    sec, us, ru, states = osce
    # RU is trusted directly but is no introducer of ours: its roster lands as a record, and introduces nobody
    zz = make_party("ZZ")
    confirm_all(ru, [zz])
    ru.cli("keys", "roster", "publish")
    r = send(ru, us, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert r.json()["roster_changes"] == [] and "ZZ" not in keys_of(us)
    # a roster in OSCE-SEC's name signed with RU's key: refused, nothing changes
    with ru.open() as store:
        pair = store.signer()
    card = make_card("ZZ", "impostor", KeyPair.generate("2026-12-01T00:00:00Z"))
    payload = build_payload(author="OSCE-SEC", seq=1, prev=None, created="2026-12-01T00:00:00Z", kind=KIND,
                            to=("*",), tlp="CLEAR", body={"cards": [card.envelope.decode("ascii")]})
    before = snapshot(us)
    with us.open() as store, pytest.raises(UnknownSigner):
        ingest(store, [sign_record(payload, KIND, pair)])
    assert snapshot(us) == before
    # OSCE-SEC's own signature over a roster whose entry's self-signature is broken (a hostile or buggy
    # secretariat; its own store would refuse to write it): refused at landing, nothing changes
    broken = card.envelope.decode("ascii").replace('"sig":"', '"sig":"AAAA', 1)
    with sec.open() as store:
        sec_pair = store.signer()
    payload = build_payload(author="OSCE-SEC", seq=1, prev=None, created="2026-12-01T00:00:00Z", kind=KIND,
                            to=("*",), tlp="CLEAR", body={"cards": [broken]})
    with us.open() as store, pytest.raises(BadSignature, match="OSCE-SEC roster 1 entry 1"):
        ingest(store, [sign_record(payload, KIND, sec_pair)])
    assert snapshot(us) == before
    with sec.open() as store, pytest.raises(BadSignature):  # nor does the secretariat's own store take it
        store.append(KIND, {"cards": [broken]}, to=("*",), tlp="CLEAR")


def test_a_roster_never_speaks_for_us_or_for_a_party_we_confirmed(osce, tmp_path):
    sec, us, ru, states = osce
    # OSCE-SEC lists impostor cards for US (us) and RU (confirmed by us directly)
    impostors = [make_card(code, "impostor", KeyPair.generate("2026-12-01T00:00:00Z"), serial=2)
                 for code in ("US", "RU")]
    with sec.open() as store:
        store.append(KIND, {"cards": [c.envelope.decode("ascii") for c in impostors]}, to=("*",), tlp="CLEAR")
    before = keys_of(us)
    r = send(sec, us, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert r.json()["roster_changes"] == [] and keys_of(us) == before


def test_threshold_two_introducers_must_agree(osce, make_party, tmp_path):
    sec, us, ru, states = osce
    confirm_all(ru, states[:5])
    us.cli("keys", "roster", "policy", "--introducer", "*", "--threshold", "2")
    sec.cli("keys", "roster", "publish")
    r = send(sec, us, tmp_path, "1")
    assert r.json()["roster_changes"] == []  # one introducer is not enough
    # RU vouches for 5 of them, and for an impostor AL of its own making: only the 4 both agree on are taken
    impostor = make_card("AL", "impostor", KeyPair.generate("2026-12-01T00:00:00Z"))
    with ru.open() as store:
        cards = [card_of(store, s.code) for s in states[1:5]] + [impostor]
        store.append(KIND, roster_body(cards), to=("*",), tlp="CLEAR")
    r = send(ru, us, tmp_path, "1")
    assert r.exit_code == 0, r.stderr
    introduced = {c["party"]: c["introducers"] for c in r.json()["roster_changes"] if c["action"] == "introduced"}
    assert introduced == {code: ["OSCE-SEC", "RU"] for code in STATES[1:5]}
    assert "AL" not in keys_of(us)


def test_a_partys_own_rotation_and_revocation_win_over_the_roster(osce, tmp_path):
    sec, us, ru, states = osce
    al, am, at = states[0], states[1], states[2]
    relay(sec)  # the secretariat relays for the states: their records go on in its next bundle (ADR 0173)
    sec.cli("keys", "roster", "publish")
    send(sec, us, tmp_path, "1")
    # AL rotates; US learns it from AL's own bundle; the key stays "introduced" (it rests on the introduced one)
    assert al.cli("keys", "rotate").exit_code == 0
    assert send(al, us, tmp_path, "1").exit_code == 0
    new_al = al.fingerprint()
    assert keys_of(us)["AL"]["fingerprint"] == new_al and keys_of(us)["AL"]["trust"] == "introduced"
    # the secretariat has not heard of it: its next roster still lists AL's old key. Stale: changes nothing
    sec.cli("keys", "roster", "publish", "--exclude", "AZ")
    r = send(sec, us, tmp_path, "2")
    assert [(c["party"], c["action"]) for c in r.json()["roster_changes"]] == [("AZ", "departed")]
    assert keys_of(us)["AL"]["fingerprint"] == new_al and keys_of(us)["AL"]["status"] == "active"
    # AT rotates and tells the secretariat; the secretariat's bundle forwards AT's own rotation record, which
    # lands before the roster is read: the party's word first, and the roster then agrees
    assert at.cli("keys", "rotate").exit_code == 0
    assert send(at, sec, tmp_path, "1").exit_code == 0
    sec.cli("keys", "roster", "publish")
    r = send(sec, us, tmp_path, "3")
    assert r.json()["landed"]["AT"] == 1 and "AT" not in {c["party"] for c in r.json()["roster_changes"]}
    assert keys_of(us)["AT"]["fingerprint"] == at.fingerprint() and keys_of(us)["AT"]["trust"] == "introduced"
    # AM revokes its key; the secretariat confirms AM's new card by phone and lists it; AM's own revocation
    # then reaches US: the old key is revoked, and a roster listing it again changes nothing
    with am.open() as store:
        old_am = store.conn.execute("SELECT card FROM party_keys WHERE party = 'AM'").fetchone()[0]
    assert am.cli("keys", "revoke", "--reason", "laptop lost", "--yes").exit_code == 0
    confirm_all(sec, [am])
    sec.cli("keys", "roster", "publish")
    r = send(sec, us, tmp_path, "4")
    assert {c["party"]: c["action"] for c in r.json()["roster_changes"]}.get("AM") == "rotated"
    assert send(am, us, tmp_path, "1").exit_code == 0
    statuses = {row["fingerprint"]: row["status"] for row in us.cli("keys", "list", "--json").json()["keys"]
                if row["party"] == "AM"}
    assert statuses[am.fingerprint()] == "active" and sorted(statuses.values()) == ["active", "revoked"]
    with sec.open() as store:
        cards = [c for c in (card_of(store, code) for code in STATES) if c.party != "AM"]
        store.append(KIND, roster_body([*cards, parse_card(old_am)]), to=("*",), tlp="CLEAR")
    r = send(sec, us, tmp_path, "5")
    assert r.exit_code == 0 and "AM" not in {c["party"] for c in r.json()["roster_changes"]}
    assert {row["fingerprint"]: row["status"] for row in us.cli("keys", "list", "--json").json()["keys"]
            if row["party"] == "AM"} == statuses


def test_a_roster_cannot_rewrite_what_a_party_already_signed(osce, tmp_path):
    sec, us, ru, states = osce
    al = states[0]
    sec.cli("keys", "roster", "publish")
    send(sec, us, tmp_path, "1")
    write(al, n=2)
    assert send(al, us, tmp_path, "1").exit_code == 0
    # the secretariat lists another key for AL, signing from seq 1: AL's own records 1-2 say otherwise
    impostor = make_card("AL", "AL-CERT", KeyPair.generate("2026-12-01T00:00:00Z"), serial=2)
    with sec.open() as store:
        cards = [card_of(store, code) for code in STATES[1:]]
        store.append(KIND, roster_body([*cards, impostor]), to=("*",), tlp="CLEAR")
    r = send(sec, us, tmp_path, "2")
    assert r.exit_code == 0, r.stderr
    [change] = r.json()["roster_changes"]
    assert (change["party"], change["action"]) == ("AL", "conflict") and "its own signatures win" in change["detail"]
    assert "conflict AL" in r.stderr
    assert keys_of(us)["AL"]["fingerprint"] == al.fingerprint() and keys_of(us)["AL"]["status"] == "active"
