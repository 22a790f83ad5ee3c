"""``cbm bundle`` as a user meets it: help, verify with and without a store, inspect, status, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundle.helpers import export, import_, relay, write
from tests.conftest import run_cli


@pytest.mark.parametrize("command", ["export", "import", "verify", "inspect", "status"])
def test_every_command_has_help_with_an_example(command):
    r = run_cli("bundle", command, "--help")
    assert r.exit_code == 0
    assert "Example" in r.stdout


def test_verify_with_a_keyring_and_no_store(us_ru, tmp_path: Path):
    us, _ = us_ru
    write(us, n=2, tlp="CLEAR")  # not encrypted by default, so a keyring alone checks every record
    export(us, "RU", tmp_path / "b.cbm")
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "us.card").write_bytes(us.card())
    (cards / "README").write_text("cards of the parties we trust\n")
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--keyring", str(cards), "--deep", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.bundle.verify/1"
    assert (doc["ok"], doc["depth"], doc["records"], doc["signatures_checked"]) == (True, "deep", 2, 2)
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(cards / "us.card"))
    assert r.exit_code == 0 and r.stdout.startswith("OK (quick)")


def test_verify_failure_gives_exit_code_and_json_document(us_ru, make_party, tmp_path: Path):
    us, _ = us_ru
    other = make_party("CN")
    export(us, "RU", tmp_path / "b.cbm")
    (tmp_path / "cn.card").write_bytes(other.card())
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(tmp_path / "cn.card"), "--json")
    assert r.exit_code == 3
    doc = r.json()
    assert (doc["schema"], doc["ok"], doc["result"], doc["exit_code"]) == ("cbm.bundle.verify/1", False, "failed", 3)
    assert doc["reason_code"] == "unknown-signer" and doc["error"] == doc["reason"] and doc["checks"] == []
    assert "no trusted key" in r.stderr and "no trusted key" in doc["reason"]


def test_verify_with_an_empty_key_file_says_it_is_empty(us_ru, tmp_path: Path):
    """Regression: an empty --key file was reported as "not valid JSON ... (char 0)"."""
    us, _ = us_ru
    export(us, "RU", tmp_path / "b.cbm")
    (tmp_path / "us.card").write_bytes(b"\n")
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(tmp_path / "us.card"))
    assert r.exit_code == 4 and r.stdout == ""
    assert r.stderr == f"cbm: error: {tmp_path / 'us.card'} is empty: no party card in it\n"


def test_verify_without_store_or_keyring_says_what_to_pass(tmp_path: Path):
    (tmp_path / "b.cbm").write_bytes(b"x")
    r = run_cli("--store", str(tmp_path / "none"), "bundle", "verify", str(tmp_path / "b.cbm"))
    assert r.exit_code == 2
    assert "--keyring" in r.stderr


def test_inspect_lists_records_and_prints_peer_text_literally(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, "inquiry.open", {"ref": "case\x1b[31m-red", "text": "x"})
    export(us, "RU", tmp_path / "b.cbm")
    r = ru.cli("bundle", "inspect", str(tmp_path / "b.cbm"))
    assert r.exit_code == 0, r.stderr
    assert "\x1b" not in r.stdout and "\\x1b" in r.stdout
    doc = ru.cli("bundle", "inspect", str(tmp_path / "b.cbm"), "--json").json()
    assert doc["schema"] == "cbm.bundle.inspect/1"
    assert doc["records"][0]["kind"] == "inquiry.open" and doc["more"] == 0
    with ru.open() as store:
        assert store.counts()["by_author"] == {}  # inspecting imports nothing


def test_status_shows_what_each_peer_acknowledged(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=3)
    doc = us.cli("bundle", "status", "--json").json()
    assert doc["peers"][0]["peer"] == "RU" and doc["peers"][0]["pending"] == 3
    export(us, "RU", tmp_path / "1.cbm")
    import_(ru, tmp_path / "1.cbm")
    export(ru, "US", tmp_path / "2.cbm")
    import_(us, tmp_path / "2.cbm")
    doc = us.cli("bundle", "status", "--peer", "RU", "--json").json()
    peer = doc["peers"][0]
    assert peer["pending"] == 0 and peer["bundles_sent"] == 1 and peer["last_receipt"]
    assert peer["logs"] == [{"author": "US", "held": 3, "acknowledged": 3, "hash_matches": True,
                             "when": peer["last_receipt"]}]
    r = us.cli("bundle", "status")
    assert r.exit_code == 0 and "RU: 0 record(s) not yet acknowledged" in r.stdout


@pytest.mark.parametrize("args, code, text", [
    (("export", "--to", "XX", "-o", "b.cbm"), 5, "unknown party XX"),
    (("export", "--to", "US", "-o", "b.cbm"), 2, "not to ourselves"),
    (("import", "missing.cbm"), 5, "cannot read"),
    (("verify", "missing.cbm"), 5, "cannot read"),
    (("status", "--peer", "XX"), 5, "unknown party"),
    (("export", "--to", "RU"), 2, "Missing option"),
])
def test_bad_input_is_a_clear_error(us_ru, args, code, text):
    us, _ = us_ru
    r = us.cli("bundle", *args)
    assert r.exit_code == code, r.stderr
    assert text in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_import_needs_the_passphrase_before_reading_anything(make_party, tmp_path: Path):
    from tests.conftest import introduce

    us = make_party("US")
    ru = make_party("RU", passphrase="pw")
    introduce(us, ru)
    write(us, n=1)
    export(us, "RU", tmp_path / "b.cbm")
    r = ru.cli("bundle", "import", str(tmp_path / "b.cbm"))
    assert r.exit_code == 2 and "passphrase" in r.stderr
    r = ru.cli("bundle", "import", str(tmp_path / "b.cbm"), env={"CBM_PASSPHRASE": "pw"})
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize("content", [b"", b" \n\t\n"], ids=["empty", "whitespace"])
def test_an_empty_bundle_stream_exits_4_as_the_readme_table_says(us_ru, content: bytes):
    """README, bundle exit codes: 4 for "not a bundle (an empty file or stream ... included)"; 1 is for bytes
    that were a bundle and got cut short."""
    _, ru = us_ru
    for args in (("bundle", "import", "-"), ("bundle", "verify", "-"), ("bundle", "inspect", "-")):
        r = ru.cli(*args, input=content)
        assert r.exit_code == 4, (args, r.stderr)
        assert r.stdout == "" and "not a cbm bundle" in r.stderr


def test_attachments_of_records_by_a_party_we_do_not_trust_are_not_stored(make_party, tmp_path: Path):
    """US forwards CN's paper and its attachment to RU, which does not know CN: the record is skipped, and so
    is its attachment (no file under RU's blobs/)."""
    import io

    from tests.conftest import introduce
    us, ru, cn = make_party("US"), make_party("RU"), make_party("CN")
    introduce(us, ru)
    introduce(us, cn)
    relay(us)
    with cn.open() as store:
        digest, _ = store.blobs.put(io.BytesIO(b"CN's paper " * 1000))
        store.append("whitepaper.publish", {"ref": "cn-paper", "blobs": [digest]})
    export(cn, "US", tmp_path / "cn-us.cbm")
    assert import_(us, tmp_path / "cn-us.cbm").exit_code == 0
    export(us, "RU", tmp_path / "us-ru.cbm")
    r = import_(ru, tmp_path / "us-ru.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["skipped"] == {"CN": 1} and r.json()["blobs"] == 0
    with ru.open() as store:
        assert not store.blobs.has(digest)
