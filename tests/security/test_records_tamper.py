"""Tamper matrix over records landed from a peer (``cbm.store.ingest.ingest``).

Each case puts the good record beside the bad one: the good one lands, the bad one is refused with its exact
error class (whose ``exit_code`` is what the CLI returns, see tests/cli/test_contract.py) and the store is left
exactly as it was (equivocation evidence excepted, which is the point of keeping it).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from cbm.core import dsse
from cbm.core.canonical import canonical_bytes
from cbm.core.cards import CARD_TYPE, card_payload
from cbm.core.errors import (
    BadSignature,
    CbmError,
    ChainBroken,
    Equivocation,
    MalformedInput,
    RevokedKey,
    UnknownSigner,
)
from cbm.core.keys import KeyPair
from cbm.core.records import build_payload, payload_type_for, record_hash
from cbm.store.db import Draft, Store
from cbm.store.ingest import ingest
from cbm.store.trust import create_store, revoke_peer, rotate
from cbm.store.verify import verify_store
from tests.conftest import Party, introduce

CREATED = "2026-11-23T05:10:00Z"


def forge(pair: KeyPair, *, seq: int, prev: str | None, author: str = "RU", kind: str = "inquiry.open",
          body: dict | None = None, payload_type: str | None = None, to: tuple[str, ...] = ("US",),
          keyid: str | None = None) -> bytes:
    """A record signed with ``pair`` (perhaps the right key) carrying whatever we like."""
    payload = build_payload(author=author, seq=seq, prev=prev, created=CREATED, kind=kind, to=to, tlp="AMBER",
                            body=body if body is not None else {"text": f"forged {seq}"})
    env = dsse.sign(payload_type or payload_type_for(kind), payload, [(keyid or pair.keyid, pair.signing)])
    return env.to_json_bytes()


def edit(envelope: bytes, change: Callable[[dict], None]) -> bytes:
    doc = json.loads(envelope)
    change(doc)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def flip_b64(text: str, index: int) -> str:
    raw = bytearray(dsse.unb64(text, "x"))
    raw[index % len(raw)] ^= 0x01
    return dsse.b64(bytes(raw))


def snapshot(store: Store) -> dict[str, list[tuple]]:
    tables = ("records", "held", "withheld", "equivocations", "party_keys", "parties")
    return {t: store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """US trusts RU; RU has written three records. Built once, copied for each test (store set-up is fsync-bound)."""
    base = tmp_path_factory.mktemp("world")
    us, ru = Party("US", base / "US"), Party("RU", base / "RU")
    create_store(us.root, "US", "US-CERT", None)
    create_store(ru.root, "RU", "RU-CERT", None)
    introduce(us, ru)
    with ru.open() as store:
        store.append_many([Draft("inquiry.open", {"text": f"real {i + 1}", "ref": f"INQ-{i + 1}"}, ("US",), "AMBER")
                           for i in range(3)])
    return base


@pytest.fixture
def world(template: Path, tmp_path: Path):
    """A fresh copy of the template, in which US holds RU's first two records."""
    shutil.copytree(template, tmp_path / "stores")
    us, ru = Party("US", tmp_path / "stores" / "US"), Party("RU", tmp_path / "stores" / "RU")
    with ru.open() as ru_store:
        envelopes = [r.envelope for r in ru_store.log("RU")]
        pair = ru_store.signer()
    store = us.open()
    ingest(store, envelopes[:2])
    yield us, ru, store, envelopes, pair
    store.close()


def refused(store: Store, bad: list[bytes], error: type[CbmError], exit_code: int,
            match: str | None = None) -> CbmError:
    before = snapshot(store)
    with pytest.raises(error, match=match) as info:
        ingest(store, bad)
    assert type(info.value) is error  # the exact class, not just a relative
    assert info.value.exit_code == exit_code
    if error is not Equivocation:
        assert snapshot(store) == before, "a refused import must leave the store unchanged"
    return info.value


def lands(store: Store, good: list[bytes]) -> None:
    report = ingest(store, good)
    assert len(report.landed) == len(good)
    assert verify_store(store).ok


def test_good_records_land(world):
    us, ru, store, envelopes, pair = world
    lands(store, [envelopes[2]])
    assert [r.seq for r in store.log("RU")] == [1, 2, 3]
    assert ingest(store, envelopes).duplicates == 3  # idempotent


