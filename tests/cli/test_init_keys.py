"""The identity commands as a new user meets them: init, show, export, import, list, rotate, revoke."""

from __future__ import annotations

import os
import stat

from tests.conftest import Party, introduce, run_cli


def test_init_creates_store_with_private_keys_0600(tmp_path):
    r = run_cli("--store", "us", "init", "--party", "US", "--name", "US-CERT", "--no-passphrase")
    assert r.exit_code == 0, r.stderr
    assert "fingerprint" in r.stdout
    mode = stat.S_IMODE(os.stat(tmp_path / "us" / "keys" / "secret.json").st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "us").st_mode) == 0o700


def test_init_defaults_to_dot_cbm_in_cwd(tmp_path):
    r = run_cli("init", "--party", "US", "--name", "US-CERT", "--no-passphrase")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / ".cbm" / "config.toml").is_file()
    assert run_cli("keys", "show", "--json").json()["party"] == "US"


def test_init_twice_is_refused_and_leaves_store_alone(tmp_path):
    assert run_cli("--store", "s", "init", "--party", "US", "--name", "A", "--no-passphrase").exit_code == 0
    before = (tmp_path / "s" / "keys" / "secret.json").read_bytes()
    r = run_cli("--store", "s", "init", "--party", "US", "--name", "B", "--no-passphrase")
    assert r.exit_code == 2
    assert "already exists" in r.stderr
    assert (tmp_path / "s" / "keys" / "secret.json").read_bytes() == before


def test_init_bad_party_code_is_usage_error_and_creates_nothing(tmp_path):
    r = run_cli("--store", "s", "init", "--party", "u s", "--name", "x", "--no-passphrase")
    assert r.exit_code == 2
    assert "party code" in r.stderr
    assert not (tmp_path / "s").exists()


def test_passphrase_required_without_tty_and_wrong_one_is_clear(tmp_path):
    r = run_cli("--store", "s", "init", "--party", "US", "--name", "US-CERT")
    assert r.exit_code == 2 and "passphrase" in r.stderr
    r = run_cli("--store", "s", "init", "--party", "US", "--name", "US-CERT", env={"CBM_PASSPHRASE": "pw"})
    assert r.exit_code == 0, r.stderr
    # reading the public card needs no passphrase; signing does
    assert run_cli("--store", "s", "keys", "show").exit_code == 0
    r = run_cli("--store", "s", "keys", "rotate", env={"CBM_PASSPHRASE": "nope"})
    assert r.exit_code == 2
    assert "wrong passphrase" in r.stderr
    assert "Traceback" not in r.stderr
    (tmp_path / "pw.txt").write_text("pw\n")
    r = run_cli("--store", "s", "--passphrase-file", "pw.txt", "keys", "rotate")
    assert r.exit_code == 0, r.stderr


def test_import_needs_matching_fingerprint(make_party):
    us, ru = make_party("US"), make_party("RU")
    (us.root.parent / "ru.card").write_bytes(ru.card())
    card = str(us.root.parent / "ru.card")
    r = us.cli("keys", "import", card)
    assert r.exit_code == 2
    assert ru.fingerprint() not in r.stderr  # never offer the value to paste
    wrong = us.fingerprint()
    r = us.cli("keys", "import", card, "--fingerprint", wrong)
    assert r.exit_code == 1 and "mismatch" in r.stderr
    assert wrong in r.stderr and ru.fingerprint() not in r.stderr  # only what we expected, never the card's
    r = us.cli("keys", "import", card, "--fingerprint", ru.fingerprint().lower().replace(" ", ""))
    assert r.exit_code == 0, r.stderr
    # one message, once: the result on stdout, nothing repeated on stderr
    assert r.stdout.strip() == f"trusted RU (RU-CERT), key {ru.fingerprint()}" and r.stderr == ""
    listing = us.cli("keys", "list", "--json").json()["keys"]
    assert [(k["party"], k["status"]) for k in listing] == [("US", "active"), ("RU", "active")]


def test_a_strangers_card_claiming_our_party_code_is_refused_as_such(make_party, tmp_path):
    """Another store made with our code (an impostor's, or a mistake): refused, and the message says the code is
    ours and the key is not, never that the card is our own."""
    us = make_party("US")
    run_cli("--store", str(tmp_path / "other"), "init", "--party", "US", "--name", "Impostor", "--no-passphrase")
    card = tmp_path / "other.card"
    assert run_cli("--store", str(tmp_path / "other"), "keys", "export", "-o", str(card)).exit_code == 0
    r = us.cli("keys", "import", str(card), "--fingerprint", "0" * 40)
    assert r.exit_code == 4
    assert r.stderr.startswith("cbm: error: the card claims our own party code US with a key that is not ours")
    assert [k["party"] for k in us.cli("keys", "list", "--json").json()["keys"]] == ["US"]


