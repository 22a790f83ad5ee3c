"""Records, party cards, keys and errors at the library level: the checks a hostile peer runs into first."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nacl.pwhash
import pytest

from cbm.core import dsse, keys
from cbm.core.cards import check_party_code, make_card, parse_card, verify_cross_signature
from cbm.core.errors import (
    EXIT_CODES,
    BadSignature,
    CbmError,
    MalformedInput,
    NotFound,
    RevokedKey,
    StoreCorrupt,
    UnknownSigner,
    UsageError,
)
from cbm.core.keys import (
    KeyPair,
    fingerprint,
    is_protected,
    keyid,
    normalise_fingerprint,
    read_secret_keys,
    write_secret_keys,
)
from cbm.core.records import TrustedKey, build_payload, check_header, sign_record, verify_record
from cbm.core.sealed import open_sealed, seal

T = "2026-11-23T05:00:00Z"
US = KeyPair.from_seed(b"US", T)
RU = KeyPair.from_seed(b"RU", T)


class Keys:
    def __init__(self, *keys: TrustedKey) -> None:
        self.keys = {k.keyid: k for k in keys}

    def trusted_key(self, kid: str) -> TrustedKey | None:
        return self.keys.get(kid)


def trusted(pair: KeyPair, party: str, first: int = 1, last: int | None = None, status: str = "active",
            reason: str | None = None) -> TrustedKey:
    return TrustedKey(party, pair.keyid, pair.verify_key, pair.public_enc_key, first, last, status, reason)


def record(pair: KeyPair = RU, author: str = "RU", seq: int = 1, prev: str | None = None, **kw: object) -> bytes:
    fields: dict = {"created": T, "kind": "inquiry.open", "to": ["US"], "tlp": "AMBER", "body": {"text": "x"}}
    fields.update(kw)
    payload = build_payload(author=author, seq=seq, prev=prev, **fields)
    return sign_record(payload, str(fields["kind"]), pair)


# -- record headers ----------------------------------------------------------------------------------------


GOOD = dict(author="RU", seq=2, prev="a" * 64, created=T, kind="inquiry.open", to=["US"], tlp="AMBER")


@pytest.mark.parametrize("field, value", [
    ("author", "RU\n"), ("author", "ru"), ("author", "R"), ("author", 5),
    ("seq", 0), ("seq", True), ("seq", "2"),
    ("prev", None), ("prev", "A" * 64), ("prev", "a" * 63), ("prev", "a" * 64 + "\n"),
    ("created", "2026-11-23 05:00:00Z"), ("created", "2026-11-23T05:00:00+00:00"), ("created", T + "\n"),
    ("created", "٢٠٢٦-11-23T05:00:00Z"),  # regression: \d accepted digits of any script
    ("kind", "inquiry"), ("kind", "inquiry.open\n"), ("kind", "nuclear.launch"), ("kind", "Inquiry.open"),
    ("to", []), ("to", "US"), ("to", ["us"]), ("to", ["US\n"]),
    ("tlp", "WHITE"), ("tlp", "amber"),
])
def test_header_checks(field, value):
    check_header(**GOOD)  # the good case
    with pytest.raises(MalformedInput):
        check_header(**{**GOOD, field: value})


def test_first_record_has_no_prev():
    check_header(**{**GOOD, "seq": 1, "prev": None})
    with pytest.raises(MalformedInput, match="no prev"):
        check_header(**{**GOOD, "seq": 1})


def test_verify_record_key_validity_window():
    keys = Keys(trusted(RU, "RU", first=3, last=5, status="rotated"))
    assert verify_record(record(seq=4, prev="b" * 64), keys).seq == 4
    assert verify_record(record(seq=5, prev="b" * 64), keys).seq == 5
    with pytest.raises(RevokedKey, match="valid from seq 3"):
        verify_record(record(seq=2, prev="b" * 64), keys)
    with pytest.raises(RevokedKey, match="rotated out after seq 5"):
        verify_record(record(seq=6, prev="b" * 64), keys)
    revoked = Keys(trusted(RU, "RU", last=None, status="revoked", reason="stolen"))
    with pytest.raises(RevokedKey, match="stolen"):
        verify_record(record(), revoked)


def test_verify_record_order_signature_before_parse():
    keys = Keys(trusted(RU, "RU"))
    garbage = dsse.sign("application/vnd.cbm.inquiry.v1+json", b"not json", [(RU.keyid, US.signing)])
    with pytest.raises(BadSignature):  # the bad signature is reported, the garbage never parsed
        verify_record(garbage.to_json_bytes(), keys)
    with pytest.raises(UnknownSigner):
        verify_record(record(US, author="US"), keys)
    with pytest.raises(UnknownSigner, match="claims author US"):
        verify_record(record(RU, author="US"), keys)


def test_envelope_is_kept_verbatim():
    env = record()
    spaced = json.dumps(json.loads(env), indent=1).encode()
    r = verify_record(spaced, Keys(trusted(RU, "RU")))
    assert r.envelope == spaced and r.hash == verify_record(env, Keys(trusted(RU, "RU"))).hash


# -- party cards -------------------------------------------------------------------------------------------


def test_card_round_trip_and_cross_signature():
    card = make_card("RU", "RU-CERT", RU)
    assert parse_card(card.envelope) == card
    new = KeyPair.from_seed(b"RU 2", T)
    rotated = make_card("RU", "RU-CERT", new, serial=2, first_seq=9, previous=RU)
    verify_cross_signature(rotated, RU.verify_key)
    with pytest.raises(BadSignature):
        verify_cross_signature(make_card("RU", "RU-CERT", new, serial=2, first_seq=9), RU.verify_key)


def _card_with(**changes: object) -> bytes:
    card = make_card("RU", "RU-CERT", RU)
    doc = json.loads(dsse.parse(card.envelope).payload)
    doc.update(changes)
    payload = json.dumps(doc, sort_keys=True).encode()
    return dsse.sign("application/vnd.cbm.party-card.v1+json", payload, [(RU.keyid, RU.signing)]).to_json_bytes()


@pytest.mark.parametrize("changes", [
    {"party": "RU\n"},  # regression: `$` let a trailing newline through, a second "RU" in every listing
    {"party": "ru"}, {"type": "other"}, {"v": 2}, {"sign_key": "AAAA"}, {"serial": "x"},
    {"enc_key": 5},  # regression: a non-string key raised AttributeError (a traceback on `cbm keys import`)
])
def test_hostile_cards_are_malformed(changes):
    assert parse_card(_card_with()).party == "RU"
    with pytest.raises(MalformedInput):
        parse_card(_card_with(**changes))


@pytest.mark.parametrize("data", [b"", b" \n\t\r\n"])
def test_an_empty_card_says_it_is_empty(data):
    """Regression: an empty (or whitespace-only) card file was reported as "not valid JSON ... (char 0)"."""
    with pytest.raises(MalformedInput, match="^the party card is empty$"):
        parse_card(data)


def test_card_signed_by_another_key_is_unknown_signer():
    card = make_card("RU", "RU-CERT", RU)
    env = dsse.parse(card.envelope)
    with pytest.raises(UnknownSigner):
        parse_card(dsse.sign(env.payload_type, env.payload, [(US.keyid, US.signing)]).to_json_bytes())
    with pytest.raises(BadSignature):  # under the card's own key id: a bad signature
        parse_card(dsse.sign(env.payload_type, env.payload, [(RU.keyid, US.signing)]).to_json_bytes())


def test_party_codes():
    assert check_party_code("OSCE-SEC") == "OSCE-SEC"
    for bad in ("US\n", "U", "us", "-US", "A" * 17, "U S"):
        with pytest.raises(UsageError):
            check_party_code(bad)


# -- keys --------------------------------------------------------------------------------------------------


def test_fingerprints():
    fpr = fingerprint(RU.verify_key)
    assert len(fpr) == 49 and fpr.count(" ") == 9
    assert normalise_fingerprint(fpr.lower().replace(" ", ":")) == fpr.replace(" ", "")
    assert keyid(RU.verify_key) == fpr.replace(" ", "")[:16].lower() == RU.keyid
    with pytest.raises(UsageError):
        normalise_fingerprint(fpr[:-1])
    assert KeyPair.from_seed(b"RU", T).verify_key == RU.verify_key


def test_secret_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert (keys.KDF_OPSLIMIT, keys.KDF_MEMLIMIT) == (3, 64 * 1024 * 1024)  # the documented cost (ADR 0003)
    # the cost is stored in the file: a cheap one here keeps the test fast and still round-trips
    monkeypatch.setattr(keys, "KDF_OPSLIMIT", nacl.pwhash.argon2id.OPSLIMIT_MIN)
    monkeypatch.setattr(keys, "KDF_MEMLIMIT", nacl.pwhash.argon2id.MEMLIMIT_MIN)
    path = tmp_path / "secret.json"
    write_secret_keys(path, [US, RU], "correct horse")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and is_protected(path)
    assert [p.keyid for p in read_secret_keys(path, lambda: "correct horse")] == [US.keyid, RU.keyid]
    with pytest.raises(UsageError, match="wrong passphrase"):
        read_secret_keys(path, lambda: "wrong")
    path.write_text(path.read_text()[:-20])
    with pytest.raises(StoreCorrupt):
        read_secret_keys(path, lambda: "correct horse")
    write_secret_keys(path, [US], None)
    assert not is_protected(path)
    assert read_secret_keys(path, lambda: pytest.fail("no passphrase needed"))[0].keyid == US.keyid


# -- sealed bodies -----------------------------------------------------------------------------------------


def test_sealed_bodies_bind_sender_audience_and_context():
    doc = seal(b"secret", sender="US", sender_key=US.encryption,
               recipients={"US": US.public_enc_key, "RU": RU.public_enc_key}, context="hotline.message")
    assert open_sealed(doc, reader="RU", reader_key=RU.encryption, sender_public=US.public_enc_key,
                       context="hotline.message") == b"secret"
    assert open_sealed(doc, reader="US", reader_key=US.encryption, sender_public=US.public_enc_key,
                       context="hotline.message") == b"secret"
    with pytest.raises(BadSignature):
        open_sealed(doc, reader="RU", reader_key=RU.encryption, sender_public=US.public_enc_key, context="other")
    with pytest.raises(BadSignature):
        open_sealed({**doc, "sender": "CN"}, reader="RU", reader_key=RU.encryption,
                    sender_public=US.public_enc_key, context="hotline.message")
    with pytest.raises(NotFound):
        open_sealed(doc, reader="CN", reader_key=RU.encryption, sender_public=US.public_enc_key,
                    context="hotline.message")
    with pytest.raises(MalformedInput):
        open_sealed({"alg": 1}, reader="RU", reader_key=RU.encryption, sender_public=US.public_enc_key,
                    context="hotline.message")


# -- errors ------------------------------------------------------------------------------------------------


def test_every_error_class_carries_a_documented_exit_code():
    def subclasses(cls: type) -> list[type]:
        return [cls] + [s for sub in cls.__subclasses__() for s in subclasses(sub)]

    for cls in subclasses(CbmError):
        assert cls.exit_code in EXIT_CODES, cls


def test_diagnostics_escape_peer_text():
    """Regression: error messages quoting peer text (a revocation reason, a key id) went raw to the terminal."""
    e = RevokedKey("RU key revoked: \x1b[2J\nOK all good\x07", hint="ask \x1b]0;x\x07")
    text = e.diagnostics()
    assert "\x1b" not in text and "\x07" not in text
    assert text.splitlines() == ["RU key revoked: \\x1b[2J\\x0aOK all good\\x07", "  hint: ask \\x1b]0;x\\x07"]
    assert RevokedKey("plain", hint="fine").diagnostics() == "plain\n  hint: fine"