def test_flipped_payload_byte(world):
    us, ru, store, envelopes, pair = world
    for i in (0, 10, 50, -1):
        bad = edit(envelopes[2], lambda d, i=i: d.update(payload=flip_b64(d["payload"], i)))
        refused(store, [bad], BadSignature, 1)
    lands(store, [envelopes[2]])


def test_flipped_signature(world):
    us, ru, store, envelopes, pair = world
    for i in (0, 31, 63):
        bad = edit(envelopes[2], lambda d, i=i: d["signatures"][0].update(sig=flip_b64(d["signatures"][0]["sig"], i)))
        refused(store, [bad], BadSignature, 1)
    lands(store, [envelopes[2]])


def test_wrong_payload_type(world):
    us, ru, store, envelopes, pair = world
    # changed without re-signing: PAE covers the type, so the signature fails
    swapped = edit(envelopes[2], lambda d: d.update(payloadType="application/vnd.cbm.hotline.v1+json"))
    refused(store, [swapped], BadSignature, 1)
    # re-signed by RU under another measure's type: the signature holds, the type check catches it
    head = store.head("RU")
    assert head is not None
    resigned = forge(pair, seq=3, prev=head[1], payload_type="application/vnd.cbm.hotline.v1+json")
    refused(store, [resigned], MalformedInput, 4, "does not match kind")
    foreign = forge(pair, seq=3, prev=head[1], payload_type="application/vnd.in-toto+json")
    refused(store, [foreign], MalformedInput, 4, "unexpected payload type")
    lands(store, [forge(pair, seq=3, prev=head[1])])


def test_unknown_key(world):
    us, ru, store, envelopes, pair = world
    stranger = KeyPair.from_seed(b"stranger", CREATED)
    head = store.head("RU")
    assert head is not None
    refused(store, [forge(stranger, seq=3, prev=head[1])], UnknownSigner, 3)
    # a stranger's signature under RU's key id is a bad signature, not an unknown signer
    refused(store, [forge(stranger, seq=3, prev=head[1], keyid=pair.keyid)], BadSignature, 1)
    # and no signature at all is a missing signature (exit 1)
    refused(store, [edit(envelopes[2], lambda d: d.update(signatures=[]))], BadSignature, 1, "no signature")
    lands(store, [envelopes[2]])


def test_revoked_key(world):
    us, ru, store, envelopes, pair = world
    assert revoke_peer(store, "RU", "compromise reported by phone") == 2
    store.forget_cached_keys()
    refused(store, [envelopes[2]], RevokedKey, 3, "revoked")
    # records up to the revocation point stay valid and still verify
    assert ingest(store, envelopes[:2]).duplicates == 2
    assert verify_store(store).ok


def test_rotated_out_key(world, tmp_path: Path):
    us, ru, store, envelopes, pair = world
    ingest(store, [envelopes[2]])
    with ru.open() as ru_store:
        rotate(ru_store)  # seq 4: keys.rotate signed by the old key; new key signs from seq 5
        rotation = next(ru_store.log("RU", 4)).envelope
        new_pair = ru_store.signer()
        ru_store.append("inquiry.open", {"text": "after rotation"}, to=("US",))
        after = next(ru_store.log("RU", 5)).envelope
    rotation_hash = record_hash(dsse.parse(rotation).payload)
    old_after = forge(pair, seq=5, prev=rotation_hash)
    assert new_pair.keyid != pair.keyid
    ingest(store, [rotation])  # US learns the new key from RU's log
    refused(store, [old_after], RevokedKey, 3, "rotated out after seq 4")
    lands(store, [after])


def test_duplicate_signature_counts_once_and_keeps_the_id(world):
    us, ru, store, envelopes, pair = world
    doubled = edit(envelopes[2], lambda d: d.update(signatures=d["signatures"] * 2))
    # a duplicated signature is no second signer ...
    with pytest.raises(BadSignature, match="1 of 2"):
        dsse.verify(dsse.parse(doubled), {pair.keyid: pair.signing.verify_key}, threshold=2)
    # ... and a record carrying one is the same record (same id), landing once
    report = ingest(store, [doubled])
    assert [r.hash for r in report.landed] == [record_hash(dsse.parse(envelopes[2]).payload)]
    assert ingest(store, [envelopes[2]]).duplicates == 1
    assert verify_store(store).ok


