"""Tampering with a store's database directly (sqlite3), caught by ``cbm store verify``: exit 1 and a FAULT line.

The good case first in every test: the untouched copy verifies (exit 0). A damaged database file (not just
altered rows) is a store error: exit 6 with one clear line, never a traceback.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cbm.core import dsse
from cbm.core.keys import KeyPair
from cbm.core.records import build_payload, record_hash, sign_record
from cbm.store.db import Draft
from cbm.store.ingest import ingest
from cbm.store.trust import create_store
from tests.conftest import Party, introduce

CREATED = "2026-11-23T05:20:00Z"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("stores")
    us, ru = Party("US", base / "US"), Party("RU", base / "RU")
    create_store(us.root, "US", "US-CERT", None)
    create_store(ru.root, "RU", "RU-CERT", None)
    introduce(us, ru)
    with ru.open() as store:
        store.append_many([Draft("inquiry.open", {"text": f"ru {i}", "ref": f"INQ-{i}"}, ("US",), "AMBER")
                           for i in range(1, 5)])
        envelopes = [r.envelope for r in store.log("RU")]
    with us.open() as store:
        ingest(store, envelopes)
        store.append_many([Draft("inquiry.reply", {"text": f"us {i}", "ref": "INQ-1"}, ("RU",)) for i in range(3)])
    return base


@pytest.fixture
def stores(template: Path, tmp_path: Path) -> tuple[Party, Party]:
    shutil.copytree(template, tmp_path / "stores")
    return Party("US", tmp_path / "stores" / "US"), Party("RU", tmp_path / "stores" / "RU")


def row(us: Party, author: str, seq: int) -> tuple[bytes, str, str | None]:
    conn = sqlite3.connect(us.root / "store.sqlite")
    envelope, digest, prev = conn.execute("SELECT envelope, hash, prev FROM records WHERE author = ? AND seq = ?",
                                          (author, seq)).fetchone()
    conn.close()
    return envelope, digest, prev


def sql(us: Party, statement: str, *args: object) -> None:
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        assert conn.execute(statement, args).rowcount >= 1, statement
    conn.close()


def put(us: Party, author: str, seq: int, envelope: bytes, **columns: object) -> None:
    sets = ", ".join(["envelope = ?", *(f"{k} = ?" for k in columns)])
    sql(us, f"UPDATE records SET {sets} WHERE author = ? AND seq = ?", envelope, *columns.values(), author, seq)


def edit(envelope: bytes, change: Callable[[dict], None]) -> bytes:
    doc = json.loads(envelope)
    change(doc)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def flip(text: str, index: int) -> str:
    raw = bytearray(dsse.unb64(text, "x"))
    raw[index] ^= 0x01
    return dsse.b64(bytes(raw))


def ru_pair(ru: Party) -> KeyPair:
    with ru.open() as store:
        return store.signer()


def resign(pair: KeyPair, seq: int, prev: str | None, author: str = "RU", text: str = "rewritten") -> bytes:
    payload = build_payload(author=author, seq=seq, prev=prev, created=CREATED, kind="inquiry.open", to=["US"],
                            tlp="AMBER", body={"text": text, "ref": f"INQ-{seq}"})
    return sign_record(payload, "inquiry.open", pair)


def payload_hash(envelope: bytes) -> str:
    return record_hash(dsse.parse(envelope).payload)


def damage(us: Party) -> None:
    """Zero the page headers of the second half of the database file (bulked up first: the schema survives)."""
    with us.open() as store:
        store.append_many([Draft("inquiry.reply", {"text": "x" * 800, "ref": "INQ-1"}, ("RU",)) for _ in range(300)])
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = us.root / "store.sqlite"
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(len(data) // 2 // page * page, len(data), page):
        data[offset : offset + 8] = bytes(8)  # b-tree page headers: SQLite notices on reading them
    path.write_bytes(bytes(data))


def verify_fails(us: Party, *faults: str) -> list[str]:
    """``cbm store verify`` exits 1, prints every expected FAULT line, and says so on stderr."""
    r = us.cli("store", "verify")
    assert r.exit_code == 1, (r.stdout, r.stderr)
    lines = [line for line in r.stdout.splitlines() if line.startswith("FAULT ")]
    for fault in faults:
        assert any(line.startswith(fault) for line in lines), f"no line starting {fault!r} in:\n{r.stdout}"
    assert r.stderr.startswith(f"cbm: error: store verification found {len(lines)} fault(s)")
    assert "Traceback" not in r.stderr
    doc = us.cli("store", "verify", "--json")
    assert doc.exit_code == 1 and doc.json()["ok"] is False and len(doc.json()["faults"]) == len(lines)
    return lines


def verify_ok(us: Party) -> None:
    r = us.cli("store", "verify")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK: 7 records from 2 authors checked")
    assert r.stderr == ""


def test_untouched_store_verifies(stores):
    us, ru = stores
    verify_ok(us)
    doc = us.cli("store", "verify", "--json").json()
    assert doc["schema"] == "cbm.store.verify/1" and doc["ok"] is True and doc["records"] == 7


def test_flipped_payload_byte(stores):
    us, ru = stores
    verify_ok(us)
    envelope, _, _ = row(us, "RU", 2)
    put(us, "RU", 2, edit(envelope, lambda d: d.update(payload=flip(d["payload"], 30))))
    verify_fails(us, "FAULT RU #2: payload bytes do not match the record hash",
                 "FAULT RU #2: signature does not verify")


def test_flipped_signature(stores):
    us, ru = stores
    verify_ok(us)
    envelope, _, _ = row(us, "US", 3)
    put(us, "US", 3, edit(envelope, lambda d: d["signatures"][0].update(sig=flip(d["signatures"][0]["sig"], 5))))
    assert verify_fails(us, "FAULT US #3: signature does not verify") == ["FAULT US #3: signature does not verify"]


def test_wrong_payload_type(stores):
    us, ru = stores
    verify_ok(us)
    envelope, _, _ = row(us, "RU", 1)
    put(us, "RU", 1, edit(envelope, lambda d: d.update(payloadType="application/vnd.cbm.hotline.v1+json")))
    verify_fails(us, "FAULT RU #1: payload type", "FAULT RU #1: signature does not verify")


def test_unknown_key(stores):
    us, ru = stores
    verify_ok(us)
    stranger = KeyPair.from_seed(b"stranger", CREATED)
    _, _, prev = row(us, "RU", 3)
    forged = resign(stranger, 3, prev)
    put(us, "RU", 3, forged, hash=payload_hash(forged), keyid=stranger.keyid)
    verify_fails(us, f"FAULT RU #3: signed by key {stranger.keyid} which is not RU's")


def test_revoked_and_rotated_out_keys(stores):
    us, ru = stores
    verify_ok(us)
    sql(us, "UPDATE party_keys SET status = 'revoked', last_seq = 2 WHERE party = 'RU'")
    lines = verify_fails(us, "FAULT RU #3: key", "FAULT RU #4: key")
    assert all("was not valid for seq" in line for line in lines) and len(lines) == 2
    sql(us, "UPDATE party_keys SET status = 'rotated', last_seq = 3 WHERE party = 'RU'")
    assert len(verify_fails(us, "FAULT RU #4: key")) == 1


def test_duplicate_signature_is_no_fault(stores):
    us, ru = stores
    envelope, _, _ = row(us, "RU", 2)
    put(us, "RU", 2, edit(envelope, lambda d: d.update(signatures=d["signatures"] * 2)))
    verify_ok(us)  # the same record (same id), one signer counted once


def test_resigned_with_the_right_key_breaks_the_chain(stores):
    us, ru = stores
    verify_ok(us)
    _, _, prev = row(us, "RU", 2)
    twin = resign(ru_pair(ru), 2, prev)  # a validly signed second version of RU #2 swapped in
    put(us, "RU", 2, twin, hash=payload_hash(twin), created=CREATED)
    assert verify_fails(us, "FAULT RU #3: prev does not link") == \
        ["FAULT RU #3: prev does not link to the record before"]


def test_resigned_with_the_right_key_claiming_another_author(stores):
    us, ru = stores
    verify_ok(us)
    _, _, prev = row(us, "RU", 4)
    lie = resign(ru_pair(ru), 4, prev, author="US")
    put(us, "RU", 4, lie, hash=payload_hash(lie))
    verify_fails(us, "FAULT RU #4: stored author column differs")


def test_broken_prev(stores):
    us, ru = stores
    verify_ok(us)
    bad = resign(ru_pair(ru), 3, "ab" * 32)
    put(us, "RU", 3, bad, hash=payload_hash(bad), prev="ab" * 32)
    verify_fails(us, "FAULT RU #3: prev does not link", "FAULT RU #4: prev does not link")


def test_duplicate_seq_row_cannot_be_inserted_and_evidence_survives(stores):
    us, ru = stores
    _, _, prev = row(us, "RU", 2)
    twin = resign(ru_pair(ru), 2, prev)
    conn = sqlite3.connect(us.root / "store.sqlite")
    with pytest.raises(sqlite3.IntegrityError):  # the schema itself refuses two records at one position
        with conn:
            conn.execute("INSERT INTO records (hash, author, seq, prev, kind, created, tlp, audience, keyid,"
                         " received, envelope) VALUES (?, 'RU', 2, ?, 'inquiry.open', ?, 'AMBER', '[\"US\"]', ?, ?, ?)",
                         (payload_hash(twin), prev, CREATED, ru_pair(ru).keyid, CREATED, twin))
    conn.close()
    verify_ok(us)


def test_truncation_deleted_record_and_cut_envelope(stores):
    us, ru = stores
    verify_ok(us)
    sql(us, "DELETE FROM records WHERE author = 'RU' AND seq = 2")
    assert verify_fails(us, "FAULT RU #3: record 2 is missing (chain gap)") == \
        ["FAULT RU #3: record 2 is missing (chain gap)"]
    envelope, _, _ = row(us, "US", 2)
    put(us, "US", 2, envelope[: len(envelope) // 2])
    verify_fails(us, "FAULT US #2: envelope does not parse")


def test_derived_column_drift_is_a_fault_and_rebuild_repairs_it(stores):
    """Regression: verify did not compare derived columns with the signed payload (exports trust them)."""
    us, ru = stores
    verify_ok(us)
    sql(us, "UPDATE records SET tlp = 'CLEAR', audience = '[\"*\"]' WHERE author = 'RU' AND seq = 1")
    lines = verify_fails(us, "FAULT RU #1: stored tlp column differs")
    # one whole line even past 80 columns (regression: Rich wrapped stdout at 80 columns in a pipe)
    assert lines == ["FAULT RU #1: stored tlp column differs from the signed record (run `cbm store rebuild`?)"]
    r = us.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    verify_ok(us)


def test_damaged_database_file_is_exit_6_without_traceback(stores):
    """Regression: a damaged database page surfaced as a sqlite3.DatabaseError traceback."""
    us, ru = stores
    verify_ok(us)
    damage(us)
    r = us.cli("store", "verify")
    assert r.exit_code == 6, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("cbm: error: the store database") and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [("status",), ("store", "rebuild")])
def test_damaged_database_file_is_exit_6_for_every_command(stores, args):
    """Every command that reads the damaged pages says so (exit 6); one that never touches them (e.g.
    ``keys list``, which reads only the party tables) may still answer."""
    us, ru = stores
    damage(us)
    try:
        r = us.cli(*args)
    except sqlite3.DatabaseError:
        raise AssertionError(f"cbm {' '.join(args)}: traceback on a damaged database") from None
    assert r.exit_code == 6 and r.stdout == "" and r.stderr.startswith("cbm: error: ")
