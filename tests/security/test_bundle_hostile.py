"""Hostile bundles, one named attack each: refused with the documented exit code, a one-line error, and the
store exactly as before (equivocation evidence excepted). The good bundle beside them imports cleanly.

Bundles that are well formed but carry a sender's false claim about a third party's log (or ours) are not
refused: each such attack is named in test_bundle_third_party_claims.py (the claim is held against its sender)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cbm.bundle.format import MAX_MANIFEST_LINE, MAX_RECORDS
from cbm.core.keys import KeyPair
from cbm.core.records import build_payload, sign_record
from tests.bundle.forge import assemble, body_lines, join_lines, resign, signer, snapshot, split
from tests.bundle.helpers import write
from tests.conftest import Party, introduce


@dataclass
class World:
    us: Party
    ru: Party
    cn: Party
    tmp: Path
    good: bytes  # a plain bundle US -> RU: 3 records (one with an attachment), 1 withheld (with another)

    def bundle(self, *flags: str, to: str = "RU", sender: Party | None = None) -> bytes:
        """A bundle file's bytes; plain unless ``flags`` ask for encryption (the attacks edit plain bytes)."""
        path = self.tmp / f"b{len(list(self.tmp.iterdir()))}.cbm"
        if "--encrypt" not in flags:
            flags += ("--no-encrypt",)
        r = (sender or self.us).cli("bundle", "export", "--to", to, "-o", str(path), "--all", *flags)
        assert r.exit_code == 0, r.stderr
        return path.read_bytes()


RED_ATTACHMENT = b"for CN's eyes only " * 100


