"""Roster trust: which introduced cards this store accepts, under the policy in ``config.toml``.

Policy (off by default; docs/adr/0171-rosters.md)::

    [rosters]
    introducers = ["OSCE-SEC"]   # whose rosters count; ["*"]: any party whose fingerprint we confirmed
    threshold = 1                # a card is accepted when at least this many of them list it

Rules, applied by :func:`reconcile` after a roster lands, after the policy changes and after a fingerprint is
confirmed:

- only the newest roster of each introducer counts, and only introducers we trust *directly* (confirmed by
  fingerprint, never introduced themselves) and the policy names;
- a card is accepted when at least ``threshold`` such introducers list the same key for its party;
- a party we confirmed directly is never touched by a roster, and neither is our own code;
- revocation and rotation by a party itself win: a roster listing a key its party rotated out or revoked is
  stale and ignored; a roster may replace an introduced key only from a log position the party has not yet
  signed past; a key rotated by its party from an introduced key stays introduced;
- a party no longer accepted (left the roster, or fewer than ``threshold`` introducers) has its introduced key
  revoked from the next seq on; its records already held stay. If it is listed again, it comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from cbm.core import clock
from cbm.core.cards import PartyCard, check_party_code, parse_card
from cbm.core.errors import UsageError
from cbm.core.files import written_atomically
from cbm.core.records import Record
from cbm.core.rosters import KIND, roster_body
from cbm.store import index_rosters, paths
from cbm.store.db import Draft, Store
from cbm.store.trust import _insert_key, card_of

DEPARTED = "no longer introduced by a roster we accept"
ANY = "*"


@dataclass(frozen=True)
class RosterPolicy:
    introducers: tuple[str, ...] = ()
    threshold: int = 1

    @property
    def enabled(self) -> bool:
        return bool(self.introducers)

    def counts(self, party: str) -> bool:
        """Whether a roster by ``party`` (already known to be directly trusted) counts under this policy."""
        return ANY in self.introducers or party in self.introducers

    def doc(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "introducers": list(self.introducers), "threshold": self.threshold}


def policy_of(config: dict[str, Any]) -> RosterPolicy:
    """The roster policy in a store's config (off when absent). Raises UsageError for a malformed one."""
    section = config.get("rosters")
    if section is None:
        return RosterPolicy()
    hint = 'in config.toml: [rosters] introducers = ["OSCE-SEC"], threshold = 1'
    if not isinstance(section, dict):
        raise UsageError("config.toml: [rosters] must be a table", hint=hint)
    introducers = section.get("introducers", [])
    threshold = section.get("threshold", 1)
    if not isinstance(introducers, list) or not all(isinstance(p, str) for p in introducers):
        raise UsageError("config.toml: rosters.introducers must be a list of party codes", hint=hint)
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise UsageError("config.toml: rosters.threshold must be a whole number of at least 1", hint=hint)
    for party in introducers:
        if party != ANY:
            check_party_code(party)
    return RosterPolicy(tuple(dict.fromkeys(introducers)), threshold)


@dataclass(frozen=True)
class RosterChange:
    party: str
    action: str  # introduced | rotated | departed | returned | conflict
    fingerprint: str
    introducers: tuple[str, ...]
    detail: str = ""


@dataclass
class ReconcileResult:
    policy: RosterPolicy
    changes: list[RosterChange] = field(default_factory=list)


def directly_trusted(store: Store) -> list[str]:
    """Peers whose active key we confirmed by fingerprint (or rotated from one we did): not introduced."""
    introduced = index_rosters.all_introduced(store.conn)
    return [p for p in store.peers() if any(k.status == "active" and k.keyid not in introduced
                                            for k in store.party_keys(p))]


def _accepted(store: Store, policy: RosterPolicy, direct: list[str]) -> dict[str, tuple[PartyCard, list[str]]]:
    """party -> (the card enough introducers list, those introducers)."""
    votes: dict[tuple[str, str], tuple[int, bytes, list[str]]] = {}
    for introducer in direct:
        if not policy.counts(introducer):
            continue
        for party, keyid, serial, card in index_rosters.latest_entries(store.conn, introducer):
            if party in (store.party, introducer):
                continue
            votes.setdefault((party, keyid), (serial, card, []))[2].append(introducer)
    accepted: dict[str, tuple[int, bytes, list[str]]] = {}
    for (party, _), (serial, card, by) in sorted(votes.items()):
        if len(by) >= policy.threshold:
            best = accepted.get(party)
            if best is None or serial > best[0]:  # two keys of one party both accepted: the later card
                accepted[party] = (serial, card, by)
    return {party: (parse_card(card), by) for party, (_, card, by) in accepted.items()}