def test_import_garbage_card_is_rejected(make_party, tmp_path):
    us = make_party("US")
    (tmp_path / "bad.card").write_text('{"payload": "e30=", "payloadType": "x", "signatures": []}')
    r = us.cli("keys", "import", str(tmp_path / "bad.card"), "--fingerprint", "0" * 40)
    assert r.exit_code == 4
    r = us.cli("keys", "import", str(tmp_path / "missing.card"))
    assert r.exit_code == 5


def test_rotation_is_accepted_by_peer_without_fingerprint(us_ru: tuple[Party, Party], tmp_path):
    us, ru = us_ru
    r = ru.cli("keys", "rotate", "-o", str(tmp_path / "ru2.card"))
    assert r.exit_code == 0, r.stderr
    r = us.cli("keys", "import", str(tmp_path / "ru2.card"), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["action"] == "rotated"
    statuses = [(k["party"], k["status"]) for k in us.cli("keys", "list", "--json").json()["keys"]]
    assert statuses == [("US", "active"), ("RU", "rotated"), ("RU", "active")]


def test_revoke_own_key_needs_yes_and_new_card_needs_fingerprint(us_ru, tmp_path):
    us, ru = us_ru
    r = ru.cli("keys", "revoke", "--reason", "laptop lost")
    assert r.exit_code == 2 and "--yes" in r.stderr
    r = ru.cli("keys", "revoke", "--reason", "laptop lost", "--yes", "-o", str(tmp_path / "ru-new.card"))
    assert r.exit_code == 0, r.stderr
    r = us.cli("keys", "import", str(tmp_path / "ru-new.card"))
    assert r.exit_code == 2  # not cross-signed: a phone call is needed again
    r = us.cli("keys", "import", str(tmp_path / "ru-new.card"), "--fingerprint", ru.fingerprint())
    assert r.exit_code == 0, r.stderr


def test_revoke_peer_locally_needs_yes_off_a_terminal(us_ru):
    us, ru = us_ru
    r = us.cli("keys", "revoke", "--party", "RU", "--reason", "compromise reported by phone")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert [k["status"] for k in us.cli("keys", "list", "--json").json()["keys"]] == ["active", "active"]
    r = us.cli("keys", "revoke", "--party", "RU", "--reason", "compromise reported by phone", "--yes")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == "revoked RU's key: records after seq 0 will be refused" and r.stderr == ""
    keys = us.cli("keys", "list", "--json").json()["keys"]
    assert keys[1]["status"] == "revoked" and keys[1]["reason"] == "compromise reported by phone"
    assert us.cli("keys", "revoke", "--party", "XX", "--reason", "x").exit_code == 5


def test_reimporting_a_revoked_peer_card_says_revoked_and_must_rotate(us_ru, tmp_path):
    us, ru = us_ru
    (tmp_path / "ru.card").write_bytes(ru.card())
    assert us.cli("keys", "revoke", "--party", "RU", "--reason", "stolen", "--yes").exit_code == 0
    for extra in ([], ["--fingerprint", ru.fingerprint()]):
        r = us.cli("keys", "import", str(tmp_path / "ru.card"), *extra)
        assert r.exit_code == 3, r.stderr
        assert "revoked (stolen)" in r.stderr and "new key" in r.stderr and r.stdout == ""
    assert us.cli("keys", "list", "--json").json()["keys"][1]["status"] == "revoked"


def test_status_shows_self_and_peers(make_party):
    us, ru, cn = make_party("US"), make_party("RU"), make_party("CN")
    introduce(us, ru, cn)
    doc = us.cli("status", "--json").json()
    assert doc["schema"] == "cbm.status/1"
    assert doc["party"] == "US"
    assert sorted(p["party"] for p in doc["peers"]) == ["CN", "RU"]


def test_missing_store_is_exit_6(tmp_path):
    r = run_cli("--store", str(tmp_path / "nowhere"), "status")
    assert r.exit_code == 6
    assert r.stderr.startswith("cbm: error: no cbm store")
    assert r.stdout == ""
