"""Export and import between two real stores through real files: receipts, idempotence, hooks."""

from __future__ import annotations

from pathlib import Path

from cbm.store import index_receipts
from tests.bundle.helpers import export, hashes, import_, write


def test_round_trip_lands_records_and_writes_receipt(us_ru, tmp_path: Path):
    us, ru = us_ru
    made = write(us, n=3)
    r = export(us, "RU", tmp_path / "b1.cbm", "--json")
    doc = r.json()
    assert doc["schema"] == "cbm.bundle.export/1"
    assert doc["records"] == 3 and doc["number"] == 1 and doc["previous"] is None
    assert (tmp_path / "b1.cbm.minisig").is_file()
    r = import_(ru, tmp_path / "b1.cbm")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["landed"] == {"US": 3}
    assert doc["receipt"]
    assert hashes(ru, "US") == [m.hash for m in made]
    # the receipt travels back and US sees what RU acknowledged
    export(ru, "US", tmp_path / "b2.cbm")
    r = import_(us, tmp_path / "b2.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"RU": 1}
    with us.open() as store:
        seq, digest, _ = index_receipts.acknowledged(store.conn, "RU", "US")
    assert (seq, digest) == (3, made[-1].hash)


def test_reimport_is_a_noop_that_says_so(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2)
    export(us, "RU", tmp_path / "b.cbm")
    assert import_(ru, tmp_path / "b.cbm").exit_code == 0
    with ru.open() as store:
        before = store.counts()
    r = import_(ru, tmp_path / "b.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {} and r.json()["receipt"] is None
    assert "already imported" in r.stderr
    with ru.open() as store:
        assert store.counts() == before


def test_next_export_skips_acknowledged_records(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2)
    export(us, "RU", tmp_path / "1.cbm")
    import_(ru, tmp_path / "1.cbm")
    export(ru, "US", tmp_path / "2.cbm")
    import_(us, tmp_path / "2.cbm")
    write(us, n=1)
    doc = export(us, "RU", tmp_path / "3.cbm", "--json").json()
    assert doc["number"] == 2
    # RU holds US 1-2 (acknowledged); RU's bundle held only its receipt, which is not acknowledged for its own
    # sake (no receipt ping-pong), so US 3 is the new record; RU's own log stays home
    assert [(log["author"], log["first"], log["last"], log["records"]) for log in doc["logs"]] == [("US", 3, 3, 1)]


def test_stdout_and_stdin_transport(us_ru, tmp_path: Path):
    us, ru = us_ru
    write(us, n=2, tlp="CLEAR")  # TLP:CLEAR only: not encrypted by default
    r = us.cli("bundle", "export", "--to", "RU", "-o", "-")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("CBM-BUNDLE/1\n")
    r = ru.cli("bundle", "import", "-", "--json", input=r.stdout.encode())
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"US": 2}


def test_attachments_travel_once_and_all_resends_everything(us_ru, tmp_path: Path):
    import io

    us, ru = us_ru
    with us.open() as store:
        digest, _ = store.blobs.put(io.BytesIO(b"%PDF white paper " * 5000))
        store.append("whitepaper.publish", {"ref": "paper", "blobs": [digest]})
    doc = export(us, "RU", tmp_path / "1.cbm", "--json").json()
    assert doc["blobs"] == 1
    r = import_(ru, tmp_path / "1.cbm")
    assert r.json()["blobs"] == 1
    with ru.open() as store:
        assert b"".join(store.blobs.read(digest)) == b"%PDF white paper " * 5000
    export(ru, "US", tmp_path / "2.cbm")
    import_(us, tmp_path / "2.cbm")
    doc = export(us, "RU", tmp_path / "3.cbm", "--json").json()
    assert (doc["records"], doc["blobs"]) == (0, 0)  # acknowledged: nothing travels again
    doc = export(us, "RU", tmp_path / "4.cbm", "--all", "--json").json()
    assert (doc["records"], doc["blobs"]) == (1, 1)
    r = import_(ru, tmp_path / "4.cbm")
    assert r.exit_code == 0 and r.json()["landed"] == {} and r.json()["blobs"] == 0


def test_encrypted_armored_bundle_through_stdin(us_ru):
    us, ru = us_ru
    write(us, n=2)
    r = us.cli("bundle", "export", "--to", "RU", "--encrypt", "--armor", "-o", "-")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("-----BEGIN CBM BUNDLE-----")
    r = ru.cli("bundle", "import", "-", "--json", input=r.stdout.encode())
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"US": 2} and r.json()["layers"] == ["armor", "encrypted"]
