"""Regression: `cbm bundle verify --deep` checked only the first signature naming a valid key, so a record whose
envelope carries a bad copy before the good signature (which ingest and `store verify` accept, as DSSE allows)
failed deep verification after being forwarded."""

from __future__ import annotations

import json
from pathlib import Path

from cbm.core import dsse
from cbm.store.db import Draft
from cbm.store.ingest import ingest
from tests.conftest import Party


def _bad_copy_first(envelope: bytes) -> bytes:
    doc = json.loads(envelope)
    good = doc["signatures"][0]
    sig = bytearray(dsse.unb64(good["sig"], "sig"))
    sig[3] ^= 0x01
    doc["signatures"] = [{"keyid": good["keyid"], "sig": dsse.b64(bytes(sig))}, good]
    return json.dumps(doc).encode()


def test_forwarded_record_with_a_bad_copy_beside_the_good_signature_passes_deep_verify(
        three: tuple[Party, Party, Party], tmp_path: Path):
    us, ru, cn = three
    with ru.open() as store:
        record = store.append_many([Draft("inquiry.notice", {"text": "for every peer"}, ("*",), "GREEN")])[0]
    with us.open() as store:
        ingest(store, [_bad_copy_first(record.envelope)])
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    for party in (us, ru):
        (keyring / f"{party.code}.card").write_bytes(party.card())
    bundle = tmp_path / "us-to-cn.cbm"
    # plain: a keyring cannot open a bundle encrypted to CN, and would check only its outer signature; the
    # second bundle: a third party's record goes one bundle late (docs/adr/0173)
    for _ in range(2):
        assert us.cli("bundle", "export", "--to", "CN", "-o", str(bundle), "--no-encrypt").exit_code == 0
    forwarded = [line for line in bundle.read_bytes().splitlines() if b"vnd.cbm.inquiry" in line]
    assert len(forwarded) == 1 and len(json.loads(forwarded[0])["signatures"]) == 2  # the bad copy travels
    r = us.cli("bundle", "verify", str(bundle), "--keyring", str(keyring), "--deep", "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    report = r.json()
    assert report["ok"] is True and report["contents_checked"] is True and "record-signatures" in report["checks"]
    assert {log["author"]: log["records"] for log in report["logs"]}["RU"] == 1
    # and the recipient, which checks the same way on import, lands it
    r = cn.cli("bundle", "import", str(bundle), "--json")
    assert r.exit_code == 0 and r.json()["landed"].get("RU") == 1, r.stdout + r.stderr
