"""Golden vectors: party cards and records from fixed seeds and a fixed clock, compared byte for byte.

If a change to cbm alters any of these bytes, old cards and records no longer mean what they meant: that is
a format change and needs a new version, not a quiet regeneration. To regenerate after a deliberate format
change (and say so in the commit and an ADR):

    CBM_REGEN_GOLDEN=1 .venv/bin/pytest tests/golden
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cbm.core.canonical import canonical_bytes
from cbm.core.cards import PartyCard, make_card, parse_card
from cbm.core.errors import RevokedKey
from cbm.core.keys import KeyPair
from cbm.core.records import TrustedKey, build_payload, record_hash, sign_record, verify_record

VECTORS = Path(__file__).parent / "vectors"
REGEN = os.environ.get("CBM_REGEN_GOLDEN") == "1"
T0 = "2026-11-23T05:00:00Z"

US1 = KeyPair.from_seed(b"cbm golden US 1", T0)
US2 = KeyPair.from_seed(b"cbm golden US 2", "2026-11-23T06:00:00Z")
RU1 = KeyPair.from_seed(b"cbm golden RU 1", T0)


def _cards() -> dict[str, PartyCard]:
    return {
        "us.card": make_card("US", "US-CERT", US1),
        "ru.card": make_card("RU", "НКЦКИ", RU1),  # a non-ASCII display name
        "us-rotated.card": make_card("US", "US-CERT", US2, serial=2, first_seq=4, previous=US1),
    }


def _records(cards: dict[str, PartyCard]) -> dict[str, bytes]:
    """A short US log (with a key rotation at seq 3) and one RU record, each record's bytes by name."""
    out: dict[str, bytes] = {}
    prev: str | None = None
    us_log = [
        ("inquiry.open", US1, ["RU"], "AMBER", "2026-11-23T05:01:00Z",
         {"ref": "INQ-1", "subject": "Scanning from 203.0.113.7", "text": "Просим помощи; “quoted”"}),
        ("bundle.receipt", US1, ["RU"], "GREEN", "2026-11-23T05:02:00Z",
         {"logs": {"RU": {"hash": "0" * 64, "seq": 1}}}),
        ("keys.rotate", US1, ["*"], "CLEAR", "2026-11-23T06:00:00Z",
         {"card": cards["us-rotated.card"].envelope.decode("ascii"), "keyid": US1.keyid}),
        ("hotline.message", US2, ["RU"], "RED", "2026-11-23T06:05:00Z",
         {"ref": "HL-1", "text": "line test", "n": 9007199254740991, "ok": True, "none": None}),
    ]
    for seq, (kind, pair, to, tlp, created, body) in enumerate(us_log, 1):
        payload = build_payload(author="US", seq=seq, prev=prev, created=created, kind=kind, to=to, tlp=tlp,
                                body=body)
        out[f"us-{seq}.dsse"] = sign_record(payload, kind, pair)
        prev = record_hash(payload)
    payload = build_payload(author="RU", seq=1, prev=None, created="2026-11-23T05:03:00Z",
                            kind="inquiry.reply", to=["US"], tlp="AMBER", body={"ref": "INQ-1", "text": "получено"})
    out["ru-1.dsse"] = sign_record(payload, "inquiry.reply", RU1)
    return out


class _Keys:
    """Trust as a store holding both cards (US rotated at seq 3) would have it."""

    def __init__(self) -> None:
        self.keys = {
            US1.keyid: TrustedKey("US", US1.keyid, US1.verify_key, US1.public_enc_key, 1, 3, "rotated"),
            US2.keyid: TrustedKey("US", US2.keyid, US2.verify_key, US2.public_enc_key, 4, None, "active"),
            RU1.keyid: TrustedKey("RU", RU1.keyid, RU1.verify_key, RU1.public_enc_key, 1, None, "active"),
        }

    def trusted_key(self, keyid: str) -> TrustedKey | None:
        return self.keys.get(keyid)


def _generate() -> dict[str, bytes]:
    cards = _cards()
    files = {name: card.envelope + b"\n" for name, card in cards.items()}
    records = _records(cards)
    files.update(records)
    summary = {
        "cards": {name: {"party": c.party, "keyid": c.keyid, "fingerprint": c.fingerprint}
                  for name, c in cards.items()},
        "records": {name: {"hash": r.hash, "prev": r.prev, "keyid": r.keyid}
                    for name, r in ((n, verify_record(b, _Keys())) for n, b in records.items())},
    }
    files["summary.json"] = canonical_bytes(summary) + b"\n"
    return files


GENERATED = _generate()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_golden_bytes(name):
    path = VECTORS / name
    if REGEN:
        VECTORS.mkdir(exist_ok=True)
        path.write_bytes(GENERATED[name])
    assert path.read_bytes() == GENERATED[name], f"{name} changed: a format change (see module docstring)"


def test_no_stale_golden_files():
    assert sorted(p.name for p in VECTORS.iterdir()) == sorted(GENERATED)


def test_committed_cards_still_parse_and_verify():
    for name in ("us.card", "ru.card", "us-rotated.card"):
        card = parse_card((VECTORS / name).read_bytes())
        assert card.envelope + b"\n" == (VECTORS / name).read_bytes()
    summary = json.loads((VECTORS / "summary.json").read_bytes())
    assert summary["cards"]["us.card"]["fingerprint"] == parse_card((VECTORS / "us.card").read_bytes()).fingerprint
    assert parse_card((VECTORS / "ru.card").read_bytes()).name == "НКЦКИ"


def test_committed_records_still_verify_and_chain():
    summary = json.loads((VECTORS / "summary.json").read_bytes())
    prev = None
    for seq in range(1, 5):
        name = f"us-{seq}.dsse"
        record = verify_record((VECTORS / name).read_bytes(), _Keys())
        assert (record.seq, record.prev, record.hash) == (seq, prev, summary["records"][name]["hash"])
        assert record.envelope == (VECTORS / name).read_bytes()  # kept verbatim
        prev = record.hash
    assert verify_record((VECTORS / "ru-1.dsse").read_bytes(), _Keys()).body["text"] == "получено"


def test_golden_rotated_out_key_cannot_sign_after_rotation():
    # the good case: US1 signed seq 3 (the rotation itself); the bad: US1 signing seq 4
    assert verify_record((VECTORS / "us-3.dsse").read_bytes(), _Keys()).keyid == US1.keyid
    payload = build_payload(author="US", seq=4, prev=verify_record((VECTORS / "us-3.dsse").read_bytes(),
                                                                    _Keys()).hash,
                            created="2026-11-23T06:05:00Z", kind="hotline.message", to=["RU"], tlp="RED",
                            body={"text": "forged with the old key"})
    with pytest.raises(RevokedKey, match="rotated out after seq 3"):
        verify_record(sign_record(payload, "hotline.message", US1), _Keys())