def reconcile(store: Store) -> ReconcileResult:
    """Bring introduced keys in line with the policy and the newest rosters. Call inside a transaction.

    Returns what changed. Never touches our own keys or a party confirmed directly (see the module docstring).
    """
    policy = policy_of(store.config)
    result = ReconcileResult(policy)
    direct = directly_trusted(store)
    accepted = _accepted(store, policy, direct) if policy.enabled else {}
    introduced = index_rosters.all_introduced(store.conn)
    introduced_parties = {p for (p,) in store.conn.execute("SELECT DISTINCT party FROM introduced_keys")}
    now = clock.now_iso()
    for party in sorted(set(accepted) | introduced_parties):
        if party == store.party or party in direct:
            continue
        keys = store.party_keys(party)
        if any(k.keyid not in introduced for k in keys):
            continue  # we confirmed (and perhaps later revoked) this party ourselves: no roster speaks for it
        active = next((k for k in keys if k.status == "active"), None)
        if party not in accepted:
            if active is not None:
                head = store.head(party)
                store.conn.execute("UPDATE party_keys SET status = 'revoked', last_seq = ?, reason = ?"
                                   " WHERE keyid = ?", (head[0] if head else 0, DEPARTED, active.keyid))
                result.changes.append(RosterChange(party, "departed", _fingerprint(active.verify_key),
                                                   tuple(introduced.get(active.keyid, []))))
            continue
        card, by = accepted[party]
        held = store.trusted_key(card.keyid)
        if held is not None:
            if held.status == "revoked" and held.reason == DEPARTED and active is None:
                store.conn.execute("UPDATE party_keys SET status = 'active', last_seq = NULL, reason = NULL"
                                   " WHERE keyid = ?", (card.keyid,))
                result.changes.append(RosterChange(party, "returned", card.fingerprint, tuple(by)))
                index_rosters.mark(store.conn, card.keyid, party, by, now)
            elif held.status == "active":
                index_rosters.mark(store.conn, card.keyid, party, by, now)  # who introduces it now
            continue  # otherwise stale: the party itself rotated this key out or revoked it, and its word wins
        if not store.party_exists(party):
            store.conn.execute("INSERT INTO parties (party, name, is_self, added) VALUES (?, ?, 0, ?)",
                               (party, card.name, now))
            action = "introduced"
        else:
            head = store.head(party)
            if head is not None and card.first_seq <= head[0]:
                result.changes.append(RosterChange(
                    party, "conflict", card.fingerprint, tuple(by),
                    f"the listed key signs from seq {card.first_seq}, but we hold {party}'s own records up to "
                    f"{head[0]}: its own signatures win; the roster's card is not taken"))
                continue
            if active is not None:
                store.conn.execute("UPDATE party_keys SET status = 'rotated', last_seq = ? WHERE keyid = ?",
                                   (card.first_seq - 1, active.keyid))
            store.conn.execute("UPDATE parties SET name = ? WHERE party = ?", (card.name, party))
            action = "rotated" if active is not None else "returned"
        _insert_key(store.conn, card, now)
        index_rosters.mark(store.conn, card.keyid, party, by, now)
        result.changes.append(RosterChange(party, action, card.fingerprint, tuple(by)))
    store.forget_cached_keys()
    return result


def _fingerprint(verify_key: bytes) -> str:
    from cbm.core.keys import fingerprint

    return fingerprint(verify_key)


def apply_policy(store: Store) -> ReconcileResult:
    """:func:`reconcile` in its own transaction."""
    with store.transaction():
        return reconcile(store)


def set_policy(store: Store, introducers: list[str], threshold: int) -> ReconcileResult:
    """Write the roster policy into config.toml (no introducers: off) and apply it. Raises UsageError."""
    for party in introducers:
        if party != ANY:
            check_party_code(party)
    if threshold < 1:
        raise UsageError("--threshold must be at least 1")
    config = dict(store.config)
    if introducers:
        config["rosters"] = {"introducers": list(dict.fromkeys(introducers)), "threshold": threshold}
    else:
        config.pop("rosters", None)
    policy_of(config)
    with written_atomically(store.root / paths.CONFIG, text=True) as out:
        out.write(tomli_w.dumps(config))
    store.config = config
    return apply_policy(store)


@dataclass(frozen=True)
class Published:
    record: Record
    parties: list[str]


def publish(store: Store, exclude: Sequence[str] = ()) -> Published:
    """Sign and append our roster: the current card of every peer we confirmed directly and that has an active
    key, except ``exclude``. Everyone may read it (``to *``, TLP:CLEAR). Returns the record and who is listed.

    Introduced peers are never listed: we vouch only for cards we confirmed ourselves.
    """
    leave_out = {check_party_code(p.strip().upper()) for p in exclude}
    for party in leave_out:
        store.active_key(party)  # NotFound for a party we do not know (a typo must not go unnoticed)
    cards = [card_of(store, party) for party in directly_trusted(store) if party not in leave_out]
    record = store.append_many([Draft(KIND, roster_body(cards), ("*",), "CLEAR")])[0]
    return Published(record, [card.party for card in cards])
