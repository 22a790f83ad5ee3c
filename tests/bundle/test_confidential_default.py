"""Confidential by default: a bundle carrying any record above TLP:CLEAR is encrypted to its recipient unless
``--no-encrypt`` (which warns); ``--encrypt`` forces it. The outer signature stays checkable without the
private key, by ``cbm bundle verify`` and by the standard ``minisign``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cbm.bundle.encryption import MAGIC as ENCRYPTED
from cbm.bundle.format import MAGIC as PLAIN
from tests.bundle.helpers import export, hashes, import_, write

MINISIGN = shutil.which("minisign") or "/usr/bin/minisign"


@pytest.mark.parametrize("tlp", ["GREEN", "AMBER", "AMBER+STRICT", "RED"])
def test_a_record_above_clear_makes_the_bundle_encrypted(us_ru, tmp_path: Path, tlp):
    us, ru = us_ru
    write(us, "inquiry.open", {"ref": "case-1", "text": "an incident of national concern"}, tlp="CLEAR")
    made = write(us, "inquiry.open", {"ref": "case-2", "text": "the confidential part"}, tlp=tlp, to=("RU",))
    r = export(us, "RU", tmp_path / "b.cbm", "--json")
    doc = r.json()
    assert (doc["encrypted"], doc["encryption"], doc["above_clear"], doc["highest_tlp"]) == \
        (True, "default", 1, tlp)
    assert doc["layers"] == ["encrypted"]
    assert f"encrypted by default: 1 record(s) above TLP:CLEAR (highest TLP:{tlp})" in r.stderr
    data = (tmp_path / "b.cbm").read_bytes()
    assert data.startswith(ENCRYPTED)
    assert b"confidential part" not in data and b"national concern" not in data
    r = import_(ru, tmp_path / "b.cbm")
    assert r.exit_code == 0, r.stderr
    assert hashes(ru, "US")[-1] == made[-1].hash


def test_only_clear_records_travel_plain(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2, tlp="CLEAR")
    write(us, n=1, tlp="RED", to=("US",))  # withheld from RU: carries no content, does not count
    r = export(us, "RU", tmp_path / "b.cbm", "--json")
    doc = r.json()
    assert (doc["encrypted"], doc["encryption"], doc["above_clear"], doc["withheld"]) == (False, "default", 0, 1)
    assert "not encrypted: every record carried is TLP:CLEAR" in r.stderr
    assert (tmp_path / "b.cbm").read_bytes().startswith(PLAIN)
    assert "warning" not in r.stderr


def test_no_encrypt_sends_it_readable_with_a_warning(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, "inquiry.open", {"ref": "case-1", "text": "readable on purpose"}, tlp="AMBER")
    r = export(us, "RU", tmp_path / "b.cbm", "--no-encrypt", "--json")
    assert r.json()["encrypted"] is False and r.json()["encryption"] == "off"
    assert ("warning: --no-encrypt: 1 record(s) above TLP:CLEAR (highest TLP:AMBER) travel readable to anyone "
            "who holds the bundle") in r.stderr
    assert r.stdout.startswith("{")  # the warning went to stderr, the report alone to stdout
    data = (tmp_path / "b.cbm").read_bytes()
    assert data.startswith(PLAIN)
    assert import_(ru, tmp_path / "b.cbm").exit_code == 0


def test_encrypt_still_forces_it_for_clear_records(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=1, tlp="CLEAR")
    r = export(us, "RU", tmp_path / "b.cbm", "--encrypt", "--json")
    assert (r.json()["encrypted"], r.json()["encryption"]) == (True, "forced")
    assert (tmp_path / "b.cbm").read_bytes().startswith(ENCRYPTED)
    assert "warning" not in r.stderr


def test_the_default_applies_to_stdout_and_the_peer_reads_it_from_stdin(us_ru):
    us, ru = us_ru
    write(us, n=2, tlp="GREEN")
    r = us.cli("bundle", "export", "--to", "RU", "--armor", "-o", "-")  # armored: text survives the test runner
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("-----BEGIN CBM BUNDLE-----") and "encrypted by default" in r.stderr
    r = ru.cli("bundle", "import", "-", "--json", input=r.stdout.encode())
    assert r.exit_code == 0, r.stderr
    assert r.json()["layers"] == ["armor", "encrypted"] and r.json()["landed"] == {"US": 2}


def test_the_default_encrypted_bundle_is_checkable_without_the_private_key(us_ru, tmp_path: Path):
    """What a CI job holds: US's public card and its minisign key, nothing secret."""
    us, ru = us_ru
    write(us, n=3, tlp="AMBER")
    export(us, "RU", tmp_path / "b.cbm")
    assert (tmp_path / "b.cbm").read_bytes().startswith(ENCRYPTED)
    ci = tmp_path / "ci"
    ci.mkdir()
    (ci / "us.card").write_bytes(us.card())
    assert us.cli("keys", "export", "--format", "minisign", "-o", str(ci / "us.pub")).exit_code == 0
    r = ru.cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(ci / "us.card"), "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["result"], r.json()["contents_checked"]) == ("verified-outer-only", False)
    done = subprocess.run([MINISIGN, "-Vm", str(tmp_path / "b.cbm"), "-p", str(ci / "us.pub")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # and a flipped byte of the ciphertext fails both
    data = bytearray((tmp_path / "b.cbm").read_bytes())
    data[-10] ^= 1
    (tmp_path / "b.cbm").write_bytes(bytes(data))
    r = ru.cli("bundle", "verify", str(tmp_path / "b.cbm"), "--key", str(ci / "us.card"))
    assert r.exit_code == 1
    done = subprocess.run([MINISIGN, "-Vm", str(tmp_path / "b.cbm"), "-p", str(ci / "us.pub")],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0


def test_one_bundle_per_peer_follows_the_same_rule_per_peer(three, tmp_path: Path):
    us, ru, cn = three
    write(us, "inquiry.open", {"ref": "case-1", "text": "for RU only"}, tlp="AMBER", to=("RU",))
    write(us, n=1, tlp="CLEAR")
    r = us.cli("bundle", "export", "--to", "all", "-o", f"{tmp_path}/out/", "--json")
    assert r.exit_code == 0, r.stderr
    by_peer = {b["recipient"]: b for b in r.json()["bundles"]}
    # RU carries the AMBER record: encrypted; CN sees only CLEAR (the AMBER one is withheld): readable
    assert (by_peer["RU"]["encrypted"], by_peer["CN"]["encrypted"]) == (True, False)
    assert (tmp_path / "out" / "us-to-ru.cbm").read_bytes().startswith(ENCRYPTED)
    assert (tmp_path / "out" / "us-to-cn.cbm").read_bytes().startswith(PLAIN)
    assert import_(ru, tmp_path / "out" / "us-to-ru.cbm").exit_code == 0