def _make_world(root: Path) -> World:
    from cbm.store.trust import create_store

    parties = []
    for code in ("US", "RU", "CN"):
        create_store(root / code, code, f"{code}-CERT", None)
        parties.append(Party(code, root / code))
    introduce(*parties)
    us, ru, cn = parties
    write(us, n=2)
    with us.open() as store:  # withheld from RU, and so is its attachment
        digest, _ = store.blobs.put(io.BytesIO(RED_ATTACHMENT))
        store.append("whitepaper.publish", {"ref": "paper-red", "blobs": [digest]}, to=["CN"], tlp="RED")
    with us.open() as store:
        digest, _ = store.blobs.put(io.BytesIO(b"attachment " * 10_000))
        store.append("whitepaper.publish", {"ref": "paper-1", "blobs": [digest]})
    out = root / "bundles"
    out.mkdir()
    w = World(us, ru, cn, out, b"")
    w.good = w.bundle()
    return w


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """One world for every refused attack: a refused import changes nothing, so RU's store can be shared
    (each test still compares RU's store before and after)."""
    return _make_world(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return _make_world(tmp_path / "world")


ATTACKS: dict[str, tuple[int, str, Callable[[World], bytes]]] = {}


def attack(name: str, exit_code: int, message: str) -> Callable[[Callable[[World], bytes]], Callable[[World], bytes]]:
    def register(build: Callable[[World], bytes]) -> Callable[[World], bytes]:
        ATTACKS[name] = (exit_code, message, build)
        return build
    return register


# -- the bytes were altered ---------------------------------------------------------------------------------

@attack("flipped_byte_in_a_record", 1, "altered")
def _(w: World) -> bytes:
    data = bytearray(w.good)
    data[len(data) - len(split(w.good)[1]) + 40] ^= 0x01
    return bytes(data)


@attack("truncated_body", 1, "truncated")
def _(w: World) -> bytes:
    return w.good[: len(w.good) - 500]


@attack("truncated_in_manifest", 1, "truncated")
def _(w: World) -> bytes:
    return w.good[:100]


@attack("empty_file", 4, "empty: not a cbm bundle")
def _(w: World) -> bytes:
    return b""


@attack("whitespace_only_file", 4, "not a cbm bundle")
def _(w: World) -> bytes:
    return b"  \n\n"


@attack("trailing_garbage", 1, "longer than")
def _(w: World) -> bytes:
    return w.good + b'{"extra":1}\n'


@attack("manifest_changed_without_resigning", 1, "signature")
def _(w: World) -> bytes:
    line, body = split(w.good)
    import json

    from cbm.core import dsse
    env = json.loads(line)
    payload = json.loads(dsse.unb64(env["payload"], "p"))
    payload["number"] = 99
    env["payload"] = dsse.b64(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode())
    return assemble(json.dumps(env, separators=(",", ":")).encode(), body)


@attack("signature_bytes_altered", 1, "signature")
def _(w: World) -> bytes:
    line, body = split(w.good)
    import json
    env = json.loads(line)
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[0] ^= 0xFF
    env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    return assemble(json.dumps(env, separators=(",", ":")).encode(), body)


@attack("signature_missing", 1, "not signed")
def _(w: World) -> bytes:
    line, body = split(w.good)
    import json
    env = json.loads(line)
    env["signatures"] = []
    return assemble(json.dumps(env, separators=(",", ":")).encode(), body)


@attack("encrypted_and_truncated", 1, "truncated")
def _(w: World) -> bytes:
    data = w.bundle("--encrypt")
    return data[:-100]


@attack("encrypted_and_flipped", 1, "altered")
def _(w: World) -> bytes:
    data = bytearray(w.bundle("--encrypt"))
    data[-50] ^= 0x80
    return bytes(data)


@attack("armor_without_end_line", 1, "truncated")
def _(w: World) -> bytes:
    data = w.bundle("--armor")
    return data[: data.rindex(b"-----END")]


@attack("gzip_body_flipped", 1, "altered")
def _(w: World) -> bytes:
    data = bytearray(w.bundle("--gzip"))
    data[-30] ^= 0x04
    return bytes(data)


# -- signed by someone we do not trust ----------------------------------------------------------------------

@attack("resigned_by_an_unknown_key", 3, "no trusted key")
def _(w: World) -> bytes:
    return resign(w.good, [KeyPair.generate("2026-01-01T00:00:00Z")])


@attack("resigned_by_another_trusted_party", 3, "claims sender US")
def _(w: World) -> bytes:
    return resign(w.good, [signer(w.cn)])


# -- well signed by the sender, but not acceptable --------------------------------------------------------

@attack("addressed_to_another_party", 4, "not for RU")
def _(w: World) -> bytes:
    return w.bundle(to="CN")


@attack("our_own_bundle", 4, "made by us")
def _(w: World) -> bytes:
    return w.bundle(to="US", sender=w.ru)


@attack("malformed_json_line", 4, "not valid JSON")
def _(w: World) -> bytes:
    lines = body_lines(w.good)
    lines[0] = b'{"payload": "unterminated'
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


@attack("oversized_manifest_line", 4, "limit")
def _(w: World) -> bytes:
    return b"CBM-BUNDLE/1\n" + b"{" + b" " * (MAX_MANIFEST_LINE + 10) + b"}\n"


@attack("oversized_record_count", 4, "more than")
def _(w: World) -> bytes:
    def change(doc: dict) -> None:
        doc["logs"][0]["records"] = MAX_RECORDS + 1
        doc["logs"][0]["last"] = doc["logs"][0]["first"] + MAX_RECORDS + doc["logs"][0]["withheld"]
    return resign(w.good, [signer(w.us)], change=change)


@attack("wrong_manifest_payload_type", 4, "payload type")
def _(w: World) -> bytes:
    return resign(w.good, [signer(w.us)], payload_type="application/vnd.cbm.inquiry.v1+json")


@attack("future_format_version", 4, "not supported")
def _(w: World) -> bytes:
    return resign(w.good, [signer(w.us)], change=lambda doc: doc.update(v=2))


@attack("not_a_bundle", 4, "not a cbm bundle")
def _(w: World) -> bytes:
    return b"Dear colleague, please find attached...\n"


@attack("manifest_not_json", 4, "not valid JSON")
def _(w: World) -> bytes:
    return b"CBM-BUNDLE/1\n{{{{\n"


# -- well signed, but the content does not hold together ---------------------------------------------------

@attack("record_removed", 1, "out of place")
def _(w: World) -> bytes:
    lines = body_lines(w.good)
    del lines[1]

    def change(doc: dict) -> None:
        doc["logs"][0]["records"] -= 1
        doc["logs"][0]["last"] -= 1
    return resign(w.good, [signer(w.us)], body=join_lines(lines), change=change)


@attack("record_with_a_prev_that_does_not_link", 1, "does not link")
def _(w: World) -> bytes:
    # the sender signs a record 2 whose prev is not record 1 (re-signed with the right key: the chain check
    # must catch it)
    payload = build_payload(author="US", seq=2, prev="ab" * 32, created="2026-11-23T00:00:00Z",
                            kind="inquiry.open", to=["*"], tlp="GREEN", body={"ref": "rewritten history"})
    lines = body_lines(w.good)
    lines[1] = sign_record(payload, "inquiry.open", signer(w.us))
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


@attack("record_body_with_a_duplicate_key", 4, "duplicate JSON key 'zz'")
def _(w: World) -> bytes:
    # record 2 rewritten, re-signed with US's own key and linked to record 1: its body names a key twice, a
    # payload large enough for the strict parser's orjson path (docs/adr/0074), which must still refuse it (so
    # must the deep verify, whose envelope reading skips the JSON parse of the line: docs/adr/0239)
    from cbm.core import dsse
    lines = body_lines(w.good)
    old = dsse.parse(lines[1])
    payload = old.payload.replace(b'"body":{', b'"body":{"zz":"' + b"a" * 5000 + b'","zz":1,', 1)
    assert payload != old.payload
    lines[1] = sign_record(payload, json.loads(old.payload)["kind"], signer(w.us))
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


@attack("records_swapped", 1, "out of place")
def _(w: World) -> bytes:
    lines = body_lines(w.good)
    lines[0], lines[1] = lines[1], lines[0]
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


@attack("record_forged_by_the_sender_for_another_author", 3, "claims author CN")
def _(w: World) -> bytes:
    # US signs a record claiming to be CN's first record, inside a CN log entry
    payload = build_payload(author="CN", seq=1, prev=None, created="2026-11-23T00:00:00Z", kind="inquiry.open",
                            to=["*"], tlp="GREEN", body={"ref": "forged"})
    forged = sign_record(payload, "inquiry.open", signer(w.us))
    from cbm.core.records import record_hash
    lines = [forged] + body_lines(w.good)

    def change(doc: dict) -> None:
        doc["logs"].insert(0, {"author": "CN", "first": 1, "last": 1, "last_hash": record_hash(payload),
                               "records": 1, "withheld": 0})
    return resign(w.good, [signer(w.us)], body=join_lines(lines), change=change)


@attack("attachment_does_not_match_its_hash", 1, "does not match its hash")
def _(w: World) -> bytes:
    lines = body_lines(w.good)
    last = base64.b64decode(lines[-1])
    lines[-1] = base64.b64encode(bytes([last[0] ^ 1]) + last[1:])
    return resign(w.good, [signer(w.us)], body=join_lines(lines))


def _with_attachment(w: World, data: bytes) -> bytes:
    """The good bundle carrying one more attachment, which no record in it lists (re-signed by US)."""
    import hashlib

    from cbm.bundle.format import BLOB_CHUNK, BlobEntry, blob_line
    entry = BlobEntry(hashlib.sha256(data).hexdigest(), len(data))
    lines = body_lines(w.good) + [blob_line(entry)]
    lines += [base64.b64encode(data[i:i + BLOB_CHUNK]) for i in range(0, len(data), BLOB_CHUNK)]
    return resign(w.good, [signer(w.us)], body=join_lines(lines),
                  change=lambda doc: doc["blobs"].append({"sha256": entry.sha256, "size": entry.size}))


@attack("attachment_no_record_lists", 4, "that no record in it lists")
def _(w: World) -> bytes:
    return _with_attachment(w, b"disk filler " * 20_000)  # a peer filling the receiver's disk


@attack("attachment_of_a_withheld_record", 4, "that no record in it lists")
def _(w: World) -> bytes:
    # the RED record withheld from RU lists this attachment; its bytes must not travel to RU either
    return _with_attachment(w, RED_ATTACHMENT)


IMPORT_ONLY = {"addressed_to_another_party", "our_own_bundle"}


def refused(world: World, path: Path, data: bytes, exit_code: int, verify_code: int) -> tuple[str, str]:
    """Import the bundle ``data`` (written to ``path``) at RU: refused with ``exit_code``, nothing on stdout, RU's
    store exactly as before; ``bundle verify --deep`` with RU's trusted keys exits ``verify_code``. Returns the
    import's and the deep check's stderr, for the caller's check of their messages."""
    path.write_bytes(data)
    before = snapshot(world.ru)
    r = world.ru.cli("bundle", "import", str(path))
    assert r.exit_code == exit_code, (path.name, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("cbm: error: ") and "Traceback" not in r.stderr
    assert snapshot(world.ru) == before
    v = world.ru.cli("bundle", "verify", str(path), "--deep")
    assert v.exit_code == verify_code, (path.name, v.stderr)
    return r.stderr, v.stderr


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_hostile_bundle_is_refused_and_store_unchanged(shared_world: World, name: str, tmp_path: Path):
    exit_code, message, build = ATTACKS[name]
    # verify (with RU's trusted keys) refuses it with the same exit code; a sound bundle for someone else
    # verifies (CI checks bundles it is not the recipient of)
    stderr, _ = refused(shared_world, tmp_path / f"{name}.cbm", build(shared_world), exit_code,
                        0 if name in IMPORT_ONLY else exit_code)
    assert message.lower() in stderr.lower(), stderr


def test_the_good_bundle_beside_them_imports(world: World, tmp_path: Path):
    path = tmp_path / "good.cbm"
    path.write_bytes(world.good)
    r = world.ru.cli("bundle", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["landed"] == {"US": 3} and r.json()["blobs"] == 1


def test_revoked_sender_is_refused(world: World, tmp_path: Path):
    path = tmp_path / "b.cbm"
    path.write_bytes(world.good)
    assert world.ru.cli("keys", "revoke", "--party", "US", "--reason", "compromise reported", "--yes").exit_code == 0
    before = snapshot(world.ru)
    r = world.ru.cli("bundle", "import", str(path))
    assert r.exit_code == 3, r.stderr
    assert "revoked" in r.stderr
    assert snapshot(world.ru) == before


def test_bundle_signed_only_by_a_rotated_out_key_is_refused(world: World, tmp_path: Path):
    old = world.good
    r = world.us.cli("keys", "rotate", "-o", str(tmp_path / "us2.card"))
    assert r.exit_code == 0, r.stderr
    assert world.ru.cli("keys", "import", str(tmp_path / "us2.card")).exit_code == 0
    path = tmp_path / "old.cbm"
    path.write_bytes(old)  # signed only by the key US has since rotated out
    before = snapshot(world.ru)
    r = world.ru.cli("bundle", "import", str(path))
    assert r.exit_code == 3, r.stderr
    assert "rotated out" in r.stderr
    assert snapshot(world.ru) == before


def test_rotation_reaches_a_peer_that_does_not_know_the_new_key_yet(world: World, tmp_path: Path):
    assert world.us.cli("keys", "rotate").exit_code == 0
    write(world.us, n=1)
    path = tmp_path / "after-rotation.cbm"
    path.write_bytes(world.bundle())
    r = world.ru.cli("bundle", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr
    statuses = [(k["party"], k["status"]) for k in world.ru.cli("keys", "list", "--json").json()["keys"]]
    assert ("US", "rotated") in statuses and ("US", "active") in statuses


def test_equivocation_is_refused_and_kept_as_evidence(world: World, tmp_path: Path):
    path = tmp_path / "good.cbm"
    path.write_bytes(world.good)
    assert world.ru.cli("bundle", "import", str(path)).exit_code == 0
    # US signs a second, different record 1
    payload = build_payload(author="US", seq=1, prev=None, created="2026-11-23T00:00:00Z", kind="inquiry.open",
                            to=["*"], tlp="GREEN", body={"ref": "other story"})
    from cbm.core.records import record_hash
    forged = sign_record(payload, "inquiry.open", signer(world.us))

    def change(doc: dict) -> None:
        doc["logs"] = [{"author": "US", "first": 1, "last": 1, "last_hash": record_hash(payload), "records": 1,
                        "withheld": 0}]
        doc["blobs"] = []
    evil = tmp_path / "evil.cbm"
    evil.write_bytes(resign(world.good, [signer(world.us)], body=forged + b"\n", change=change))
    before = snapshot(world.ru)
    r = world.ru.cli("bundle", "import", str(evil))
    assert r.exit_code == 1, r.stderr
    assert "two different records" in r.stderr
    assert snapshot(world.ru) == before
    status = world.ru.cli("status", "--json").json()
    assert status["counts"]["equivocations"] == 1
    assert any("equivocat" in a["text"] for a in status["attention"])


def test_oversized_record_line_is_refused_before_it_is_parsed(world: World, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch):
    import cbm.bundle.reader as reader

    lines = body_lines(world.good)
    lines[0] = lines[0][:-1] + b',"padding":"' + b"x" * 5000 + b'"}'
    path = tmp_path / "big.cbm"
    path.write_bytes(resign(world.good, [signer(world.us)], body=join_lines(lines)))
    monkeypatch.setattr(reader, "MAX_ITEM_LINE", 4096)  # the real limit is 16 MiB; the rule is the same
    before = snapshot(world.ru)
    r = world.ru.cli("bundle", "import", str(path))
    assert r.exit_code == 4, r.stderr
    assert "longer than the 4096-byte limit" in r.stderr
    assert snapshot(world.ru) == before


def test_minisign_accepts_the_key_as_a_string_too(world: World, tmp_path: Path):
    import shutil
    import subprocess

    path = tmp_path / "b.cbm"
    r = world.us.cli("bundle", "export", "--to", "RU", "-o", str(path))
    assert r.exit_code == 0, r.stderr
    key = world.us.cli("keys", "export", "--format", "minisign").stdout.splitlines()[1]
    done = subprocess.run([shutil.which("minisign") or "/usr/bin/minisign", "-Vm", str(path), "-P", key],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
