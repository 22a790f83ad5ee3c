"""Hostile bundles whose sender signs them with its own, trusted key, and whose structure does not hold: a
manifest that breaks its own rules, a body that disagrees with the manifest it is signed under, an encrypted
bundle whose signed outer header or ciphertext does not hold together. A peer can sign anything, so each rule is
a refusal with its documented exit code, one error line, and RU's store exactly as before (no attachment left
behind either: docs/adr/0305); ``bundle verify --deep`` refuses it the same way.

The attacks of test_bundle_hostile.py alter bytes under a signature or forge one; these are all well signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cbm.bundle import encryption, signing
from cbm.bundle.format import BLOB_CHUNK, MAX_LOGS
from cbm.core import dsse
from cbm.core.canonical import canonical_bytes
from cbm.core.records import sign_record
from tests.bundle.forge import body_lines, join_lines, resign, signer, split
from tests.bundle.helpers import write
from tests.security.test_bundle_hostile import World, _make_world, refused

# name -> (exit code of import and of verify --deep, message fragment, how to build it)
Build = Callable[[World], bytes]
ATTACKS: dict[str, tuple[int, str, Build]] = {}


def attack(name: str, exit_code: int, message: str) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        ATTACKS[name] = (exit_code, message, build)
        return build
    return register


def _manifest(change: Callable[[dict[str, Any]], None]) -> Build:
    """The good bundle, its manifest changed by ``change`` and signed again by US."""
    return lambda w: resign(w.good, [signer(w.us)], change=change)


def _body(change: Callable[[list[bytes]], None]) -> Build:
    """The good bundle, its body lines changed by ``change``, under a manifest US signs again for that body."""
    def build(w: World) -> bytes:
        lines = body_lines(w.good)
        change(lines)
        return resign(w.good, [signer(w.us)], body=join_lines(lines))
    return build


def _first_log(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda doc: change(doc["logs"][0])


def _withheld_at(lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(b'{"withheld":'))


def _blob_header_at(lines: list[bytes]) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(b'{"blob":'))


# -- a manifest that breaks its own rules (exit 4) ------------------------------------------------------------

attack("manifest_with_an_unexpected_field", 4, "missing or unexpected fields")(
    _manifest(lambda doc: doc.update(note="trust me")))
attack("manifest_without_recipients", 4, "recipients must be a non-empty list")(
    _manifest(lambda doc: doc.update(recipients=[])))
attack("manifest_recipient_not_a_party_code", 4, "recipient is not a party code")(
    _manifest(lambda doc: doc.update(recipients=["RU", "../../etc"])))
attack("manifest_logs_not_a_list", 4, "logs, blobs and body have the wrong types")(
    _manifest(lambda doc: doc.update(logs={"US": 1})))
attack("manifest_log_entry_with_an_extra_key", 4, "a log entry is malformed")(
    _manifest(_first_log(lambda log: log.update(comment="x"))))
attack("manifest_log_starting_at_zero", 4, "'first' must be an integer in 1..")(
    _manifest(_first_log(lambda log: log.update(first=0))))
attack("manifest_log_count_given_as_true", 4, "'records' must be an integer")(
    _manifest(_first_log(lambda log: log.update(records=True))))
attack("manifest_log_counts_that_do_not_add_up", 4, "counts do not add up to its range")(
    _manifest(_first_log(lambda log: log.update(records=log["records"] + 1))))
attack("manifest_log_hash_not_hex", 4, "log last_hash is not a SHA-256 hex digest")(
    _manifest(_first_log(lambda log: log.update(last_hash="Z" * 64))))
attack("manifest_one_log_listed_twice", 4, "sorted by author, one entry each")(
    _manifest(lambda doc: doc.update(logs=doc["logs"] * 2)))
attack("manifest_blob_entry_with_a_name", 4, "a blob entry is malformed")(
    _manifest(lambda doc: doc["blobs"][0].update(name="../../.bashrc")))
attack("manifest_attachment_listed_twice", 4, "an attachment is listed twice")(
    _manifest(lambda doc: doc.update(blobs=doc["blobs"] * 2)))
attack("manifest_body_in_an_unknown_encoding", 4, "unknown encoding")(
    _manifest(lambda doc: doc["body"].update(encoding="zstd")))
attack("manifest_with_too_many_logs", 4, f"the limit is {MAX_LOGS}")(
    _manifest(lambda doc: doc.update(logs=doc["logs"] * (MAX_LOGS + 1))))


# -- a body that disagrees with the manifest it is signed under ----------------------------------------------

attack("log_ending_at_another_hash", 1, "does not end at the hash its manifest signs")(
    _manifest(_first_log(lambda log: log.update(last_hash="ab" * 32))))


@attack("log_counts_shifted_between_records_and_withheld", 4, "does not match the counts in its manifest")
def _(w: World) -> bytes:
    # the sum still covers the range, so every item is read in place; the split the manifest signs is false
    return resign(w.good, [signer(w.us)],
                  change=_first_log(lambda log: log.update(records=log["records"] - 1, withheld=log["withheld"] + 1)))


attack("withheld_line_without_its_hash", 4, "a withheld line is malformed")(
    _body(lambda lines: lines.__setitem__(
        _withheld_at(lines), json.dumps({"withheld": {"author": "US", "first": 3, "last": 3}}).encode())))
attack("bytes_after_the_last_item", 4, "bytes after its last item")(
    _body(lambda lines: lines.append(b'{"note":"one more thing"}')))
attack("attachment_header_naming_another_attachment", 4, "is not where the manifest says")(
    _body(lambda lines: lines.__setitem__(
        _blob_header_at(lines), json.dumps({"blob": {"sha256": "cd" * 32, "size": 1}}).encode())))
attack("attachment_line_not_base64", 4, "is not valid base64")(
    _body(lambda lines: lines.__setitem__(_blob_header_at(lines) + 1, b"not base64 at all!")))


@attack("attachment_in_chunks_of_another_size", 4, "has a chunk of the wrong size")
def _(w: World) -> bytes:
    lines = body_lines(w.good)
    at = _blob_header_at(lines)
    data = b"".join(base64.b64decode(line) for line in lines[at + 1:])
    half = BLOB_CHUNK // 2  # the same bytes, cut where the format does not cut them
    lines[at + 1:] = [base64.b64encode(data[i:i + half]) for i in range(0, len(data), half)]
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


@attack("record_under_the_payload_type_of_another_kind", 4, "payload type does not match its kind")
def _(w: World) -> bytes:
    # record 2 signed again by US, the same payload (so the same hash and chain) under another measure's type
    lines = body_lines(w.good)
    old = dsse.parse(lines[1])
    kind = json.loads(old.payload)["kind"]
    other = "hotline.message" if not kind.startswith("hotline.") else "inquiry.open"
    lines[1] = sign_record(old.payload, other, signer(w.us))
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


def _record_signature_flipped(w: World) -> bytes:
    """Record 2 as US signed it, one bit of its signature flipped: its payload, hash and chain link unchanged."""
    lines = body_lines(w.good)
    doc = json.loads(lines[1])
    sig = bytearray(dsse.unb64(doc["signatures"][0]["sig"], "sig"))
    sig[10] ^= 0x01
    doc["signatures"][0]["sig"] = dsse.b64(bytes(sig))
    lines[1] = json.dumps(doc, separators=(",", ":")).encode()
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


attack("record_whose_own_signature_does_not_verify", 1, "signature does not verify")(_record_signature_flipped)


def test_only_the_deep_check_reads_a_records_own_signature(shared_world: World, tmp_path: Path):
    """The quick check (manifest signature, hashes, chain links) passes a record whose own signature is bad, as
    documented; ``--deep`` refuses it (exit 1), naming the record, in its JSON report too."""
    path = tmp_path / "bad-record-signature.cbm"
    path.write_bytes(_record_signature_flipped(shared_world))
    quick = shared_world.ru.cli("bundle", "verify", str(path), "--json")
    assert quick.exit_code == 0 and "record-signatures" not in quick.json()["checks"], quick.stderr
    deep = shared_world.ru.cli("bundle", "verify", str(path), "--deep", "--json")
    assert deep.exit_code == 1, deep.stderr
    assert deep.json()["ok"] is False and "US record 2 has a signature that does not verify" in deep.stderr


# -- a compressed body that is signed as it is, but does not decompress ---------------------------------------

@attack("gzip_body_cut_short_under_a_fresh_signature", 1, "compressed bundle is truncated")
def _(w: World) -> bytes:
    data = w.bundle("--gzip")
    return resign(data, [signer(w.us)], body=split(data)[1][:-200])


@attack("gzip_body_that_is_not_gzip_under_a_fresh_signature", 1, "compressed bundle is damaged")
def _(w: World) -> bytes:
    data = w.bundle("--gzip")
    return resign(data, [signer(w.us)], body=b"PK\x03\x04 not gzip" * 10)


# -- an encrypted bundle whose signed outer header or ciphertext does not hold together ------------------------

def _encrypted(w: World, change: Callable[[dict[str, Any]], None] | None = None,
               cipher: Callable[[bytes], bytes] | None = None) -> bytes:
    """An encrypted bundle US -> RU, its outer header changed by ``change`` and/or its ciphertext by ``cipher``,
    the header signed again by US over the ciphertext as it now is."""
    data = w.bundle("--encrypt")
    rest = data[len(encryption.MAGIC):]
    line, body = rest.split(b"\n", 1)
    doc = json.loads(dsse.parse(line).payload)
    if cipher is not None:
        body = cipher(body)
        doc["body"] = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    if change is not None:
        change(doc)
    header = signing.sign_header(encryption.HEADER_TYPE, canonical_bytes(doc), [signer(w.us)])
    return encryption.MAGIC + header + b"\n" + body


def _keys_of(w: World, party: str) -> str:
    with w.us.open() as store:
        return store.conn.execute("SELECT lower(hex(enc_key)) FROM party_keys WHERE party = ? AND status = 'active'",
                                  (party,)).fetchone()[0]


attack("encrypted_under_an_unknown_cipher", 4, "unsupported encrypted bundle version or cipher")(
    lambda w: _encrypted(w, lambda doc: doc.update(cipher="rot13")))
attack("encrypted_header_naming_no_party", 4, "names invalid parties")(
    lambda w: _encrypted(w, lambda doc: doc.update(recipients=["RU", "no party"])))
attack("encrypted_header_with_bundle_number_zero", 4, "encrypted bundle header is malformed")(
    lambda w: _encrypted(w, lambda doc: doc.update(number=0)))
attack("encrypted_header_keys_not_a_list_of_entries", 4, "encrypted bundle header is malformed")(
    lambda w: _encrypted(w, lambda doc: doc.update(keys=[7])))


@attack("encrypted_with_a_sealed_key_that_does_not_open", 1, "sealed key does not open with our key")
def _(w: World) -> bytes:
    ours = _keys_of(w, "RU")

    def change(doc: dict[str, Any]) -> None:
        for entry in doc["keys"]:
            if entry["enc_key"] == ours:
                entry["sealed"] = dsse.b64(bytes(len(dsse.unb64(entry["sealed"], "sealed"))))
    return _encrypted(w, change)


@attack("encrypted_to_everyone_but_its_recipient", 4, "is not encrypted to any of RU's keys")
def _(w: World) -> bytes:
    ours = _keys_of(w, "RU")
    return _encrypted(w, lambda doc: doc.update(keys=[e for e in doc["keys"] if e["enc_key"] != ours]))


@attack("encrypted_chunk_of_an_impossible_length", 4, "an encrypted chunk has an impossible length")
def _(w: World) -> bytes:
    header = encryption._HEADERBYTES
    return _encrypted(w, cipher=lambda body: body[:header] + (2**31).to_bytes(4, "big") + body[header + 4:])


@attack("encrypted_with_bytes_after_the_final_chunk", 1, "bytes follow the final encrypted chunk")
def _(w: World) -> bytes:
    return _encrypted(w, cipher=lambda body: body + b"\x00" * 16)


@attack("encrypted_and_cut_before_the_final_chunk", 1, "truncated (no final chunk)")
def _(w: World) -> bytes:
    def cut(body: bytes) -> bytes:  # whole chunks only, the final one left off
        at, ends = encryption._HEADERBYTES, []
        while at < len(body):
            at += 4 + int.from_bytes(body[at:at + 4], "big")
            ends.append(at)
        assert len(ends) >= 1
        return body[:ends[-2]] if len(ends) >= 2 else body[:encryption._HEADERBYTES]
    return _encrypted(w, cipher=cut)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _make_world(tmp_path_factory.mktemp("hostile-structure"))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_a_well_signed_bundle_that_does_not_hold_together_is_refused(shared_world: World, name: str,
                                                                   tmp_path: Path):
    exit_code, message, build = ATTACKS[name]
    stderr, _ = refused(shared_world, tmp_path / f"{name}.cbm", build(shared_world), exit_code, exit_code)
    lines = stderr.splitlines()
    assert all(line.startswith("  hint: ") for line in lines[1:]), stderr  # one error line
    assert message in lines[0], stderr


def test_the_rewriting_itself_makes_bundles_that_import(tmp_path: Path):
    """The helpers change nothing by themselves: the good bundle re-signed by US as it is, plain, gzip'd and
    encrypted, imports at RU; so each refusal above is the attack's doing."""
    world = _make_world(tmp_path / "world")
    unchanged = [resign(world.good, [signer(world.us)]),
                 resign(world.bundle("--gzip"), [signer(world.us)]),
                 _encrypted(world, lambda doc: None), _encrypted(world, cipher=lambda body: body)]
    for i, data in enumerate(unchanged):
        path = tmp_path / f"ok{i}.cbm"
        path.write_bytes(data)
        r = world.ru.cli("bundle", "import", str(path))
        assert r.exit_code == 0, (i, r.stderr)



