"""Claims about a log made by someone other than its author: withheld ranges are hints, never proof.

The rule (docs/adr/0110-claims-about-a-log.md): only a party's own signature is evidence about that party. A
withheld range (author, first, last, hash of the last) is signed only by the bundle's sender, so it is kept as a
*hint* (the ``withheld`` table, with its claimant and bundle) that lets the author's chain link across what we
may not see, until the author's own signed records say otherwise: a record at the range's last seq with another
hash, or the record after it whose ``prev`` is another hash. Then the hint goes and the claim is recorded here,
against its claimant, with the bundle it came from. The author is never marked as equivocating on another's
word: equivocation evidence is two records both signed by the author. Hints about our own log are never kept.
Hints and records never overlap.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from cbm.core import clock
from cbm.core.errors import CbmError
from cbm.core.records import TrustedKeyLookup, verify_record


@dataclass(frozen=True)
class Hint:
    """A withheld range as we keep it: positions of ``author``'s log known only by the hash of the last."""

    author: str
    first_seq: int
    last_seq: int
    last_hash: str
    claimant: str | None  # the bundle sender that claimed it; None if stored before cbm recorded claimants
    source: str | None  # "bundle <id>" it came in


@dataclass(frozen=True)
class Claim:
    """A claim about ``author``'s log that ``author``'s own signed records contradicted."""

    claimant: str | None  # None: stored before cbm recorded claimants, and no receipt of ours names it
    author: str
    first_seq: int
    last_seq: int
    hash: str
    source: str | None
    problem: str
    detected: str


@dataclass
class SweepResult:
    """What :func:`sweep` changed."""

    claims: list[Claim]
    evidence_cleared: int  # equivocation rows that were not two records signed by their author


_HINT = "SELECT author, first_seq, last_seq, last_hash, claimant, source FROM withheld"


def hint_ending_at(conn: sqlite3.Connection, author: str, seq: int) -> Hint | None:
    """The hint whose last position is ``author``'s ``seq``, if any."""
    row = conn.execute(f"{_HINT} WHERE author = ? AND last_seq = ?", (author, seq)).fetchone()
    return Hint(*row) if row else None


def hint_covering(conn: sqlite3.Connection, author: str, seq: int) -> Hint | None:
    """The hint whose range holds ``author``'s ``seq``, if any (hints never overlap: one index probe)."""
    row = conn.execute(f"{_HINT} WHERE author = ? AND last_seq >= ? ORDER BY last_seq LIMIT 1",
                       (author, seq)).fetchone()
    return Hint(*row) if row and row[1] <= seq else None


def keep_hint(conn: sqlite3.Connection, hint: Hint) -> None:
    """Store a hint (the caller has checked it against the author's own records and trimmed any overlap)."""
    conn.execute("INSERT OR IGNORE INTO withheld (author, first_seq, last_seq, last_hash, claimant, source)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (hint.author, hint.first_seq, hint.last_seq, hint.last_hash,
                                                hint.claimant, hint.source))


def confirm_hint(conn: sqlite3.Connection, hint: Hint, claimant: str | None, source: str | None) -> None:
    """``claimant`` claims exactly ``hint`` again: when it is the author (or the hint had no claimant on record),
    the hint is now theirs (receipts to the author count a hint only when it is the author's own)."""
    conn.execute("UPDATE withheld SET claimant = ?, source = ? WHERE author = ? AND first_seq = ?",
                 (claimant, source, hint.author, hint.first_seq))


def trim_hint(conn: sqlite3.Connection, hint: Hint, seq: int) -> None:
    """The author's record ``seq`` landed inside ``hint``: the hint keeps only the positions after it."""
    if seq >= hint.last_seq:
        conn.execute("DELETE FROM withheld WHERE author = ? AND first_seq = ?", (hint.author, hint.first_seq))
    else:
        conn.execute("UPDATE withheld SET first_seq = ? WHERE author = ? AND first_seq = ?",
                     (seq + 1, hint.author, hint.first_seq))