def test_bad_copy_beside_a_good_signature(world):
    """Regression: ingest accepted a record whose envelope carried a bad signature before the good one under
    the same key id, but `store verify` checked only the first and reported a fault forever after."""
    us, ru, store, envelopes, pair = world

    def bad_then_good(d: dict) -> None:
        good = d["signatures"][0]
        d["signatures"] = [{"keyid": good["keyid"], "sig": flip_b64(good["sig"], 3)}, good]

    lands(store, [edit(envelopes[2], bad_then_good)])  # lands() also asserts verify_store(store).ok
    only_bad = edit(envelopes[2], lambda d: d["signatures"][0].update(sig=flip_b64(d["signatures"][0]["sig"], 3)))
    refused(store, [only_bad], BadSignature, 1)  # verified before "we hold that id" is even asked


def test_resigned_with_the_right_key_semantic_checks(world):
    us, ru, store, envelopes, pair = world
    head = store.head("RU")
    assert head is not None
    # RU's own key signing a record that claims to be US's
    refused(store, [forge(pair, seq=3, prev=head[1], author="US")], UnknownSigner, 3, "claims author US")
    # well signed but structurally wrong payloads
    payload = b'{"author":"RU","seq":3,"v":1}'
    partial = dsse.sign(payload_type_for("inquiry.open"), payload, [(pair.keyid, pair.signing)]).to_json_bytes()
    refused(store, [partial], MalformedInput, 4, "missing or unexpected fields")
    not_json = dsse.sign(payload_type_for("inquiry.open"), b"\xff{", [(pair.keyid, pair.signing)]).to_json_bytes()
    refused(store, [not_json], MalformedInput, 4)
    lands(store, [forge(pair, seq=3, prev=head[1])])


def test_broken_prev(world):
    us, ru, store, envelopes, pair = world
    refused(store, [forge(pair, seq=3, prev="ab" * 32)], ChainBroken, 1, "does not link")
    # a batch whose second record does not link to its first: nothing of the batch lands
    head = store.head("RU")
    assert head is not None
    good3 = forge(pair, seq=3, prev=head[1])
    refused(store, [good3, forge(pair, seq=4, prev=head[1])], ChainBroken, 1)
    lands(store, [good3, forge(pair, seq=4, prev=record_hash(dsse.parse(good3).payload))])


def test_duplicate_seq_is_equivocation_and_evidence_is_kept(world):
    us, ru, store, envelopes, pair = world
    first = store.head("RU")
    assert first is not None
    twin = forge(pair, seq=2, prev=record_hash(dsse.parse(envelopes[0]).payload), body={"text": "other story"})
    before = snapshot(store)
    refused(store, [twin], Equivocation, 1, "two different records with seq 2")
    after = snapshot(store)
    assert after["records"] == before["records"]  # the held record is not replaced
    rows = store.conn.execute("SELECT author, seq, hash, envelope FROM equivocations").fetchall()
    assert rows == [("RU", 2, record_hash(dsse.parse(twin).payload), twin)]
    # refusing it again keeps one copy; the store still verifies and reports the evidence
    refused(store, [twin], Equivocation, 1)
    assert store.counts()["equivocations"] == 1
    result = verify_store(store)
    assert result.ok and result.equivocations == 1
    status = us.cli("status", "--json").json()
    assert any("equivocat" in a["text"] for a in status["attention"])
    # the good record after the equivocation attempt still lands
    lands(store, [envelopes[2]])


def test_equivocation_within_one_batch(world):
    us, ru, store, envelopes, pair = world
    head = store.head("RU")
    assert head is not None
    a = forge(pair, seq=3, prev=head[1], body={"text": "a"})
    b = forge(pair, seq=3, prev=head[1], body={"text": "b"})
    refused(store, [a, b], Equivocation, 1)
    assert store.conn.execute("SELECT COUNT(*) FROM records WHERE author = 'RU'").fetchone()[0] == 2


@pytest.mark.parametrize("cut", [1, 40, 0.5, -2, -1])
def test_truncated_envelope(world, cut):
    us, ru, store, envelopes, pair = world
    env = envelopes[2]
    n = int(len(env) * cut) if isinstance(cut, float) else cut % len(env)
    refused(store, [env[:n]], MalformedInput, 4)
    lands(store, [env])


def test_gap_is_held_not_landed_then_released(world):
    us, ru, store, envelopes, pair = world
    with ru.open() as ru_store:
        ru_store.append("inquiry.open", {"text": "four"}, to=("US",))
        four = next(ru_store.log("RU", 4)).envelope
    report = ingest(store, [four])
    assert report.held == [("RU", 4)] and report.missing == {"RU": (3, 3)}
    assert verify_store(store).ok and verify_store(store).held == 1
    report = ingest(store, [envelopes[2]])
    assert [r.seq for r in report.landed] == [3, 4] and not report.missing


