"""Forms of a bundle (gzip, encrypted, armored), reproducible bytes, and the standard minisign tool."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from cbm.bundle.export import write_bundle
from cbm.bundle.minisign import display_keyid
from tests.bundle.helpers import export, hashes, import_, write

MINISIGN = shutil.which("minisign") or "/usr/bin/minisign"


@pytest.mark.parametrize("flags", [("--gzip",), ("--encrypt",), ("--armor",), ("--encrypt", "--armor", "--gzip")],
                         ids=lambda f: "+".join(x.strip("-") for x in f))
def test_every_form_round_trips(us_ru, tmp_path: Path, flags):
    us, ru = us_ru
    made = write(us, n=3)
    flags += () if "--encrypt" in flags else ("--no-encrypt",)  # GREEN records: encrypted unless turned off
    doc = export(us, "RU", tmp_path / "b.cbm", "--json", *flags).json()
    assert set(doc["layers"]) == {f.strip("-").replace("encrypt", "encrypted") for f in flags if f != "--no-encrypt"}
    r = import_(ru, tmp_path / "b.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"US": 3}
    assert hashes(ru, "US") == [m.hash for m in made]


def test_armored_bundle_is_text_only(us_ru, tmp_path: Path):
    us, _ = us_ru
    write(us, n=2)
    export(us, "RU", tmp_path / "b.txt", "--encrypt", "--armor")
    text = (tmp_path / "b.txt").read_bytes()
    assert text.startswith(b"-----BEGIN CBM BUNDLE-----\n") and text.endswith(b"-----END CBM BUNDLE-----\n")
    assert all(len(line) <= 76 and line.isascii() for line in text.split(b"\n"))


def test_encrypted_bundle_reveals_no_record_and_ci_can_check_it_without_the_key(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, "inquiry.open", {"ref": "secret-case", "text": "the plaintext"})
    export(us, "RU", tmp_path / "e.cbm", "--encrypt")
    data = (tmp_path / "e.cbm").read_bytes()
    assert b"the plaintext" not in data and b"secret-case" not in data
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "us.card").write_bytes(us.card())
    r = ru.cli("--json", "bundle", "verify", str(tmp_path / "e.cbm"), "--keyring", str(cards))
    assert r.exit_code == 0, r.stderr
    assert r.json()["contents_checked"] is False and r.json()["sender"] == "US"
    assert "warning" not in r.stderr
    # --deep with cards only cannot open it: said on stderr, not silently a quick check
    r = ru.cli("--json", "bundle", "verify", str(tmp_path / "e.cbm"), "--keyring", str(cards), "--deep")
    assert r.exit_code == 0, r.stderr
    assert r.json()["depth"] == "quick" and r.json()["contents_checked"] is False
    assert "--deep: the bundle is encrypted and no key here opens it" in r.stderr
    # RU's store can open it and checks everything
    r = ru.cli("bundle", "verify", str(tmp_path / "e.cbm"), "--deep", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["contents_checked"] is True and r.json()["signatures_checked"] == 1
    assert "warning" not in r.stderr


def test_encrypted_bundle_for_another_party_is_refused_by_a_third(three, tmp_path: Path):
    us, ru, cn = three
    write(us, n=1)
    export(us, "RU", tmp_path / "e.cbm", "--encrypt")
    r = import_(cn, tmp_path / "e.cbm")
    assert r.exit_code == 4
    assert "not for CN" in r.stderr
    # CN can still check the outer signature and ciphertext with its store's trusted keys
    r = cn.cli("bundle", "verify", str(tmp_path / "e.cbm"), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["contents_checked"] is False


@pytest.mark.parametrize("flags", [(), ("--gzip",), ("--armor",)], ids=["plain", "gzip", "armor"])
def test_same_content_gives_the_same_bytes(us_ru, flags):
    us, _ = us_ru
    write(us, n=3, tlp="AMBER")
    options = {"compress": "--gzip" in flags, "armored": "--armor" in flags, "encrypt": False}
    outputs = []
    with us.open() as store:
        for _ in range(2):
            out = io.BytesIO()
            write_bundle(store, "RU", out, number=7, **options)
            outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert b"created" not in outputs[0].split(b"\n")[1]


def test_minisign_verifies_the_detached_signature(us_ru, tmp_path: Path):
    us, _ = us_ru
    write(us, n=2)
    for name, flags in (("plain.cbm", ()), ("sealed.txt", ("--encrypt", "--armor"))):
        export(us, "RU", tmp_path / name, *flags)
        r = us.cli("keys", "export", "--format", "minisign", "-o", str(tmp_path / "us.pub"))
        assert r.exit_code == 0, r.stderr
        done = subprocess.run([MINISIGN, "-Vm", str(tmp_path / name), "-p", str(tmp_path / "us.pub")],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "cbm bundle" in done.stdout
    pub = (tmp_path / "us.pub").read_text()
    with us.open() as store:
        assert display_keyid(store.signer().keyid) in pub.splitlines()[0]
    # the standard tool also refuses a changed bundle
    with open(tmp_path / "plain.cbm", "ab") as f:
        f.write(b"\n")
    done = subprocess.run([MINISIGN, "-Vm", str(tmp_path / "plain.cbm"), "-p", str(tmp_path / "us.pub")],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0


def test_minisig_can_be_skipped_and_is_not_written_for_stdout(us_ru, tmp_path: Path):
    us, _ = us_ru
    export(us, "RU", tmp_path / "b.cbm", "--no-minisig")
    assert not (tmp_path / "b.cbm.minisig").exists()


def test_keys_export_unknown_format_is_a_usage_error(us_ru):
    us, _ = us_ru
    r = us.cli("keys", "export", "--format", "pgp")
    assert r.exit_code == 2 and "unknown format" in r.stderr


class Pipe(io.RawIOBase):
    """A non-seekable stream, as stdin from a pipe is."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(target), 4096))
        target[: len(chunk)] = chunk
        return len(chunk)


def test_a_pipe_is_spooled_and_checked_like_a_file(us_ru, tmp_path: Path):
    from cbm.bundle.importer import import_bundle
    from cbm.core.errors import TamperedContent

    us, ru = us_ru
    write(us, n=3)
    export(us, "RU", tmp_path / "b.cbm")
    data = (tmp_path / "b.cbm").read_bytes()
    with ru.open() as store:
        with pytest.raises(TamperedContent):
            import_bundle(store, io.BufferedReader(Pipe(data[:-1] + bytes([data[-1] ^ 1]))))  # type: ignore[arg-type]
        result = import_bundle(store, io.BufferedReader(Pipe(data)))  # type: ignore[arg-type]
    assert result.landed == {"US": 3}
    assert not any((ru.root / "tmp").iterdir())  # temporary files are gone
