"""Tools to build hostile bundles: split a real bundle, change it, re-sign it (or not), reassemble.

Used by tests/security/test_bundle_*.py. Everything here works on real bundle bytes made by real stores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from cbm.bundle.format import MAGIC, MANIFEST_TYPE
from cbm.core import dsse
from cbm.core.canonical import canonical_bytes
from cbm.core.keys import KeyPair
from tests.conftest import Party


def split(data: bytes) -> tuple[bytes, bytes]:
    """(manifest envelope line, body) of a plain bundle."""
    assert data.startswith(MAGIC)
    rest = data[len(MAGIC):]
    line, body = rest.split(b"\n", 1)
    return line, body


def manifest_doc(data: bytes) -> dict[str, Any]:
    return json.loads(dsse.parse(split(data)[0]).payload)


def assemble(envelope: bytes, body: bytes) -> bytes:
    return MAGIC + envelope + b"\n" + body


def resign(data: bytes, pairs: list[KeyPair], *, body: bytes | None = None,
           change: Callable[[dict[str, Any]], None] | None = None, payload_type: str = MANIFEST_TYPE,
           fix_body_hash: bool = True) -> bytes:
    """Re-sign a bundle's manifest (after ``change``) over ``body`` (default: its own), fixing the body hash."""
    line, old_body = split(data)
    body = old_body if body is None else body
    doc = json.loads(dsse.parse(line).payload)
    if fix_body_hash:
        doc["body"]["sha256"] = hashlib.sha256(body).hexdigest()
        doc["body"]["size"] = len(body)
    if change is not None:
        change(doc)
    envelope = dsse.sign(payload_type, canonical_bytes(doc), [(p.keyid, p.signing) for p in pairs])
    return assemble(envelope.to_json_bytes(), body)


def signer(party: Party) -> KeyPair:
    with party.open() as store:
        return store.signer()


def body_lines(data: bytes) -> list[bytes]:
    return split(data)[1].split(b"\n")[:-1]


def join_lines(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def snapshot(party: Party) -> dict[str, Any]:
    """Everything an import may change, to assert a refused import changed nothing."""
    with party.open() as store:
        q = store.conn.execute
        return {
            "records": q("SELECT hash FROM records ORDER BY id").fetchall(),
            "withheld": q("SELECT * FROM withheld ORDER BY author, first_seq").fetchall(),
            "held": q("SELECT author, seq, hash FROM held ORDER BY author, seq").fetchall(),
            "keys": q("SELECT keyid, status, last_seq FROM party_keys ORDER BY keyid").fetchall(),
            "receipts": q("SELECT * FROM receipts ORDER BY receipt, author").fetchall(),
            "blobs": sorted(p.name for p in (store.root / "blobs").rglob("*") if p.is_file())
            if (store.root / "blobs").exists() else [],
        }


def _line_author(line: bytes) -> str | None:
    """The author a body line belongs to (None for an attachment line)."""
    doc = json.loads(line)
    if "withheld" in doc:
        return str(doc["withheld"]["author"])
    if "payload" in doc:
        return str(json.loads(dsse.parse(line).payload)["author"])
    return None


def add_withheld(data: bytes, pairs: list[KeyPair], author: str, first: int, last: int, last_hash: str) -> bytes:
    """The bundle with one more log: a withheld range (author, first, last, last_hash) claimed by its sender,
    re-signed with ``pairs`` (the sender's real key makes it a claim the sender really signed)."""
    from cbm.bundle.format import withheld_line

    lines = body_lines(data)
    at = len(lines)
    for i, line in enumerate(lines):
        owner = _line_author(line)
        if owner is None or owner > author:
            at = i
            break
    lines.insert(at, withheld_line(author, first, last, last_hash))

    def change(doc: dict[str, Any]) -> None:
        assert all(log["author"] != author for log in doc["logs"]), "the bundle already carries that log"
        doc["logs"].append({"author": author, "first": first, "last": last, "last_hash": last_hash,
                            "records": 0, "withheld": last - first + 1})
        doc["logs"].sort(key=lambda log: log["author"])
    return resign(data, pairs, body=join_lines(lines), change=change)