def drop_hint(conn: sqlite3.Connection, hint: Hint, problem: str) -> Claim | None:
    """The author's own records contradict ``hint``: forget it, and hold the claim against its claimant.

    Returns the claim when it is newly recorded.
    """
    conn.execute("DELETE FROM withheld WHERE author = ? AND first_seq = ?", (hint.author, hint.first_seq))
    claimant, source = hint.claimant, hint.source
    if claimant is None:
        claimant, source = _attribute(conn, hint)
    return record_claim(conn, claimant, hint.author, hint.first_seq, hint.last_seq, hint.last_hash, source,
                        problem)


def record_claim(conn: sqlite3.Connection, claimant: str | None, author: str, first_seq: int, last_seq: int,
                 digest: str, source: str | None, problem: str) -> Claim | None:
    """Record a contradicted claim against ``claimant`` (once). Returns it when it is new."""
    claim = Claim(claimant, author, first_seq, last_seq, digest, source, problem, clock.now_iso())
    cursor = conn.execute(
        "INSERT OR IGNORE INTO claims (claimant, author, first_seq, last_seq, hash, source, problem, detected)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (claimant, author, first_seq, last_seq, digest, source, problem,
                                             claim.detected))
    return claim if cursor.rowcount else None


def contradicted(conn: sqlite3.Connection) -> list[Claim]:
    """Every recorded contradicted claim, oldest first."""
    return [Claim(*row) for row in conn.execute(
        "SELECT claimant, author, first_seq, last_seq, hash, source, problem, detected FROM claims ORDER BY id")]


def _attribute(conn: sqlite3.Connection, hint: Hint) -> tuple[str | None, str | None]:
    """Who made a hint stored before cbm recorded claimants: the sender of the first bundle after which one of
    our own receipts acknowledged exactly that position (our receipts name the bundle they answer)."""
    rows = conn.execute("SELECT sender, bundle, logs FROM bundle_receipts WHERE by_party ="
                        " (SELECT party FROM parties WHERE is_self = 1) AND bundle IS NOT NULL ORDER BY seq")
    for sender, bundle, logs in rows:
        try:
            position = json.loads(logs).get(hint.author)
        except (ValueError, AttributeError):
            continue
        if position == {"seq": hint.last_seq, "hash": hint.last_hash}:
            return sender, f"bundle {bundle}"
    return None, None


def own_hash(conn: sqlite3.Connection, author: str, seq: int) -> str | None:
    """Hash of ``author``'s record ``seq`` in our chain, if we hold it."""
    row = conn.execute("SELECT hash FROM records WHERE author = ? AND seq = ?", (author, seq)).fetchone()
    return str(row[0]) if row else None


def forget_own_log(conn: sqlite3.Connection, party: str) -> list[Claim]:
    """Drop hints about our own log (we write it; stores from before this rule may hold a peer's claim)."""
    found = []
    for row in conn.execute(f"{_HINT} WHERE author = ?", (party,)).fetchall():
        hint = Hint(*row)
        ours = own_hash(conn, party, hint.last_seq)
        claim = drop_hint(conn, hint, _own_log_problem(hint.last_seq, hint.last_hash, ours))
        if claim is not None:
            found.append(claim)
    return found


def _own_log_problem(seq: int, digest: str, ours: str | None) -> str:
    if ours == digest:
        return f"claimed a withheld range of our own log (we write it; our record {seq} is not withheld)"
    if ours is None:
        return f"claimed a withheld range of our own log up to {seq}, past what we wrote"
    return f"claimed a withheld range of our own log; our record {seq} has hash {ours[:12]}"


def claim_about_own_log(conn: sqlite3.Connection, party: str, claimant: str | None, first_seq: int,
                        last_seq: int, digest: str, source: str | None) -> Claim | None:
    """A bundle claims a withheld range of our own log: never kept; recorded against the claimant unless it
    matches exactly the record we hold."""
    ours = own_hash(conn, party, last_seq)
    if ours == digest:
        return None
    return record_claim(conn, claimant, party, first_seq, last_seq, digest, source,
                        _own_log_problem(last_seq, digest, ours))


def clear_false_evidence(conn: sqlite3.Connection) -> int:
    """Forget equivocation rows holding a record that is now in its author's chain: such a row was kept when a
    hint (not the author) contradicted it, before this rule. A record never lands beside a different record at
    its position, so real evidence is never one of ours."""
    # correlated: one probe of records' hash index per (rare) evidence row, never a scan of records
    return conn.execute("DELETE FROM equivocations WHERE EXISTS"
                        " (SELECT 1 FROM records r WHERE r.hash = equivocations.hash)").rowcount


