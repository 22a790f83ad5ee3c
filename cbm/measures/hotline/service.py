"""The crisis hotline: end-to-end encrypted, signed messages with receipts, translations and link tests.

Records (all TLP:RED, addressed to the one peer of the conversation; docs/adr/0040-hotline-records.md):

- ``hotline.message``  ``{"dseq", "peer_seen", "precedence", "lang", "sealed"}`` — the text is sealed
  (``cbm.core.sealed``) to the recipient and to ourselves, with the context ``hotline.message:<dseq>``;
- ``hotline.receipt``  ``{"ref", "type": "delivered"|"read", "dseq"}`` — written by the recipient's store
  on import (delivered) and when an operator reads the message (read);
- ``hotline.translation``  ``{"ref", "lang", "unofficial": true, "sealed"}`` — a translation, sealed to both;
- ``hotline.test`` / ``hotline.test_reply`` ``{"ref"}`` — link tests, answered automatically on import;
- ``hotline.transcript``  ``{"with", "sha256", "messages", ...}`` — a signed statement of an exported transcript.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.utils

from cbm.core import clock
from cbm.core.errors import (
    BadSignature,
    CbmError,
    MalformedInput,
    NotFound,
    OversizedInput,
    UsageError,
    WrongRecipient,
)
from cbm.core.fields import PRECEDENCES, check_precedence, is_language_tag, precedence_rank
from cbm.core.records import Record
from cbm.core.sealed import open_sealed, seal
from cbm.core.tlp import ALL_PEERS
from cbm.measures.base import Attention
from cbm.measures.hotline.index import has_reply, last_dseq
from cbm.measures.hotline.model import (
    KIND_MESSAGE,
    KIND_RECEIPT,
    KIND_TEST,
    KIND_TEST_REPLY,
    KIND_TRANSLATION,
    MAX_LANGUAGE_SUBTAGS,
    Anomaly,
    Conversation,
    HotlineState,
    LinkTest,
    Message,
    Translation,
    load,
    settings,
)
from cbm.measures.hotline.records import RECORDS
from cbm.store.db import Draft, Store

TLP = "RED"
MAX_TEXT_BYTES = 64 * 1024

__all__ = ["PRECEDENCES", "Conversation", "HotlineState", "LinkTest", "Message", "Translation", "load"]


# -- checks ----------------------------------------------------------------------------------------------


def check_lang(value: str) -> str:
    """A BCP 47 language tag such as ``en``, ``ru`` or ``en-US``; UsageError otherwise."""
    tag = value.strip()
    if not is_language_tag(tag, max_subtags=MAX_LANGUAGE_SUBTAGS, allow_final_newline=True):
        raise UsageError(f"{value!r} is not a language tag", hint="use a BCP 47 tag such as en, ru or en-US")
    return tag


def check_text(text: str) -> str:
    """The message text as given; refuses an empty one (UsageError) and an oversized one (OversizedInput)."""
    if not text.strip():
        raise UsageError("the message is empty", hint="give the text with --body, --body-file FILE or on stdin")
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise OversizedInput(f"the message is longer than {MAX_TEXT_BYTES // 1024} KiB",
                             hint="send a short message; attach documents through another measure")
    return text


def check_peer(store: Store, peer: str) -> str:
    """A single known peer we can encrypt to. UsageError for ourselves or '*', NotFound for unknown or
    revoked parties and for a party whose card carries no encryption key."""
    code = peer.strip().upper()
    if code == ALL_PEERS or "," in code:
        raise UsageError("a hotline message goes to exactly one party", hint="--to RU")
    if code == store.party:
        raise UsageError(f"{code} is us: a hotline message goes to a peer", hint="--to RU")
    store.check_recipients([code])
    key = store.active_key(code)
    if len(key.enc_key) != 32:
        raise NotFound(f"{code} has no encryption key: its party card cannot receive sealed messages",
                       hint=f"ask {code} for a current party card and import it with `cbm keys import`")
    return code


# -- sealing ---------------------------------------------------------------------------------------------


def _seal(store: Store, peer: str, text: str, context: str) -> dict[str, object]:
    own = store.signer()
    recipients = {peer: store.active_key(peer).enc_key, store.party: own.public_enc_key}
    return seal(text.encode("utf-8"), sender=store.party, sender_key=own.encryption, recipients=recipients,
                context=context)


def checked(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` once it meets the rules of its kind (records.py): every hotline body we sign goes through here.
    Raises InvalidBody."""
    return RECORDS[kind].from_body(body).to_body()


