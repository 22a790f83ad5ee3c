"""The record tamper matrix through the real command line: RU's own database is doctored (as a compromised or
buggy peer would), RU's ``cbm bundle export`` signs whatever it holds, and US's ``cbm bundle import`` must refuse
each bad record with the exit code of its error class, one ``cbm: error:`` line, and no change to US's store.
The untouched good case is imported beside each bad one."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cbm.core import dsse
from cbm.core.keys import KeyPair
from cbm.core.records import build_payload, payload_type_for, record_hash
from cbm.store.db import Draft
from cbm.store.trust import create_store
from tests.conftest import Party, Result, introduce

CREATED = "2026-11-23T05:30:00Z"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """US trusts RU; RU wrote 3 records; US imported the first two (bundle 1); RU then wrote a fourth."""
    base = tmp_path_factory.mktemp("cli-import")
    us, ru = Party("US", base / "US"), Party("RU", base / "RU")
    create_store(us.root, "US", "US-CERT", None)
    create_store(ru.root, "RU", "RU-CERT", None)
    introduce(us, ru)
    with ru.open() as store:
        store.append_many([Draft("inquiry.open", {"text": f"real {i}", "ref": f"INQ-{i}"}, ("US",), "AMBER")
                           for i in (1, 2)])
    r = ru.cli("bundle", "export", "--to", "US", "-o", str(base / "b1.cbm"), "--no-minisig")
    assert r.exit_code == 0, r.stderr
    r = us.cli("bundle", "import", str(base / "b1.cbm"))
    assert r.exit_code == 0, r.stderr
    with ru.open() as store:
        store.append("inquiry.open", {"text": "real 3", "ref": "INQ-3"}, to=("US",), tlp="AMBER")
    return base


@pytest.fixture
def stores(template: Path, tmp_path: Path) -> tuple[Party, Party]:
    shutil.copytree(template, tmp_path / "w")
    return Party("US", tmp_path / "w" / "US"), Party("RU", tmp_path / "w" / "RU")


def doctor(ru: Party, seq: int, change: Callable[[bytes, KeyPair, str | None], bytes]) -> None:
    """Replace RU's record ``seq`` in RU's own database by ``change(envelope, RU's key, prev)``."""
    conn = sqlite3.connect(ru.root / "store.sqlite")
    envelope, prev = conn.execute("SELECT envelope, prev FROM records WHERE author = 'RU' AND seq = ?",
                                  (seq,)).fetchone()
    with ru.open() as store:
        pair = store.signer()
    new = change(envelope, pair, prev)
    with conn:
        conn.execute("UPDATE records SET envelope = ?, hash = ? WHERE author = 'RU' AND seq = ?",
                     (new, record_hash(dsse.parse(new).payload), seq))
    conn.close()


def forge(pair: KeyPair, seq: int, prev: str | None, *, payload_type: str | None = None,
          text: str = "forged") -> bytes:
    payload = build_payload(author="RU", seq=seq, prev=prev, created=CREATED, kind="inquiry.open", to=["US"],
                            tlp="AMBER", body={"text": text, "ref": f"INQ-{seq}"})
    return dsse.sign(payload_type or payload_type_for("inquiry.open"), payload,
                     [(pair.keyid, pair.signing)]).to_json_bytes()


def send(us: Party, ru: Party, *extra: str) -> Result:
    path = ru.root.parent / "next.cbm"
    r = ru.cli("bundle", "export", "--to", "US", "-o", str(path), "--no-minisig", *extra)
    assert r.exit_code == 0, r.stderr
    return us.cli("bundle", "import", str(path))


def us_records(us: Party) -> list[tuple]:
    conn = sqlite3.connect(us.root / "store.sqlite")
    rows = conn.execute("SELECT author, seq, hash FROM records ORDER BY author, seq").fetchall()
    conn.close()
    return rows


def refused(us: Party, r: Result, code: int, fragment: str, before: list[tuple]) -> None:
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("cbm: error: ") and fragment in r.stderr.splitlines()[0], r.stderr
    assert "Traceback" not in r.stderr
    assert us_records(us) == before


def test_good_bundle_lands(stores):
    us, ru = stores
    r = send(us, ru)
    assert r.exit_code == 0, r.stderr
    assert [row[1] for row in us_records(us) if row[0] == "RU"] == [1, 2, 3]


def _flip_sig(envelope: bytes, pair: KeyPair, prev: str | None) -> bytes:
    doc = json.loads(envelope)
    sig = bytearray(dsse.unb64(doc["signatures"][0]["sig"], "sig"))
    sig[7] ^= 1
    doc["signatures"][0]["sig"] = dsse.b64(bytes(sig))
    return json.dumps(doc).encode()


def _edit_payload(envelope: bytes, pair: KeyPair, prev: str | None) -> bytes:
    doc = json.loads(envelope)
    payload = dsse.unb64(doc["payload"], "payload").replace(b"real 3", b"REAL 3")
    doc["payload"] = dsse.b64(payload)
    return json.dumps(doc).encode()


def _stranger(envelope: bytes, pair: KeyPair, prev: str | None) -> bytes:
    return forge(KeyPair.from_seed(b"stranger", CREATED), 3, prev)


def _wrong_type(envelope: bytes, pair: KeyPair, prev: str | None) -> bytes:
    return forge(pair, 3, prev, payload_type="application/vnd.cbm.hotline.v1+json")


def _broken_prev(envelope: bytes, pair: KeyPair, prev: str | None) -> bytes:
    return forge(pair, 3, "cd" * 32)


CASES = [
    ("flipped signature", _flip_sig, 1, "signature does not verify"),
    ("payload edited, not re-signed", _edit_payload, 1, "signature does not verify"),
    ("unknown key", _stranger, 3, "signed by no trusted key"),
    ("wrong payload type, re-signed", _wrong_type, 4, "payload type"),
    ("broken prev, re-signed", _broken_prev, 1, "does not link"),
]


@pytest.mark.parametrize("what, change, code, fragment", CASES, ids=[c[0] for c in CASES])
def test_doctored_record_is_refused_by_import(stores, what, change, code, fragment):
    us, ru = stores
    before = us_records(us)
    doctor(ru, 3, change)
    refused(us, send(us, ru), code, fragment, before)


def test_equivocation_is_refused_and_evidence_kept(stores):
    us, ru = stores
    before = us_records(us)
    doctor(ru, 2, lambda env, pair, prev: forge(pair, 2, prev, text="a different story"))
    doctor(ru, 3, lambda env, pair, prev: forge(pair, 3, record_hash(dsse.parse(forge(pair, 2, prev,
                                                                                      text="a different story"))
                                                                     .payload)))
    r = send(us, ru, "--all")
    refused(us, r, 1, "two different records with seq 2", before)
    conn = sqlite3.connect(us.root / "store.sqlite")
    assert conn.execute("SELECT author, seq FROM equivocations").fetchall() == [("RU", 2)]
    conn.close()
    status = us.cli("status", "--json").json()
    assert any("equivocat" in a["text"] for a in status["attention"])


def test_revoked_key_is_refused(stores):
    us, ru = stores
    before = us_records(us)
    assert us.cli("keys", "revoke", "--party", "RU", "--reason", "compromise reported", "--yes").exit_code == 0
    refused(us, send(us, ru), 3, "revoked", before)


def test_rotated_out_key_is_refused_after_the_rotation(stores):
    us, ru = stores
    with ru.open() as store:
        old = store.signer()
    assert ru.cli("keys", "rotate").exit_code == 0  # RU #4: keys.rotate, new key from seq 5
    with ru.open() as store:
        store.append("inquiry.open", {"text": "real 5", "ref": "INQ-5"}, to=("US",))
    good = send(us, ru)
    assert good.exit_code == 0, good.stderr  # US learns the new key from RU's log and takes seq 5
    with ru.open() as store:
        store.append("inquiry.open", {"text": "real 6", "ref": "INQ-6"}, to=("US",))
    before = us_records(us)
    doctor(ru, 6, lambda env, pair, prev: forge(old, 6, prev))  # the retired key signs seq 6
    refused(us, send(us, ru), 3, "rotated out after seq 4", before)