def sweep(conn: sqlite3.Connection, party: str, keys: TrustedKeyLookup) -> SweepResult:
    """Re-check every hint and every equivocation row against the authors' own signed records (``store
    rebuild``): contradicted hints go and are recorded as claims; equivocation rows that are not two records
    signed by their author go. Call inside a transaction.
    """
    found = forget_own_log(conn, party)
    signed = _signed_positions(conn, keys)
    for row in conn.execute(f"{_HINT} ORDER BY author, first_seq").fetchall():
        hint = Hint(*row)
        problem = _contradiction(conn, hint, signed)
        if problem is not None:
            claim = drop_hint(conn, hint, problem)
            if claim is not None:
                found.append(claim)
            continue
        inside = conn.execute("SELECT MAX(seq) FROM records WHERE author = ? AND seq BETWEEN ? AND ?",
                              (hint.author, hint.first_seq, hint.last_seq)).fetchone()[0]
        if inside is not None:
            trim_hint(conn, hint, inside)
    cleared = clear_false_evidence(conn)
    for row_id, author, seq, digest, prev in _evidence(conn, keys):
        if not _proven(conn, author, seq, digest, prev, signed):
            conn.execute("DELETE FROM equivocations WHERE id = ?", (row_id,))
            cleared += 1
    return SweepResult(found, cleared)


# (author, seq) -> {hash: prev} of records signed by their author that sit outside the chain (held, evidence)
_Signed = dict[tuple[str, int], dict[str, str | None]]


def _signed_positions(conn: sqlite3.Connection, keys: TrustedKeyLookup) -> _Signed:
    signed: _Signed = {}
    rows = conn.execute("SELECT envelope FROM held UNION ALL SELECT envelope FROM equivocations").fetchall()
    for (envelope,) in rows:
        try:
            record = verify_record(bytes(envelope), keys)
        except CbmError:
            continue  # not its author's signature (any more): no evidence about anyone
        signed.setdefault((record.author, record.seq), {})[record.hash] = record.prev
    return signed


def _contradiction(conn: sqlite3.Connection, hint: Hint, signed: _Signed) -> str | None:
    """What the author's own signed records say against ``hint``, if anything."""
    ours = own_hash(conn, hint.author, hint.last_seq)
    if ours is not None:
        return None if ours == hint.last_hash else \
            f"{hint.author}'s own record {hint.last_seq} has hash {ours[:12]}"
    others = [d for d in signed.get((hint.author, hint.last_seq), {}) if d != hint.last_hash]
    if others:
        return f"{hint.author}'s own record {hint.last_seq} has hash {others[0][:12]}"
    row = conn.execute("SELECT prev FROM records WHERE author = ? AND seq = ?",
                       (hint.author, hint.last_seq + 1)).fetchone()
    prevs = ([row[0]] if row else []) + list(signed.get((hint.author, hint.last_seq + 1), {}).values())
    for prev in prevs:
        if prev != hint.last_hash:
            return f"{hint.author}'s own record {hint.last_seq + 1} links to {str(prev)[:12]}"
    return None


def _evidence(conn: sqlite3.Connection, keys: TrustedKeyLookup) -> list[tuple[int, str, int, str, str | None]]:
    result = []
    for row_id, envelope in conn.execute("SELECT id, envelope FROM equivocations").fetchall():
        try:
            record = verify_record(bytes(envelope), keys)
        except CbmError:
            continue  # kept as it is: an unverifiable row is the key history's question, not this sweep's
        result.append((row_id, record.author, record.seq, record.hash, record.prev))
    return result


def _proven(conn: sqlite3.Connection, author: str, seq: int, digest: str, prev: str | None,
            signed: _Signed) -> bool:
    """Whether the author also signed another record that this one cannot sit beside in one chain."""
    ours = own_hash(conn, author, seq)
    if ours is not None and ours != digest:
        return True
    if any(d != digest for d in signed.get((author, seq), {})):
        return True
    before = own_hash(conn, author, seq - 1) if seq > 1 else None
    if before is not None and before != prev:
        return True
    row = conn.execute("SELECT prev FROM records WHERE author = ? AND seq = ?", (author, seq + 1)).fetchone()
    return row is not None and row[0] != digest