def message_context(dseq: object) -> str:
    return f"{KIND_MESSAGE}:{dseq}"


def translation_context(ref: str) -> str:
    return f"{KIND_TRANSLATION}:{ref}"


def _unseal(store: Store, record: Record, context: str) -> str:
    """Decrypt a sealed body as us. NotFound if not sealed for us; BadSignature if it does not authenticate."""
    sealed = record.body.get("sealed")
    if not isinstance(sealed, dict):
        raise MalformedInput(f"hotline record {record.short} has no sealed body")
    if sealed.get("sender") != record.author:
        raise BadSignature(f"hotline record {record.short} is sealed by {sealed.get('sender')!r}, "
                           f"not by its author {record.author}")
    plaintext = open_sealed(sealed, reader=store.party, reader_key=[p.encryption for p in store.key_pairs()],
                            sender_public=[k.enc_key for k in store.party_keys(record.author)], context=context)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedInput(f"hotline record {record.short} does not hold UTF-8 text") from e


def _append(store: Store, make: Callable[[], list[Draft]]) -> list[Record]:
    """Append drafts built *inside* the write transaction, so the per-direction numbers they carry cannot
    be taken twice by concurrent processes."""
    store.key_pairs()  # unlock (perhaps a prompt) before taking the write lock
    with store.transaction():
        return store.append_locked(make())


# -- sending ---------------------------------------------------------------------------------------------


@dataclass
class Sent:
    id: str
    to: str
    dseq: int
    peer_seen: int
    precedence: str
    lang: str
    created: str
    deadline: str
    bytes: int


def send(store: Store, to: str, text: str, *, precedence: str = "ROUTINE", lang: str = "en") -> Sent:
    """Seal ``text`` to ``to`` (and to us) and append it as the next message of our direction.

    Raises UsageError (empty text, bad precedence/language, ourselves), NotFound (unknown/revoked peer or
    no encryption key), OversizedInput. Nothing is written unless everything checks.
    """
    peer = check_peer(store, to)
    text, precedence, lang = check_text(text), check_precedence(precedence), check_lang(lang)
    cfg = settings(store.config)

    def draft() -> list[Draft]:
        dseq = store.query(last_dseq, store.party, peer) + 1
        seen = store.query(last_dseq, peer, store.party)
        body = checked(KIND_MESSAGE, {"dseq": dseq, "peer_seen": seen, "precedence": precedence, "lang": lang,
                                      "sealed": _seal(store, peer, text, message_context(dseq))})
        return [Draft(KIND_MESSAGE, body, (peer,), TLP)]

    record = _append(store, draft)[0]
    deadline = clock.parse_time(record.created) + cfg.deadlines[precedence]
    return Sent(record.hash, peer, record.body["dseq"], record.body["peer_seen"], precedence, lang, record.created,
                clock.iso(deadline), len(record.envelope))


def _message_record(store: Store, ref: str) -> Record:
    record = store.get(ref, kind_prefix=KIND_MESSAGE)
    if record.kind != KIND_MESSAGE:
        raise NotFound(f"{record.short} is a {record.kind} record, not a hotline message",
                       hint="see `cbm hotline inbox` for message ids")
    if record.author != store.party and store.party not in record.to:
        raise WrongRecipient(f"hotline message {record.short} is between {record.author} and "
                             f"{', '.join(record.to)}, not for us")
    return record


def _other(store: Store, record: Record) -> str:
    return record.to[0] if record.author == store.party else record.author


# -- reading ---------------------------------------------------------------------------------------------


@dataclass
class ReadResult:
    message: Message
    receipt: str | None  # id of the read receipt written now, if any
    already_read: bool


