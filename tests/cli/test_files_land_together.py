"""A file and what it belongs to land together or not at all (docs/adr/0290-files-that-belong-together.md):
a bundle and its ``.minisig``, a hotline transcript and its ``.sig`` and the record that signs it, a new key
and its card (``keys rotate -o``, ``keys revoke -o``). A place that refuses the bytes only while they are
written (a full disk: ``/dev/full``, or a side file that is a link to it) leaves the store, the key file and
the directory exactly as before, with one ``cbm: error:`` line and exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cbm.store import paths
from tests.bundle.forge import snapshot
from tests.conftest import Party

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty directory for the files written, apart from the stores."""
    made = tmp_path / "out"
    made.mkdir()
    return made


def _state(party: Party) -> tuple[object, bytes]:
    """The store's records, keys and receipts, and the secret key file's bytes."""
    return snapshot(party), (party.root / paths.SECRET_KEYS).read_bytes()


def _one_error(result, words: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"cbm: error: cannot write {words}"), result.stderr


@pytest.mark.parametrize("args", [["keys", "rotate"], ["keys", "revoke", "--reason", "lost", "--yes"]],
                         ids=["rotate", "revoke"])
def test_a_new_key_whose_card_cannot_be_written_is_not_made(us_ru, args):
    us, _ = us_ru
    before = _state(us)
    fingerprint = us.fingerprint()
    _one_error(us.cli(*args, "-o", "/dev/full"), "/dev/full: ")
    assert _state(us) == before and us.fingerprint() == fingerprint
    assert us.cli("indicators", "add", "--value", "still-signing.example").exit_code == 0  # the old key signs on


@pytest.mark.parametrize("args", [["keys", "rotate"], ["keys", "revoke", "--reason", "lost", "--yes"]],
                         ids=["rotate", "revoke"])
def test_a_new_key_and_its_card_land_together(us_ru, out_dir: Path, args):
    us, _ = us_ru
    card = out_dir / "us-new.card"
    card.write_bytes(b"an older card")
    r = us.cli(*args, "-o", str(card))
    assert r.exit_code == 0, r.stderr
    assert card.read_bytes() == us.card() + b"\n"  # the card of the key now signing
    assert sorted(p.name for p in out_dir.iterdir()) == ["us-new.card"]  # no staged file left


def test_a_bundle_whose_minisig_cannot_be_written_is_not_written(us_ru, out_dir: Path):
    us, _ = us_ru
    assert us.cli("indicators", "add", "--value", "evil.example").exit_code == 0
    out = out_dir / "us-to-ru.cbm"
    os.symlink("/dev/full", str(out) + ".minisig")
    _one_error(us.cli("bundle", "export", "--to", "RU", "-o", str(out)), f"{out}.minisig: ")
    assert sorted(p.name for p in out_dir.iterdir()) == ["us-to-ru.cbm.minisig"]  # the link alone: no bundle


def test_a_bundle_and_its_minisig_replace_older_ones_together(us_ru, out_dir: Path):
    us, _ = us_ru
    out = out_dir / "us-to-ru.cbm"
    out.write_bytes(b"old bundle")
    Path(str(out) + ".minisig").write_bytes(b"old signature")
    r = us.cli("bundle", "export", "--to", "RU", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes() != b"old bundle" and Path(str(out) + ".minisig").read_bytes().startswith(b"untrusted")
    assert sorted(p.name for p in out_dir.iterdir()) == ["us-to-ru.cbm", "us-to-ru.cbm.minisig"]


def test_a_transcript_whose_signature_cannot_be_written_is_not_signed(us_ru, out_dir: Path):
    us, _ = us_ru
    assert us.cli("hotline", "send", "--to", "RU", "--body", "hello").exit_code == 0
    out = out_dir / "transcript.md"
    os.symlink("/dev/full", str(out) + ".sig")
    before = _state(us)
    _one_error(us.cli("hotline", "transcript", "--with", "RU", "--export", str(out)), f"{out}.sig: ")
    assert _state(us) == before  # no transcript record signed for a file that is not there
    assert sorted(p.name for p in out_dir.iterdir()) == ["transcript.md.sig"]
    os.unlink(str(out) + ".sig")
    r = us.cli("hotline", "transcript", "--with", "RU", "--export", str(out))
    assert r.exit_code == 0, r.stderr
    assert us.cli("hotline", "check-export", str(out)).exit_code == 0
