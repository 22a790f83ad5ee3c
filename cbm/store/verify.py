"""``cbm store verify``: re-check every stored record's signature, hash and chain link."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from cbm.core import dsse
from cbm.core.errors import MalformedInput, StoreCorrupt
from cbm.core.memory import cycle_collector_paused
from cbm.core.parallel import BackgroundVerifier
from cbm.core.records import payload_type_for
from cbm.store.db import Store


@dataclass
class Fault:
    author: str
    seq: int
    problem: str


@dataclass
class StoreVerification:
    records: int = 0
    authors: int = 0
    faults: list[Fault] = field(default_factory=list)
    equivocations: int = 0
    held: int = 0

    @property
    def ok(self) -> bool:
        return not self.faults


@cycle_collector_paused()
def verify_store(store: Store, progress: Callable[[int, int], None] | None = None) -> StoreVerification:
    """Check every record: bytes match their hash, fields match the row, the signing key was valid for
    that seq, every ``prev`` links to the record (or withheld range) before it, and every signature verifies
    (on all cores). Faults are collected, not raised, so one run reports them all.

    Raises StoreCorrupt when the database itself cannot be read (the check could not run).
    """
    try:
        return _verify_store(store, progress)
    except sqlite3.DatabaseError as e:
        raise StoreCorrupt(f"the store database cannot be read ({e})",
                           hint="restore store.sqlite from a backup; records are also held by your peers") from e


def _row_mismatch(payload_type: str, payload: bytes, row: tuple[object, ...]) -> str | None:
    """Which derived column disagrees with the signed payload, if any (queries and exports trust them).

    The payload was fully checked when it landed; this only compares, with the fast stdlib parser.
    """
    try:
        doc = json.loads(payload)
    except ValueError:
        return "payload does not parse"
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not isinstance(doc.get("to"), list):
        return "payload is not a cbm record"
    if payload_type != payload_type_for(doc["kind"]):
        return f"payload type {payload_type!r} does not match kind {doc['kind']}"
    body = doc.get("body")
    ref = body.get("ref") if isinstance(body, dict) else None
    expected = (doc.get("author"), doc.get("seq"), doc.get("prev"), doc["kind"], doc.get("created"),
                doc.get("tlp"), json.dumps(doc["to"]), ref if isinstance(ref, str) else None)
    names = ("author", "seq", "prev", "kind", "created", "tlp", "audience", "subject")
    for name, want, have in zip(names, expected, row, strict=True):
        if want != have:
            return f"stored {name} column differs from the signed record (run `cbm store rebuild`?)"
    return None


def _verify_store(store: Store, progress: Callable[[int, int], None] | None) -> StoreVerification:
    result = StoreVerification()
    total = store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    stubs = {(a, last): h for a, last, h in store.conn.execute(
        "SELECT author, last_seq, last_hash FROM withheld")}
    keys: dict[str, tuple[str, bytes, int, int | None]] = {
        keyid: (party, bytes(vk), first, last) for keyid, party, vk, first, last in store.conn.execute(
            "SELECT keyid, party, verify_key, first_seq, last_seq FROM party_keys")}
    # Signatures are checked on worker threads while the rows stream past, in chunks bounded by bytes.
    # A record fails only if none of the signatures under its key id verifies (an envelope may carry a bad
    # copy beside the good one, as ingest accepts); ``several`` counts the signatures of such records.
    with BackgroundVerifier() as verifier:
        several: dict[tuple[str, int], int] = {}
        last: tuple[str, int, str] | None = None
        authors: set[str] = set()
        rows = store.conn.execute(
            "SELECT author, seq, prev, hash, keyid, envelope, kind, created, tlp, audience, subject"
            " FROM records ORDER BY author, seq")
        for n, (author, seq, prev, digest, keyid, envelope, *columns) in enumerate(rows, 1):
            authors.add(author)
            if progress and n % 5000 == 0:
                progress(n, total)
            try:
                env = dsse.parse(envelope)
            except MalformedInput as e:
                result.faults.append(Fault(author, seq, f"envelope does not parse: {e}"))
                continue
            if hashlib.sha256(env.payload).hexdigest() != digest:
                result.faults.append(Fault(author, seq, "payload bytes do not match the record hash"))
            else:
                mismatch = _row_mismatch(env.payload_type, env.payload, (author, seq, prev, *columns))
                if mismatch:
                    result.faults.append(Fault(author, seq, mismatch))
            key = keys.get(keyid)
            if key is None or key[0] != author:
                result.faults.append(Fault(author, seq, f"signed by key {keyid} which is not {author}'s"))
            elif seq < key[2] or (key[3] is not None and seq > key[3]):
                result.faults.append(Fault(author, seq, f"key {keyid} was not valid for seq {seq}"))
            sigs = [s.sig for s in env.signatures if s.keyid == keyid]
            if not sigs or key is None:
                result.faults.append(Fault(author, seq, "signature by its key is missing"))
            else:
                for sig in sigs:
                    verifier.add((env.payload_type, env.payload, sig, key[1]), (author, seq))
                if len(sigs) > 1:
                    several[(author, seq)] = len(sigs)
            if seq == 1:
                if prev is not None:
                    result.faults.append(Fault(author, seq, "first record has a prev"))
            else:
                expected = last[2] if last and last[0] == author and last[1] == seq - 1 else \
                    stubs.get((author, seq - 1))
                if expected is None:
                    result.faults.append(Fault(author, seq, f"record {seq - 1} is missing (chain gap)"))
                elif expected != prev:
                    result.faults.append(Fault(author, seq, "prev does not link to the record before"))
            last = (author, seq, digest)
            result.records += 1
        failed = Counter(cast(tuple[str, int], tag) for tag in verifier.finish())
    for (author, seq), n in sorted(failed.items()):
        if n == several.get((author, seq), 1):
            result.faults.append(Fault(author, seq, "signature does not verify"))
    if progress:
        progress(total, total)
    result.authors = len(authors)
    result.equivocations = store.conn.execute("SELECT COUNT(*) FROM equivocations").fetchone()[0]
    result.held = store.conn.execute("SELECT COUNT(*) FROM held").fetchone()[0]
    result.faults.sort(key=lambda f: (f.author, f.seq))
    return result