def test_peer_revocation_record_cannot_revoke_another_partys_key(three):
    """Regression: a ``keys.revoke`` record from RU naming CN's key id revoked CN's key in US's store."""
    us, ru, cn = three
    with cn.open() as cn_store:
        cn_keyid = cn_store.signer().keyid
    with ru.open() as ru_store:
        ru_store.append("keys.revoke", {"keyid": cn_keyid, "reason": "RU says so"}, to=("*",), tlp="CLEAR")
        hostile = [r.envelope for r in ru_store.log("RU")]
    with us.open() as store:
        ingest(store, hostile)
        assert store.trusted_key(cn_keyid) is not None
        assert store.trusted_key(cn_keyid).status == "active"  # type: ignore[union-attr]
        conn = sqlite3.connect(us.root / "store.sqlite")
        assert conn.execute("SELECT status FROM party_keys WHERE party = 'CN'").fetchall() == [("active",)]
        conn.close()


def _rotation_card(party: str, new: KeyPair, signers: list[KeyPair], supersedes: str) -> str:
    """A card for ``new`` naming ``party`` and ``supersedes``, signed by each of ``signers``."""
    payload = canonical_bytes(card_payload(party, party, 2, 4, new.verify_key, new.public_enc_key, CREATED,
                                           supersedes))
    return dsse.sign(CARD_TYPE, payload, [(k.keyid, k.signing) for k in signers]).to_json_bytes().decode("ascii")


def test_a_rotation_record_brings_only_its_authors_next_key(world):
    """RU signs ``keys.rotate`` records a peer's own tool could write: a new card that names CN (RU would then
    hold a key that signs as CN), or RU's own new card claiming to supersede a key other than the one that signed
    the rotation (cross-signed by RU's real key all the same). Both are refused and US's keys stay as they were;
    RU's real third record then lands."""
    us, ru, store, envelopes, pair = world
    head = store.head("RU")
    assert head is not None
    new, other = KeyPair.generate(CREATED), KeyPair.generate(CREATED)
    for card, what in ((_rotation_card("CN", new, [new, pair], pair.keyid), "inconsistent card"),
                       (_rotation_card("RU", new, [new, pair, other], other.keyid), "does not supersede its signer")):
        rotation = forge(pair, seq=3, prev=head[1], kind="keys.rotate", body={"card": card, "keyid": pair.keyid},
                         to=("*",))
        refused(store, [rotation], MalformedInput, 4, match=what)
        assert store.trusted_key(new.keyid) is None
        assert [(k.party, k.status) for k in store.party_keys("CN")] == []
    lands(store, [envelopes[2]])


@pytest.mark.parametrize("body", [{}, {"card": 5}, {"card": "ключ"}, {"card": "{}"}])
def test_hostile_rotation_record_is_refused_cleanly(world, body):
    """Regression: a signed ``keys.rotate`` without a card raised KeyError (a traceback) during import."""
    us, ru, store, envelopes, pair = world
    head = store.head("RU")
    assert head is not None
    refused(store, [forge(pair, seq=3, prev=head[1], kind="keys.rotate", body=body, to=("*",))], MalformedInput, 4)
    lands(store, [envelopes[2]])


def test_a_held_fork_is_kept_as_evidence_and_does_not_block_the_log(world):
    """Regression: a held record that did not link once its gap closed raised ChainBroken, and since the held
    row survives the refusal, every later import closing that gap was refused too, for good."""
    us, ru, store, envelopes, pair = world
    fork = forge(pair, seq=4, prev="ef" * 32, body={"text": "a record after some other RU #3"})
    assert ingest(store, [fork]).held == [("RU", 4)]
    real4 = forge(pair, seq=4, prev=record_hash(dsse.parse(envelopes[2]).payload))
    report = ingest(store, [envelopes[2], real4])
    assert [r.seq for r in report.landed] == [3, 4] and not report.held and not report.missing
    rows = store.conn.execute("SELECT author, seq, hash FROM equivocations").fetchall()
    assert rows == [("RU", 4, record_hash(dsse.parse(fork).payload))]
    result = verify_store(store)
    assert result.ok and result.equivocations == 1 and result.held == 0