def read(store: Store, ref: str, *, receipt: bool = True) -> ReadResult:
    """Decrypt a message (and its translations) and, if it is addressed to us and not yet read, append a
    signed read receipt. Raises NotFound (no such message), WrongRecipient, BadSignature (does not decrypt)."""
    record = _message_record(store, ref)
    text = _unseal(store, record, message_context(record.body.get("dseq")))
    message = _find(load(store), record)
    message.text = text
    for t in message.translations:
        try:
            t.text = _unseal(store, store.get(t.id), translation_context(record.hash))
        except CbmError as e:
            t.problem = str(e)
    written = None
    already = message.read is not None
    if receipt and message.incoming and not store.query(has_reply, KIND_RECEIPT, store.party, record.hash, "read"):
        made = store.append(KIND_RECEIPT, checked(KIND_RECEIPT, {"ref": record.hash, "type": "read",
                                                                  "dseq": message.dseq}),
                            to=(record.author,), tlp=TLP)
        written = made.hash
        message.read = message.read or made.created
        message.delivered = message.delivered or made.created
        message.overdue = False
    return ReadResult(message, written, already)


def _find(state: HotlineState, record: Record) -> Message:
    peer = record.to[0] if record.author == state.party else record.author
    for m in state.conversation(peer).messages:
        if m.id == record.hash:
            return m
    raise NotFound(f"hotline message {record.short} is not part of a conversation with us")


def translate(store: Store, ref: str, text: str, *, lang: str) -> Translation:
    """Append an unofficial translation of a message, sealed to both parties and linked to it."""
    record = _message_record(store, ref)
    text, lang = check_text(text), check_lang(lang)
    peer = check_peer(store, _other(store, record))
    body = checked(KIND_TRANSLATION, {"ref": record.hash, "lang": lang, "unofficial": True,
                                      "sealed": _seal(store, peer, text, translation_context(record.hash))})
    made = store.append(KIND_TRANSLATION, body, to=(peer,), tlp=TLP)
    return Translation(made.hash, store.party, lang, made.created, True, text)


# -- inbox and status ------------------------------------------------------------------------------------


def inbox(store: Store, *, unread_only: bool = False) -> list[Message]:
    """Messages addressed to us: unread first (most urgent precedence, then oldest), then read (newest first)."""
    state = load(store)
    incoming = [m for c in state.conversations.values() for m in c.messages if m.incoming]
    if unread_only:
        incoming = [m for m in incoming if m.read is None]
    unread = sorted((m for m in incoming if m.read is None),
                    key=lambda m: (_rank(m.precedence), m.created, m.id))
    done = sorted((m for m in incoming if m.read is not None), key=lambda m: (m.created, m.id), reverse=True)
    return unread + done


def _rank(precedence: str) -> int:
    return precedence_rank(precedence)


@dataclass
class PeerStatus:
    peer: str
    last_contact: str | None
    last_contact_received: str | None
    sent: int
    received: int
    unread: list[Message] = field(default_factory=list)  # incoming, no read receipt from us
    unacknowledged: list[Message] = field(default_factory=list)  # ours, no read receipt from the peer
    tests: list[LinkTest] = field(default_factory=list)  # our link tests, newest first
    answered_for_peer: int = 0  # the peer's link tests we answered
    anomalies: list[Anomaly] = field(default_factory=list)


def status(store: Store, peer: str | None = None) -> list[PeerStatus]:
    """Per peer: last contact, unread and unacknowledged messages (overdue first), link-test history."""
    state = load(store)
    peers = sorted(state.conversations)
    if peer is not None:
        code = peer.strip().upper()
        if code == store.party:
            raise UsageError(f"{code} is us", hint="--with names a peer")
        store.check_recipients([code])
        peers = [code]
    out = []
    for code in peers:
        c = state.conversation(code)

        def urgent(m: Message) -> tuple[int, int, str]:
            return (0 if m.overdue else 1, _rank(m.precedence), m.created)

        out.append(PeerStatus(
            peer=code, last_contact=c.last_contact, last_contact_received=c.last_contact_received,
            sent=sum(1 for m in c.messages if not m.incoming), received=sum(1 for m in c.messages if m.incoming),
            unread=sorted((m for m in c.messages if m.incoming and m.read is None), key=urgent),
            unacknowledged=sorted((m for m in c.messages if not m.incoming and m.read is None), key=urgent),
            tests=[t for t in reversed(c.tests) if t.by == store.party],
            answered_for_peer=sum(1 for t in c.tests if t.by != store.party and t.answer_id),
            anomalies=list(c.anomalies)))
    return out


