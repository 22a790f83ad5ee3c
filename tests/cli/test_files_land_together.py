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


def _everything(party: Party) -> list[str]:
    """Every row of every table of the store's database (records, receipts, the journal of bundles sent)."""
    import sqlite3

    conn = sqlite3.connect(party.root / paths.DATABASE)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _news(us: Party, *peers: Party) -> None:
    """Each peer has sent us a bundle (we hold its log), and we have news for them."""
    for peer in peers:
        bundle = peer.root.parent / f"{peer.code.lower()}-to-us.cbm"
        assert peer.cli("inquiry", "open", "--to", "US", "--subject", "s", "--body", "b").exit_code == 0
        assert peer.cli("bundle", "export", "--to", "US", "-o", str(bundle)).exit_code == 0
        assert us.cli("bundle", "import", str(bundle)).exit_code == 0
    assert us.cli("indicators", "add", "--value", "evil.example").exit_code == 0


def test_a_bundle_that_cannot_be_written_signs_no_receipt_and_journals_nothing(us_ru, out_dir: Path):
    """``bundle export -o /dev/full`` signed a receipt (when one was due) and journalled a bundle number before
    the write failed: the store now stays exactly as it was, and the next export is number 1 (docs/adr/0300)."""
    us, ru = us_ru
    _news(us, ru)
    before = _everything(us)
    _one_error(us.cli("bundle", "export", "--to", "RU", "-o", "/dev/full"), "/dev/full: ")
    assert _everything(us) == before
    out = out_dir / "us-to-ru.cbm"
    os.symlink("/dev/full", str(out) + ".minisig")
    _one_error(us.cli("bundle", "export", "--to", "RU", "-o", str(out)), f"{out}.minisig: ")
    assert _everything(us) == before
    os.unlink(str(out) + ".minisig")
    done = us.cli("--json", "bundle", "export", "--to", "RU", "-o", str(out))
    assert done.exit_code == 0, done.stderr
    assert done.json()["number"] == 1  # no number was burnt
    assert _everything(us) != before


def test_a_bundle_to_a_full_standard_output_changes_nothing(us_ru):
    """``cbm bundle export --to RU > file`` on a full disk (standard output a regular file or a device)."""
    import subprocess
    import sys

    us, ru = us_ru
    _news(us, ru)
    before = _everything(us)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBM_")}
    with open("/dev/full", "wb") as full:
        done = subprocess.run([str(Path(sys.executable).parent / "cbm"), "--store", str(us.root), "bundle",
                               "export", "--to", "RU", "-o", "-"], stdout=full, stderr=subprocess.PIPE, env=env,
                              timeout=120)
    assert done.returncode == 2 and done.stderr.decode().startswith("cbm: error: cannot write"), done.stderr
    assert done.stderr.decode().count("cbm: error:") == 1
    assert _everything(us) == before


def test_bundles_for_many_peers_land_together_or_not_at_all(three, out_dir: Path):
    """``-o DIR/`` for every peer: one file that cannot be written leaves the store and the directory as they
    were (no bundle of the others landed, no receipt, no number journalled)."""
    us, ru, cn = three
    _news(us, ru, cn)
    before = _everything(us)
    os.symlink("/dev/full", out_dir / "us-to-ru.cbm")
    r = us.cli("bundle", "export", "--to", "all", "-o", f"{out_dir}/")
    _one_error(r, f"{out_dir / 'us-to-ru.cbm'}: ")
    assert _everything(us) == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["us-to-ru.cbm"]  # the link alone
    os.unlink(out_dir / "us-to-ru.cbm")
    r = us.cli("--json", "bundle", "export", "--to", "all", "-o", f"{out_dir}/")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["us-to-cn.cbm", "us-to-cn.cbm.minisig", "us-to-ru.cbm",
                                                           "us-to-ru.cbm.minisig"]
    assert [b["number"] for b in r.json()["bundles"]] == [1, 1]
    # RU's receipt acknowledges CN's log, which we got after RU's: signed now, and not by the failed run
    assert [bool(b["receipt"]) for b in r.json()["bundles"]] == [False, True]