def _last_record_of(lines: list[bytes], author: str) -> int:
    """The position among ``lines`` of ``author``'s last record (its log's records come in seq order)."""
    return max(i for i, line in enumerate(lines)
               if line.startswith(b'{"payload"') and json.loads(dsse.parse(line).payload)["author"] == author)


def test_the_deep_check_refuses_a_record_signed_by_a_key_past_its_rotation(tmp_path: Path):
    """A record US wrote after rotating its key, signed instead with the key it rotated out (as whoever stole
    that key would sign it), in a bundle whose manifest US's current key signs: the import refuses it (exit 3),
    and so does ``bundle verify --deep``, the check CI runs (no test held it to this before)."""
    w = _make_world(tmp_path / "world")
    old = signer(w.us)
    assert w.us.cli("keys", "rotate", "-o", str(tmp_path / "us2.card")).exit_code == 0
    assert w.ru.cli("keys", "import", str(tmp_path / "us2.card")).exit_code == 0
    write(w.us, n=1)
    data = w.bundle()
    lines = body_lines(data)
    at = _last_record_of(lines, "US")
    payload = dsse.parse(lines[at]).payload
    lines[at] = sign_record(payload, json.loads(payload)["kind"], old)
    path = tmp_path / "old-key.cbm"
    imported, deep = refused(w, path, resign(data, [signer(w.us)], body=join_lines(lines)), 3, 3)
    assert "rotated out" in imported and "not valid for that seq (rotated)" in deep, (imported, deep)
    assert w.ru.cli("bundle", "verify", str(path)).exit_code == 0  # the quick check reads no record signature


def test_the_deep_check_refuses_a_forwarded_record_whose_author_we_revoked(tmp_path: Path):
    """US forwards CN's record to RU; RU revoked CN's key while it held none of CN's records (so the key is
    valid for no seq at RU): both the import and ``bundle verify --deep`` refuse the record (exit 3)."""
    w = _make_world(tmp_path / "world")
    write(w.cn, n=1)
    from_cn = tmp_path / "cn-us.cbm"
    assert w.cn.cli("bundle", "export", "--to", "US", "-o", str(from_cn)).exit_code == 0
    assert w.us.cli("bundle", "import", str(from_cn)).exit_code == 0
    for _ in range(2):  # a third party's records go one bundle late (docs/adr/0173)
        data = w.bundle()
    assert _last_record_of(body_lines(data), "CN") >= 0
    assert w.ru.cli("keys", "revoke", "--party", "CN", "--reason", "key stolen", "--yes").exit_code == 0
    imported, deep = refused(w, tmp_path / "forwarded.cbm", data, 3, 3)
    assert "revoked" in imported and "CN record 1" in deep and "revoked" in deep, (imported, deep)
