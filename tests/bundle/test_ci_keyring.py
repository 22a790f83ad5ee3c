"""A CI keyring across rotations and revocations: `cbm keys export --history` gives it every card of a peer, so
records signed before a rotation still verify and a bundle signed by a retired key is refused — which the
standard `minisign`, holding one public key file, cannot tell."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.bundle.helpers import export, import_, write
from tests.conftest import run_cli

MINISIGN = shutil.which("minisign") or "/usr/bin/minisign"


def test_a_card_history_keyring_follows_a_rotation_that_minisign_cannot_see(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2, tlp="CLEAR")
    export(us, "RU", tmp_path / "old.cbm")  # signed by US's first key
    assert us.cli("keys", "export", "--format", "minisign", "-o", str(tmp_path / "us-old.pub")).exit_code == 0
    assert us.cli("keys", "rotate").exit_code == 0
    write(us, n=1, tlp="CLEAR")
    export(us, "RU", tmp_path / "all.cbm", "--all")  # records by both keys, the rotation between them
    assert import_(ru, tmp_path / "all.cbm").exit_code == 0  # RU learns the new key from the signed rotation

    keyring = tmp_path / "keyring"
    keyring.mkdir()
    r = ru.cli("keys", "export", "--party", "US", "--history", "-o", str(keyring / "us.cards"))
    assert r.exit_code == 0, r.stderr
    assert "wrote 2 card(s) of US" in r.stderr
    assert len((keyring / "us.cards").read_bytes().splitlines()) == 2

    r = run_cli("bundle", "verify", str(tmp_path / "all.cbm"), "--keyring", str(keyring), "--deep", "--json",
                "--fingerprint", us.fingerprint())
    assert r.exit_code == 0, r.stderr
    assert r.json()["signatures_checked"] == 4  # 2 by the old key, the rotation, 1 by the new key
    # the bundle signed by the retired key alone is refused by the keyring ...
    r = run_cli("bundle", "verify", str(tmp_path / "old.cbm"), "--keyring", str(keyring))
    assert r.exit_code == 3 and "rotated out" in r.stderr
    # ... while minisign, holding the old public key file, still says yes
    done = subprocess.run([MINISIGN, "-Vm", str(tmp_path / "old.cbm"), "-p", str(tmp_path / "us-old.pub")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # the current card alone is not enough for a deep check of records signed before the rotation
    current = tmp_path / "current"
    current.mkdir()
    assert ru.cli("keys", "export", "--party", "US", "-o", str(current / "us.card")).exit_code == 0
    r = run_cli("bundle", "verify", str(tmp_path / "all.cbm"), "--keyring", str(current), "--deep")
    assert r.exit_code == 3 and "no trusted key of US" in r.stderr


def test_history_of_a_peer_we_revoked_is_refused(us_ru, tmp_path: Path):
    """A card file cannot say "revoked": exporting the card again would make a CI keyring trust it."""
    us, ru = us_ru
    r = ru.cli("keys", "revoke", "--party", "US", "--reason", "compromise reported by phone", "--yes")
    assert r.exit_code == 0, r.stderr
    r = ru.cli("keys", "export", "--party", "US", "--history", "-o", str(tmp_path / "us.cards"))
    assert r.exit_code == 5 and "no active key" in r.stderr
    assert not (tmp_path / "us.cards").exists()


def test_history_is_for_cards_only(us_ru):
    us, _ = us_ru
    r = us.cli("keys", "export", "--history", "--format", "minisign")
    assert r.exit_code == 2 and r.stdout == ""
