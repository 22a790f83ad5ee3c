"""``cbm bundle verify --fingerprint`` (a pinned sender key) and the ``--json`` verification report CI reads:
its documented schema (shipped as a JSON Schema in the package), on success and on every kind of refusal."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.bundle.helpers import export, write
from tests.conftest import Party, run_cli

SCHEMA = json.loads((resources.files("cbm.bundle") / "schemas" / "bundle-verify-1.schema.json").read_text())


def report(r) -> dict:
    """The --json report on stdout, checked against the shipped JSON Schema."""
    doc = r.json()
    jsonschema.validate(doc, SCHEMA)
    return doc


def cards(tmp_path: Path, *parties: Party) -> Path:
    folder = tmp_path / "keyring"
    folder.mkdir(exist_ok=True)
    for p in parties:
        (folder / f"{p.code.lower()}.card").write_bytes(p.card())
    return folder


def test_the_pin_accepts_the_fingerprint_as_keys_show_prints_it_or_without_spaces(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2, tlp="CLEAR")
    export(us, "RU", tmp_path / "b.cbm")
    ring = cards(tmp_path, us, ru)
    spaced = us.fingerprint()
    for pin in (spaced, spaced.replace(" ", ""), spaced.replace(" ", "").lower()):
        r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--keyring", str(ring), "--fingerprint", pin,
                    "--json")
        assert r.exit_code == 0, r.stderr
        doc = report(r)
        assert doc["pinned"] == [spaced] and doc["signer"]["fingerprint"] == spaced
        assert doc["checks"][:2] == ["manifest-signature", "signer-pin"]
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--keyring", str(ring), "--fingerprint", spaced)
    assert r.exit_code == 0 and r.stdout.startswith("OK (quick)") and r.stdout.rstrip().endswith("(pinned)")


def test_a_bundle_signed_by_another_trusted_party_fails_the_pin(us_ru, tmp_path: Path):
    """Both cards sit in the keyring (so both are trusted); only the pinned key may have signed."""
    us, ru = us_ru
    write(ru, n=1, tlp="CLEAR")
    export(ru, "US", tmp_path / "from-ru.cbm")
    ring = cards(tmp_path, us, ru)
    r = run_cli("bundle", "verify", str(tmp_path / "from-ru.cbm"), "--keyring", str(ring),
                "--fingerprint", us.fingerprint(), "--json")
    assert r.exit_code == 3
    doc = report(r)
    assert (doc["ok"], doc["result"], doc["reason_code"]) == (False, "failed", "unexpected-signer")
    assert doc["checks"] == ["manifest-signature"] and doc["signer"]["party"] == "RU"
    assert doc["records"] == 0  # refused before the body was read
    assert r.stderr.startswith("cbm: error: the bundle is signed by RU's key ")
    assert us.fingerprint() in r.stderr.splitlines()[0]
    # without the pin the same keyring accepts it: the pin is what stops "any card in the folder"
    r = run_cli("bundle", "verify", str(tmp_path / "from-ru.cbm"), "--keyring", str(ring))
    assert r.exit_code == 0, r.stderr


def test_the_pin_works_with_a_store_and_with_a_key_file(us_ru, make_party, tmp_path: Path):
    us, ru = us_ru
    write(us, n=1, tlp="CLEAR")
    export(us, "RU", tmp_path / "b.cbm")
    cn = make_party("CN")
    (tmp_path / "us.card").write_bytes(us.card())
    for pin, code in ((us.fingerprint(), 0), (cn.fingerprint(), 3)):
        assert ru.cli("bundle", "verify", str(tmp_path / "b.cbm"), "--fingerprint", pin).exit_code == code
        assert run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(tmp_path / "us.card"),
                       "--fingerprint", pin).exit_code == code
    # repeatable: any of the pinned keys (a rotation's old and new key, during the change-over)
    r = ru.cli("bundle", "verify", str(tmp_path / "b.cbm"), "--fingerprint", cn.fingerprint(),
               "--fingerprint", us.fingerprint(), "--json")
    assert r.exit_code == 0 and len(report(r)["pinned"]) == 2


def test_a_malformed_pin_is_a_usage_error_with_a_report(us_ru, tmp_path: Path):
    us, _ = us_ru
    export(us, "RU", tmp_path / "b.cbm")
    (tmp_path / "us.card").write_bytes(us.card())
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(tmp_path / "us.card"),
                "--fingerprint", "3F2A 9C1B", "--json")
    assert r.exit_code == 2
    assert report(r)["reason_code"] == "usage" and "not a key fingerprint" in r.stderr


def test_an_encrypted_bundle_is_pinned_on_its_outer_signature_without_the_key(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2, tlp="AMBER")
    export(us, "RU", tmp_path / "e.cbm")  # AMBER: encrypted by default
    ring = cards(tmp_path, us, ru)
    r = run_cli("bundle", "verify", str(tmp_path / "e.cbm"), "--keyring", str(ring), "--fingerprint",
                us.fingerprint(), "--json")
    assert r.exit_code == 0, r.stderr
    doc = report(r)
    assert doc["result"] == "verified-outer-only" and doc["contents_checked"] is False
    assert doc["checks"] == ["outer-signature", "signer-pin", "ciphertext-hash"]
    assert doc["layers"] == ["encrypted"] and doc["recipients"] == ["RU"] and doc["bundle"] is None
    r = run_cli("bundle", "verify", str(tmp_path / "e.cbm"), "--keyring", str(ring), "--fingerprint",
                ru.fingerprint(), "--json")
    assert r.exit_code == 3 and report(r)["checks"] == ["outer-signature"]
    # RU, holding the key, sees every check, the inner manifest pinned too
    r = ru.cli("bundle", "verify", str(tmp_path / "e.cbm"), "--deep", "--fingerprint", us.fingerprint(), "--json")
    assert r.exit_code == 0, r.stderr
    assert report(r)["checks"] == ["outer-signature", "signer-pin", "ciphertext-hash", "manifest-signature",
                                   "body-hash", "record-hashes", "chain-links", "attachment-hashes",
                                   "record-signatures"]


def test_the_report_of_a_good_bundle_names_signer_logs_counts_and_checks(us_ru, tmp_path: Path):
    us, ru = us_ru
    made = write(us, n=3, tlp="CLEAR")
    write(us, n=1, tlp="RED", to=("US",))  # withheld from RU
    export(us, "RU", tmp_path / "b.cbm")
    r = run_cli("bundle", "verify", str(tmp_path / "b.cbm"), "--keyring", str(cards(tmp_path, us)), "--deep",
                "--json")
    assert r.exit_code == 0, r.stderr
    doc = report(r)
    with us.open() as store:
        keyid = store.signer().keyid
    assert (doc["ok"], doc["result"], doc["exit_code"], doc["reason"], doc["reason_code"]) == \
        (True, "verified", 0, None, None)
    assert doc["signer"] == {"party": "US", "keyid": keyid, "fingerprint": us.fingerprint()}
    assert (doc["sender"], doc["recipients"], doc["number"], doc["layers"]) == ("US", ["RU"], 1, [])
    assert (doc["depth"], doc["records"], doc["withheld"], doc["signatures_checked"]) == ("deep", 3, 1, 3)
    assert doc["logs"] == [{"author": "US", "first": 1, "last": 4, "last_hash": doc["logs"][0]["last_hash"],
                            "records": 3, "withheld": 1}]
    assert doc["checks"] == ["manifest-signature", "body-hash", "record-hashes", "chain-links",
                             "attachment-hashes", "record-signatures"]
    assert made[0].hash != doc["logs"][0]["last_hash"]


@pytest.mark.parametrize("damage, code, reason_code", [
    (lambda data: data[:-40], 1, "tampered"),
    (lambda data: b"not a bundle\n", 4, "malformed"),
], ids=["truncated", "not-a-bundle"])
def test_the_report_of_a_refused_bundle_says_why_and_what_passed(us_ru, tmp_path: Path, damage, code, reason_code):
    us, _ = us_ru
    write(us, n=3, tlp="CLEAR")
    export(us, "RU", tmp_path / "b.cbm")
    (tmp_path / "bad.cbm").write_bytes(damage((tmp_path / "b.cbm").read_bytes()))
    r = run_cli("bundle", "verify", str(tmp_path / "bad.cbm"), "--keyring", str(cards(tmp_path, us)), "--json")
    assert r.exit_code == code
    doc = report(r)
    assert (doc["ok"], doc["exit_code"], doc["reason_code"]) == (False, code, reason_code)
    assert r.stderr.startswith("cbm: error: " + doc["reason"])
    if reason_code == "tampered":  # signed header fine, body not: the report says how far it got
        assert doc["checks"] == ["manifest-signature"] and doc["sender"] == "US" and doc["number"] == 1


def test_a_missing_file_is_reported_too(tmp_path: Path):
    r = run_cli("bundle", "verify", str(tmp_path / "missing.cbm"), "--keyring", str(tmp_path), "--json")
    assert r.exit_code == 5
    assert report(r)["reason_code"] == "not-found" and r.stderr.startswith("cbm: error: cannot read")
