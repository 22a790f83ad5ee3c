"""Party identities in the store: create a store, import peers' cards, rotate and revoke keys.

Trust rules (docs/adr/0003-keys-and-trust.md):
- a peer's first card is trusted only when the operator confirms its fingerprint (read aloud out of band);
- a new card cross-signed by the party's current key is accepted without a call (rotation);
- a card that is not cross-signed (after a revocation) needs the fingerprint again;
- a rotation also travels in the log as a ``keys.rotate`` record, so peers learn it from bundles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cbm.core import clock
from cbm.core.errors import (
    BadSignature,
    InputRejected,
    MalformedInput,
    NotFound,
    RevokedKey,
    StoreError,
    UsageError,
)
from cbm.core.fields import check_party_code
from cbm.core.keys import KeyPair, normalise_fingerprint, write_secret_keys
from cbm.store import index_rosters, paths
from cbm.store.db import Draft, Store, connect
from cbm.store.schema import FORMAT_VERSION

if TYPE_CHECKING:  # the cards module loads where a card is read or made, not for `cbm status` (list_keys)
    from collections.abc import Callable

    from cbm.core.cards import PartyCard
    from cbm.core.records import Record


def create_store(root: Path, party: str, name: str, passphrase: str | None) -> PartyCard:
    """Create a new store with fresh keys. ``passphrase=None`` leaves the keys unencrypted (automation).

    Raises UsageError if a store already exists there or the directory is not empty.
    """
    from cbm.core.cards import make_card

    check_party_code(party)
    if not name.strip():
        raise UsageError("the party needs a display name", hint='--name "US-CERT"')
    if (root / paths.CONFIG).exists():
        raise UsageError(f"a cbm store already exists at {root}")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} is a file, not a directory", hint="choose another --store directory")
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} exists and is not empty", hint="choose another --store directory")
    created = clock.now_iso()
    pair = KeyPair.generate(created)
    card = make_card(party, name, pair)
    existed = root.exists()
    try:
        _populate(root, party, name, passphrase, card, pair, created)
    except BaseException as e:
        # leave nothing half-made behind: an empty directory we created goes, a given one is emptied
        import shutil

        for child in root.iterdir() if root.is_dir() else []:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        if not existed and root.is_dir():
            root.rmdir()
        if isinstance(e, OSError):
            raise StoreError(f"cannot create a store at {root}: {e.strerror or e}") from e
        raise
    return card


def _populate(root: Path, party: str, name: str, passphrase: str | None, card: PartyCard, pair: KeyPair,
              created: str) -> None:
    (root / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    write_secret_keys(root / paths.SECRET_KEYS, [pair], passphrase)
    conn = connect(root / paths.DATABASE)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO parties (party, name, is_self, added) VALUES (?, ?, 1, ?)",
                     (party, name, created))
        _insert_key(conn, card, created)
        conn.execute("COMMIT")
    finally:
        conn.close()
    config: dict[str, Any] = {
        "party": {"code": party, "name": name},
        "store": {"format": FORMAT_VERSION, "created": created,
                  "keys": "passphrase" if passphrase is not None else "unencrypted"},
    }
    import tomli_w  # only `cbm init` writes config.toml here

    # config.toml is written last: its presence marks a complete store
    tmp = root / (paths.CONFIG + ".tmp")
    tmp.write_text(tomli_w.dumps(config), "utf-8")
    os.replace(tmp, root / paths.CONFIG)


def _insert_key(conn: Any, card: PartyCard, added: str, status: str = "active") -> None:
    conn.execute(
        "INSERT INTO party_keys (keyid, party, serial, verify_key, enc_key, first_seq, last_seq, status,"
        " reason, card, added) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?)",
        (card.keyid, card.party, card.serial, card.verify_key, card.enc_key, card.first_seq, status,
         card.envelope, added))


def own_card(store: Store) -> PartyCard:
    """Our current party card."""
    from cbm.core.cards import parse_card

    key = store.active_key(store.party)
    row = store.conn.execute("SELECT card FROM party_keys WHERE keyid = ?", (key.keyid,)).fetchone()
    return parse_card(row[0])


def card_of(store: Store, party: str) -> PartyCard:
    """A party's current card (ours or a peer's). Raises NotFound."""
    from cbm.core.cards import parse_card

    key = store.active_key(party)
    row = store.conn.execute("SELECT card FROM party_keys WHERE keyid = ?", (key.keyid,)).fetchone()
    return parse_card(row[0])


def card_history(store: Store, party: str) -> list[PartyCard]:
    """Every card we hold for ``party`` (ours or a peer's), oldest first, ending with its current card: what a
    store-less keyring needs to check records signed before a rotation or revocation (a keyring retires each
    card at the first seq of the next). Raises NotFound for an unknown party, or one whose current key we
    revoked: a card file cannot say "revoked", so exporting it would trust the key again.
    """
    from cbm.core.cards import parse_card

    store.active_key(party)  # NotFound: unknown, or no active key
    rows = store.conn.execute("SELECT card FROM party_keys WHERE party = ? ORDER BY serial", (party,)).fetchall()
    return [parse_card(row[0]) for row in rows]


class ImportResult(NamedTuple):
    card: PartyCard
    action: str  # added | rotated | unchanged | replaced
    message: str


def import_card(store: Store, data: bytes, fingerprint: str | None) -> ImportResult:
    """Trust a peer's card. See the module docstring for the rules.

    Raises MalformedInput / BadSignature for a bad card, UsageError when a fingerprint is needed and
    missing, BadSignature (exit 1) when the fingerprint does not match (the message names only the
    fingerprint the operator gave, never the card's, so nobody copies it from the card), RevokedKey (exit 3)
    for a card whose key we hold as revoked, InputRejected for our own card or one claiming our party code.
    """
    from cbm.core.cards import parse_card, verify_cross_signature

    card = parse_card(data)
    if card.party == store.party:
        ours = store.trusted_key(card.keyid)
        if ours is not None and ours.party == store.party:
            raise InputRejected(f"that is our own party card ({card.party})")
        raise InputRejected(f"the card claims our own party code {card.party} with a key that is not ours",
                            hint="a peer's card names the peer's own code; do not trust this card")
    if fingerprint is not None:
        expected = normalise_fingerprint(fingerprint)
        if expected != card.fingerprint.replace(" ", ""):
            grouped = " ".join(expected[i:i + 4] for i in range(0, len(expected), 4))
            raise BadSignature(
                f"fingerprint mismatch for {card.party}: the card's key is not {grouped}",
                hint="do not trust this card; obtain it again and re-check the fingerprint with its owner")
    now = clock.now_iso()
    known = store.trusted_key(card.keyid)
    if known is not None and index_rosters.introducers_of(store.conn, card.keyid) is not None \
            and fingerprint is not None and known.status == "active":
        from cbm.store.rosters import reconcile

        with store.transaction() as conn:  # heard by phone: from now on no roster speaks for this party
            index_rosters.confirm(conn, card.party)
            reconcile(store)  # a confirmed party's own rosters may now count
        return ImportResult(card, "confirmed", f"{card.party} key {card.fingerprint} was introduced by a roster;"
                                               " now confirmed directly")
    if known is not None and known.status == "revoked":
        raise RevokedKey(
            f"{card.party}'s key {card.keyid} is revoked" + (f" ({known.reason})" if known.reason else "")
            + ": this card cannot be trusted again",
            hint=f"{card.party} must make a new key (`cbm keys revoke --reason ...` on its side) and read "
                 "the new card's fingerprint to you")
    if known is not None:
        return ImportResult(card, "unchanged", f"{card.party} key {card.keyid} is already trusted")
    with store.transaction() as conn:
        if not store.party_exists(card.party):
            if fingerprint is None:
                raise UsageError(f"confirm {card.party}'s fingerprint before trusting its card",
                                 hint=f"ask {card.party} to read its fingerprint aloud and pass what you "
                                      "heard as --fingerprint '...' (never copy it from the card file)")
            conn.execute("INSERT INTO parties (party, name, is_self, added) VALUES (?, ?, 0, ?)",
                         (card.party, card.name, now))
            _insert_key(conn, card, now)
            action, message = "added", f"trusted {card.party} ({card.name}), key {card.fingerprint}"
        else:
            current = [k for k in store.party_keys(card.party) if k.status == "active"]
            cross_signed = False
            if current and card.supersedes == current[0].keyid:
                verify_cross_signature(card, current[0].verify_key)
                cross_signed = True
            if not cross_signed and fingerprint is None:
                raise UsageError(f"the new card for {card.party} is not signed by its current key",
                                 hint=f"ask {card.party} to read the new fingerprint aloud and pass what "
                                      "you heard as --fingerprint '...'")
            for key in current:
                conn.execute("UPDATE party_keys SET status = 'rotated', last_seq = ? WHERE keyid = ?",
                             (card.first_seq - 1, key.keyid))
            conn.execute("UPDATE parties SET name = ? WHERE party = ?", (card.name, card.party))
            _insert_key(conn, card, now)
            action = "rotated" if cross_signed else "replaced"
            message = f"{card.party} now signs with key {card.fingerprint} from seq {card.first_seq}"
            if cross_signed:  # the party's own word, from a key a roster introduced: still introduced
                index_rosters.inherit(conn, current[0].keyid, card.keyid, card.party, now)
        store.forget_cached_keys()
        from cbm.store.rosters import reconcile

        reconcile(store)  # a party confirmed directly is out of every roster's reach, and its rosters may count
    return ImportResult(card, action, message)


def apply_key_record(store: Store, record: Record) -> None:
    """Fold a ``keys.*`` record from a peer's log into the trusted keys (inside the import transaction)."""
    from cbm.core.cards import parse_card, verify_cross_signature

    if record.kind == "keys.rotate":
        text = record.body.get("card")
        if not isinstance(text, str) or not text.isascii():
            raise MalformedInput(f"{record.author} rotation record {record.seq} carries no party card")
        card = parse_card(text.encode("ascii"))
        if card.party != record.author or card.first_seq != record.seq + 1:
            raise MalformedInput(f"{record.author} rotation record {record.seq} carries an inconsistent card")
        if store.trusted_key(card.keyid) is not None:
            return
        old = store.trusted_key(record.keyid)
        if old is None or card.supersedes != old.keyid:
            raise MalformedInput(f"{record.author} rotation record {record.seq} does not supersede its signer")
        verify_cross_signature(card, old.verify_key)
        store.conn.execute("UPDATE party_keys SET status = 'rotated', last_seq = ? WHERE keyid = ?",
                           (record.seq, old.keyid))
        _insert_key(store.conn, card, clock.now_iso())
        index_rosters.inherit(store.conn, old.keyid, card.keyid, card.party, clock.now_iso())
        store.forget_cached_keys()
    elif record.kind == "keys.revoke":
        if not isinstance(record.body.get("keyid"), str):
            raise MalformedInput(f"{record.author} revocation record {record.seq} names no key")
        # only the author's own keys: a peer must never be able to revoke a third party's key for us
        store.conn.execute(
            "UPDATE party_keys SET status = 'revoked', last_seq = ?, reason = ? WHERE keyid = ? AND party = ?",
            (record.seq, str(record.body.get("reason", "")), record.body.get("keyid"), record.author))
        store.forget_cached_keys()


def rotate(store: Store, deliver: Callable[[PartyCard], None] | None = None) -> PartyCard:
    """Replace our key: a new card cross-signed by the old key, announced in our log. Returns the card.

    The ``keys.rotate`` record and the key change land in one transaction: a crash (or another process
    appending) can never leave the old key signing past the seq where peers will have it retired.
    ``deliver(card)`` runs inside it, before the key file changes: whatever it raises (the card's file cannot
    be written) leaves the store and the key file as they were (docs/adr/0290).
    """
    from cbm.core.cards import make_card

    store.key_pairs()  # unlock, and ask for the passphrase, before taking the write lock
    passphrase = _secret_passphrase(store)
    new = KeyPair.generate(clock.now_iso())
    with store.transaction() as conn:
        old = store.signer()
        old_key = store.active_key(store.party)
        serial = len(store.party_keys(store.party)) + 1
        head = store.head(store.party)
        rotate_seq = (head[0] if head else 0) + 1
        card = make_card(store.party, store.name, new, serial=serial, first_seq=rotate_seq + 1, previous=old)
        if deliver is not None:
            deliver(card)
        # the key file first: a crash after this leaves an unused key, never a card without its secret
        _rewrite_secret(store, store.key_pairs() + [new], passphrase)
        store.append_locked([Draft("keys.rotate", {"card": card.envelope.decode("ascii"), "keyid": old.keyid},
                                   ("*",), "CLEAR")])
        conn.execute("UPDATE party_keys SET status = 'rotated', last_seq = ? WHERE keyid = ?",
                     (rotate_seq, old_key.keyid))
        _insert_key(conn, card, clock.now_iso())
        store.forget_cached_keys()
    return card


def revoke_own(store: Store, reason: str, deliver: Callable[[PartyCard], None] | None = None) -> PartyCard:
    """Revoke our current key (e.g. compromised) and start a new one that peers must confirm by fingerprint.

    The revocation is a signed ``keys.revoke`` record: records up to it stay valid, nothing later signed by
    the old key is accepted. Returns the new, not cross-signed, card. Record and key change land together;
    ``deliver(card)`` runs before either, as :func:`rotate` says.
    """
    from cbm.core.cards import make_card

    if not reason.strip():
        raise UsageError("say why the key is revoked", hint='--reason "laptop lost"')
    store.key_pairs()  # unlock, and ask for the passphrase, before taking the write lock
    passphrase = _secret_passphrase(store)
    new = KeyPair.generate(clock.now_iso())
    with store.transaction() as conn:
        old = store.signer()
        serial = len(store.party_keys(store.party)) + 1
        head = store.head(store.party)
        revoke_seq = (head[0] if head else 0) + 1
        card = make_card(store.party, store.name, new, serial=serial, first_seq=revoke_seq + 1)
        if deliver is not None:
            deliver(card)
        _rewrite_secret(store, store.key_pairs() + [new], passphrase)
        store.append_locked([Draft("keys.revoke", {"keyid": old.keyid, "reason": reason,
                                                   "new_card": card.envelope.decode("ascii")}, ("*",), "CLEAR")])
        conn.execute("UPDATE party_keys SET status = 'revoked', last_seq = ?, reason = ? WHERE keyid = ?",
                     (revoke_seq, reason, old.keyid))
        _insert_key(conn, card, clock.now_iso())
        store.forget_cached_keys()
    return card


def revoke_peer(store: Store, party: str, reason: str) -> int:
    """Stop trusting a peer's current key, locally. Records already held stay; later ones are refused.

    Returns the last seq still accepted.
    """
    if party == store.party:
        raise UsageError("to revoke our own key, run `cbm keys revoke --reason ...` without --party")
    if not reason.strip():
        raise UsageError("say why the key is revoked", hint='--reason "compromise reported by phone"')
    key = store.active_key(party)
    head = store.head(party)
    last = head[0] if head else 0
    with store.transaction() as conn:
        conn.execute("UPDATE party_keys SET status = 'revoked', last_seq = ?, reason = ? WHERE keyid = ?",
                     (last, reason, key.keyid))
        store.forget_cached_keys()
    return last


def _secret_passphrase(store: Store) -> str | None:
    """The passphrase to re-encrypt the key file with (asked before taking the write lock), or None."""
    from cbm.core.keys import is_protected

    return store._passphrase() if is_protected(store.root / paths.SECRET_KEYS) else None


def _rewrite_secret(store: Store, pairs: list[KeyPair], passphrase: str | None) -> None:
    write_secret_keys(store.root / paths.SECRET_KEYS, pairs, passphrase)
    store._pairs = pairs


class KeyListing(NamedTuple):
    party: str
    name: str
    is_self: bool
    keyid: str
    fingerprint: str
    serial: int
    first_seq: int
    last_seq: int | None
    status: str
    reason: str | None
    trust: str = "confirmed"  # us | confirmed (fingerprint heard, or rotated from such a key) | introduced
    introduced_by: list[str] | None = None  # the introducers whose rosters vouch for it, when introduced


def list_keys(store: Store) -> list[KeyListing]:
    """Every party and every key we hold for it, each saying on what we trust it."""
    from cbm.core.keys import fingerprint

    introduced = index_rosters.all_introduced(store.conn)
    rows = store.conn.execute(
        "SELECT p.party, p.name, p.is_self, k.keyid, k.verify_key, k.serial, k.first_seq, k.last_seq,"
        " k.status, k.reason FROM parties p JOIN party_keys k ON k.party = p.party"
        " ORDER BY p.is_self DESC, p.party, k.serial").fetchall()
    return [KeyListing(r[0], r[1], bool(r[2]), r[3], fingerprint(r[4]), r[5], r[6], r[7], r[8], r[9],
                       "us" if r[2] else "introduced" if r[3] in introduced else "confirmed", introduced.get(r[3]))
            for r in rows]


def find_party(store: Store, party: str) -> None:
    if not store.party_exists(party):
        raise NotFound(f"unknown party {party}", hint="see `cbm keys list`")