# -- link tests ------------------------------------------------------------------------------------------


def link_test(store: Store, to: str) -> LinkTest:
    """Append a link test for ``to``; its store answers automatically when it imports our next bundle."""
    peer = check_peer(store, to)
    record = store.append(KIND_TEST, checked(KIND_TEST, {"nonce": nacl.utils.random(8).hex(), "purpose": "link test"}),
                          to=(peer,), tlp=TLP)
    return LinkTest(record.hash, store.party, peer, record.created)


# -- hooks -----------------------------------------------------------------------------------------------


def on_import(store: Store, records: Sequence[Record]) -> list[Record]:
    """After an import: a delivered receipt for each new message to us, an answer for each link test.

    Tolerates malformed peer records (they are reported by ``transcript --verify``, never crash an import).
    """
    drafts = []
    for r in records:
        if r.author == store.party or store.party not in r.to or not r.kind.startswith("hotline."):
            continue
        if r.kind == KIND_MESSAGE and not store.query(has_reply, KIND_RECEIPT, store.party, r.hash, "delivered"):
            dseq = r.body.get("dseq")
            body = {"ref": r.hash, "type": "delivered", "dseq": dseq if isinstance(dseq, int) else None}
            drafts.append(Draft(KIND_RECEIPT, checked(KIND_RECEIPT, body), (r.author,), TLP))
        elif r.kind == KIND_TEST and not store.query(has_reply, KIND_TEST_REPLY, store.party, r.hash):
            drafts.append(Draft(KIND_TEST_REPLY, checked(KIND_TEST_REPLY, {"ref": r.hash}), (r.author,), TLP))
    return store.append_many(drafts) if drafts else []


def attention(store: Store) -> list[Attention]:
    """For ``cbm status``: anomalies and overdue messages first, then unread, failed or due link tests."""
    try:
        state = load(store)
        cfg = settings(store.config)
    except CbmError as e:
        return [Attention("hotline", 0, f"hotline state cannot be computed: {e}")]
    items = []
    now = clock.parse_time(state.now)
    for c in state.conversations.values():
        for a in c.anomalies:
            items.append(Attention("hotline", 0, f"{c.peer}: {a.text}", ref=a.ref))
        for m in c.messages:
            if m.read is not None:
                continue
            what = f"{m.precedence} message {m.id[:12]}"
            if m.incoming:
                text = f"{what} from {m.sender} is unread" + (" and overdue" if m.overdue else "")
                items.append(Attention("hotline", 0 if m.overdue else 1, text, ref=m.id, due=m.deadline))
            elif m.overdue:
                state_text = "delivered, not yet read" if m.delivered else "no delivery receipt yet"
                items.append(Attention("hotline", 0, f"{what} to {m.recipient} not acknowledged by its deadline "
                                                     f"({state_text})", ref=m.id, due=m.deadline))
        ours = [t for t in c.tests if t.by == state.party]
        if ours and ours[-1].status == "failed":
            items.append(Attention("hotline", 1, f"link test {ours[-1].id[:12]} to {c.peer} unanswered since "
                                                 f"{ours[-1].created}", ref=ours[-1].id))
        answered = [t for t in ours if t.answer_id]
        pending = ours and ours[-1].status == "pending"
        if not pending and (not answered or now - clock.parse_time(answered[-1].created) > cfg.test_interval):
            since = f"last answered {answered[-1].created}" if answered else "never tested"
            due = clock.iso(clock.parse_time(answered[-1].created) + cfg.test_interval) if answered else None
            if not (ours and ours[-1].status == "failed"):
                items.append(Attention("hotline", 2, f"link test to {c.peer} due ({since}): "
                                                     f"cbm hotline test --to {c.peer}", due=due))
    return items

