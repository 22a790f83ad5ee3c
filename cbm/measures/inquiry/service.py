"""Formal inquiries about ICT incidents over the risk-reduction link: open, acknowledge, reply, clarify, close.

Every message is a signed record in its author's log (``inquiry.open`` and, referencing it by hash in
``body["ref"]``, ``inquiry.ack|reply|clarify|close|withdraw``); the state is folded from them by
:mod:`cbm.measures.inquiry.model`. Reference numbers (``US-RU/2026/0007``) are scoped to the sender and
sequential per year, derived from our own log, so never reused (docs/adr/0030-inquiry-records-and-numbers.md).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cbm.core import clock, refs
from cbm.core.errors import NotFound, OversizedInput, UsageError
from cbm.core.fields import PRECEDENCES, single_line
from cbm.core.tlp import check_tlp
from cbm.measures.base import Attention
from cbm.measures.inquiry import records
from cbm.measures.inquiry.model import (
    MESSAGE_KINDS,
    OUTCOMES,
    TERMINAL,
    TYPES,
    Thread,
    check_action,
    deadlines_for,
    fold,
    normalise_choice,
)
from cbm.measures.inquiry.reading import Signed, safe_name, save_attachments, signatures  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from cbm.core.records import Record
    from cbm.store.db import Store

MAX_TEXT_BYTES = 256 * 1024
MAX_SUBJECT = 200
STIX_INDICATOR = re.compile(r"^indicator--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SECTOR = re.compile(r"^[a-z][a-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class OpenRequest:
    """What ``cbm inquiry open`` asks for; validated by :func:`open_inquiry` before anything is written."""

    to: str
    type: str
    precedence: str
    subject: str
    text: str
    sector: str | None = None
    indicators: Sequence[str] = ()
    attachments: Sequence[Path] = ()
    tlp: str = "AMBER"
    reply_by: str | None = None
    draft: bool = False


# -- finding threads ---------------------------------------------------------------------------------------


def _index() -> Any:
    from cbm.measures.inquiry import index as index_inquiry

    return index_inquiry


def delivered_time(store: Store, open_record: Record) -> str | None:
    """When the recipient received the opening record, as its signed receipt says.

    On the recipient's side, before it has written a receipt of its own, the time the record landed in
    its store stands in (the same clock the receipt would use).
    """
    from cbm.store.index_receipts import delivered_at

    if open_record.body.get("draft") is True:
        return None
    recipient = open_record.body.get("recipient")
    if not isinstance(recipient, str):
        return None
    when = store.query(delivered_at, recipient, open_record.author, open_record.seq)
    if when is None and store.party == recipient:
        when = store.query(_index().received_at, open_record.hash)
    return when


def load_thread(store: Store, open_hash: str) -> Thread:
    """Fold the thread rooted at ``open_hash``. Raises NotFound."""
    open_record = store.get(open_hash)
    if open_record.kind != "inquiry.open":
        raise NotFound(f"record {open_hash[:12]} is not an inquiry")
    draft = None
    released = open_record.body.get("released_from")
    if isinstance(released, str):
        try:
            draft = store.get(released)
        except NotFound:
            draft = None  # drafts stay with their author; the recipient never sees them
        if draft is not None and (draft.author != open_record.author or draft.kind != "inquiry.open"
                                  or draft.body.get("draft") is not True):
            draft = None
    followups = [r for r in store.records(subject=open_record.hash) if r.kind in MESSAGE_KINDS]
    return fold(open_record, draft, followups, delivered_time(store, open_record))


def resolve(store: Store, ref: str) -> Thread:
    """The inquiry named by its reference number, the recipient's own reference, or a record hash prefix.

    Raises NotFound (exit 5), or UsageError if the reference is ambiguous.
    """
    text = ref.strip()
    if not text:
        raise UsageError("an inquiry reference is required", hint="e.g. US-RU/2026/0007; see `cbm inquiry list`")
    rows = store.query(_index().by_number, text)
    if rows:
        released = [h for h, draft in rows if not draft]
        candidates = released or [h for h, _ in rows]
        if len(candidates) > 1:
            raise UsageError(f"{text} names {len(candidates)} inquiries",
                             hint="give the opening record's hash instead: " +
                                  ", ".join(h[:12] for h in candidates))
        return load_thread(store, candidates[0])
    if refs.is_hex_prefix(text):  # a short one is refused with the candidates (cbm.core.refs)
        try:
            record = store.get(text, kind_prefix="inquiry.")
        except NotFound:
            record = None
        if record is not None:
            if record.kind in MESSAGE_KINDS and isinstance(record.body.get("ref"), str):
                return load_thread(store, record.body["ref"])
            if record.kind == "inquiry.open":
                for open_hash, _, released_from in store.query(_index().all_threads):
                    if released_from == record.hash:
                        return load_thread(store, open_hash)
                return load_thread(store, record.hash)
    raise NotFound(f"no inquiry {text}", hint="see `cbm inquiry list --all`")


def threads(store: Store) -> list[Thread]:
    """Every inquiry we hold (a released draft appears once, as the inquiry it became), oldest first."""
    rows = store.query(_index().all_threads)
    released = {r for _, _, r in rows if r}
    return [load_thread(store, h) for h, _, _ in rows if h not in released]


def list_threads(store: Store, *, state: str | None = None, overdue: bool = False, to: str | None = None,
                 sender: str | None = None, include_closed: bool = False) -> list[Thread]:
    """Inquiries filtered as ``cbm inquiry list`` does, open ones first, soonest deadline first."""
    if state is not None:
        from cbm.measures.inquiry.model import STATES

        state = normalise_choice(state, STATES, "state")
    now = clock.now()
    result = []
    for thread in threads(store):
        if state is not None and thread.state != state:
            continue
        if state is None and not include_closed and not overdue and thread.state in TERMINAL:
            continue
        if overdue and not thread.overdue(now):
            continue
        if to is not None and thread.recipient != to.upper():
            continue
        if sender is not None and thread.sender != sender.upper():
            continue
        result.append(thread)
    return sorted(result, key=lambda t: (t.state in TERMINAL, not t.overdue(now), t.due or "9999", t.number))


# -- writing -----------------------------------------------------------------------------------------------


@contextmanager
def _serialised(store: Store) -> Iterator[None]:
    """One inquiry writer at a time per store, so a number is never taken twice and a check still holds
    when its record lands (two watch officers acknowledging at the same instant)."""
    lock_dir = store.root / "locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / "inquiry.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def next_number(store: Store, recipient: str, year: int) -> str:
    """``US-RU/2026/0008``: our next serial for ``year``, one more than the highest we ever used."""
    serial = store.query(_index().last_serial, store.party, year) + 1
    return f"{store.party}-{recipient}/{year}/{serial:04d}"


def check_text(text: str, what: str = "body") -> str:
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise OversizedInput(f"the {what} is longer than {MAX_TEXT_BYTES // 1024} KiB",
                             hint="attach long material with --attach FILE")
    return text


def check_indicators(store: Store, ids: Sequence[str]) -> list[str]:
    """Each id must be a STIX indicator id, or a unique prefix of one (UsageError, listing candidates when
    ambiguous), that some record in the store carries (NotFound). Returns the full ids.

    Uses the indicators measure's index when it offers a lookup, else looks for the id in the payloads
    of ``indicators.*`` records (docs/adr/0032-inquiry-links-and-attachments.md).
    """
    wanted = []
    for raw in ids:
        value = raw.strip().lower()
        if not STIX_INDICATOR.match(value):
            value = _indicator_prefix(store, raw)
        wanted.append(value)
    missing = [i for i in dict.fromkeys(wanted) if not _indicator_known(store, i)]
    if missing:
        raise NotFound(f"unknown indicator {missing[0]}" + (f" (and {len(missing) - 1} more)" if missing[1:] else ""),
                       hint="link only indicators held in this store; see `cbm indicators list`")
    return list(dict.fromkeys(wanted))


def _indicator_prefix(store: Store, raw: str) -> str:
    """The full STIX id a short one (``7471f94a``) names, through the indicators index (cbm.core.refs rules)."""
    try:
        from cbm.measures.indicators import queries as indicator_queries  # built by the indicators measure
    except ImportError:
        indicator_queries = None  # type: ignore[assignment]
    resolve_id = getattr(indicator_queries, "resolve_id", None)
    if not callable(resolve_id):
        raise UsageError(f"{raw!r} is not a STIX indicator id", hint="like indicator--<uuid>")
    return str(store.query(resolve_id, raw))


def _indicator_known(store: Store, indicator_id: str) -> bool:
    try:
        from cbm.measures.indicators import queries as indicator_queries  # built by the indicators measure
        lookup = getattr(indicator_queries, "get", None)
    except ImportError:
        lookup = None
    if callable(lookup):
        return bool(store.query(lookup, indicator_id))  # every author's current version of this STIX id
    needle = f'"{indicator_id}"'.encode()
    return any(needle in r.payload for r in store.records(kind_prefix="indicators."))


def _check_files(files: Sequence[Path]) -> None:
    for path in files:
        if not os.path.isfile(path):
            raise NotFound(f"attachment {path} does not exist or is not a file")


def _store_attachments(store: Store, files: Sequence[Path]) -> tuple[list[str], list[dict[str, Any]]]:
    _check_files(files)
    digests, listing = [], []
    for path in files:
        digest, size = store.blobs.put_file(Path(path))
        if digest not in digests:
            digests.append(digest)
        listing.append({"name": Path(path).name, "sha256": digest, "size": size})
    return digests, listing


def _reply_by(value: str | None, what: str = "--reply-by") -> str | None:
    if value is None:
        return None
    moment = clock.parse_time(value, what=what)
    if moment <= clock.now():
        raise UsageError(f"{what} {clock.iso(moment)} is not in the future")
    return clock.iso(moment)


def open_inquiry(store: Store, request: OpenRequest) -> Thread:
    """Sign and store a new inquiry (or a draft of one, kept to ourselves until :func:`send`).

    Raises UsageError (2) for a bad type, precedence, TLP or time; NotFound (5) for an unknown party,
    indicator or attachment file; OversizedInput (4) for an over-long body. Nothing is written on error.
    """
    tlp = check_tlp(request.tlp)
    kind = normalise_choice(request.type, TYPES, "type")
    precedence = normalise_choice(request.precedence, PRECEDENCES, "precedence")
    recipient = request.to.strip().upper()
    if recipient == "*" or "," in recipient:
        raise UsageError("an inquiry goes to one party", hint="open one inquiry per party")
    if recipient == store.party:
        raise UsageError("an inquiry cannot be addressed to ourselves")
    store.check_recipients([recipient])
    store.active_key(recipient)
    subject = single_line(request.subject, "the subject")
    if not subject:
        raise UsageError("an inquiry needs a --subject")
    if len(subject) > MAX_SUBJECT:
        raise UsageError(f"the subject is longer than {MAX_SUBJECT} characters")
    text = check_text(request.text)
    if not text.strip():
        raise UsageError("an inquiry needs a body", hint="--body TEXT or --body-file FILE")
    sector = request.sector.strip().lower() if request.sector else None
    if sector is not None and not SECTOR.match(sector):
        raise UsageError(f"{request.sector!r} is not a sector name", hint="e.g. energy, finance, transport")
    if kind == "notification" and request.reply_by:
        raise UsageError("a notification needs only an acknowledgement: it takes no --reply-by",
                         hint="open a request_for_information if you need an answer by a time")
    reply_by = _reply_by(request.reply_by)
    indicators = check_indicators(store, request.indicators)
    ack_within, reply_within = deadlines_for(store.config, precedence)
    with _serialised(store):
        blobs, attachments = _store_attachments(store, request.attachments)
        number = next_number(store, recipient, clock.now().year)
        body: dict[str, Any] = {
            "number": number, "recipient": recipient, "type": kind, "precedence": precedence,
            "subject": subject, "text": text, "indicators": indicators, "blobs": blobs,
            "attachments": attachments, "ack_within": int(ack_within.total_seconds()),
            "reply_within": int(reply_within.total_seconds()),
        }
        if sector:
            body["sector"] = sector
        if reply_by:
            body["reply_by"] = reply_by
        if request.draft:
            body["draft"] = True
        body = records.Open.from_body(body).to_body()  # what we sign meets the record's rules
        record = store.append("inquiry.open", body, to=[store.party] if request.draft else [recipient], tlp=tlp)
    return load_thread(store, record.hash)


def send(store: Store, ref: str) -> Thread:
    """Release a draft: sign the inquiry to its recipient under the draft's number. Raises IllegalTransition."""
    with _serialised(store):
        thread = resolve(store, ref)
        check_action(thread, store.party, "send")
        draft = thread.open
        body = {k: v for k, v in draft.body.items() if k != "draft"}
        reply_by = body.get("reply_by")
        if isinstance(reply_by, str) and clock.parse_time(reply_by) <= clock.now():
            raise UsageError(f"the draft's reply-by time {reply_by} has passed",
                             hint="withdraw the draft and open a new inquiry with a later --reply-by")
        body["released_from"] = draft.hash
        body = records.Open.from_body(body).to_body()
        record = store.append("inquiry.open", body, to=[thread.recipient], tlp=draft.tlp)
    return load_thread(store, record.hash)


def _message(store: Store, ref: str, action: str, extra: dict[str, Any], tlp: str | None = None,
             attachments: Sequence[Path] = ()) -> Thread:
    """Check the transition, store attachments, sign the message: nothing is written if the check fails."""
    label = check_tlp(tlp) if tlp else None
    _check_files(attachments)
    with _serialised(store):
        thread = resolve(store, ref)
        check_action(thread, store.party, action)
        if attachments:
            blobs, listing = _store_attachments(store, attachments)
            extra = {**extra, "blobs": blobs, "attachments": listing}
        last = thread.messages[-1].hash if thread.messages else thread.open.hash
        body = records.RECORDS[f"inquiry.{action}"].from_body(
            {"ref": thread.open.hash, "number": thread.number, "after": last, **extra}).to_body()
        to = [store.party] if thread.state == "draft" else [thread.peer_of(store.party)]
        store.append(f"inquiry.{action}", body, to=to, tlp=label or thread.open.tlp)
    return load_thread(store, thread.open.hash)


def acknowledge(store: Store, ref: str, *, note: str | None = None, own_ref: str | None = None) -> Thread:
    """The recipient's formal acknowledgement, optionally with its own reference number.

    Raises UsageError (exit 2) when ``own_ref`` already names another inquiry (a number or an alias), since
    that reference would then resolve to two inquiries; plus whatever the acknowledgement itself raises.
    """
    extra: dict[str, Any] = {}
    if note:
        extra["note"] = check_text(note, "note")
    if own_ref:
        extra["own_ref"] = own_ref.strip()
        this = resolve(store, ref).open.hash
        taken = [h for h, _ in store.query(_index().by_number, extra["own_ref"]) if h != this]
        if taken:
            other = load_thread(store, taken[0])
            raise UsageError(f"{extra['own_ref']} already names inquiry {other.number} ({taken[0][:12]})",
                             hint="choose a reference that no other inquiry uses; see `cbm inquiry list --all`")
    return _message(store, ref, "ack", extra)


def reply(store: Store, ref: str, *, text: str, indicators: Sequence[str] = (),
          attachments: Sequence[Path] = (), tlp: str | None = None) -> Thread:
    """The recipient's answer (a later reply supplements an earlier one)."""
    if not check_text(text).strip():
        raise UsageError("a reply needs a body", hint="--body TEXT or --body-file FILE")
    linked = check_indicators(store, indicators)
    return _message(store, ref, "reply", {"text": text, "indicators": linked, "blobs": [], "attachments": []},
                    tlp, attachments)


def clarify(store: Store, ref: str, *, text: str, attachments: Sequence[Path] = (),
            reply_by: str | None = None) -> Thread:
    """A request for, or the giving of, clarification (either side)."""
    if not check_text(text).strip():
        raise UsageError("a clarification needs a body", hint="--body TEXT or --body-file FILE")
    due = _reply_by(reply_by)
    extra: dict[str, Any] = {"text": text, "blobs": [], "attachments": []}
    if due:
        extra["reply_by"] = due
    return _message(store, ref, "clarify", extra, attachments=attachments)


def close(store: Store, ref: str, *, outcome: str, note: str | None = None) -> Thread:
    """The sender closes its inquiry: satisfied, unsatisfied or escalated."""
    extra: dict[str, Any] = {"outcome": normalise_choice(outcome, OUTCOMES, "outcome")}
    if note:
        extra["note"] = check_text(note, "note")
    return _message(store, ref, "close", extra)


def withdraw(store: Store, ref: str, *, reason: str) -> Thread:
    """The sender withdraws its inquiry (or discards a draft; its number is not reused)."""
    if not reason.strip():
        raise UsageError("withdrawing needs a --reason")
    return _message(store, ref, "withdraw", {"reason": check_text(reason, "reason")})


# -- cbm status --------------------------------------------------------------------------------------------


def attention(store: Store) -> list[Attention]:
    """Inquiries waiting on us (acknowledge, reply, clarify, close), overdue first, soonest deadline first;
    then the peer's overdue answers to our inquiries, and unsent drafts."""
    now = clock.now()
    items = []
    for thread in threads(store):
        if thread.state in TERMINAL:
            continue
        subject = str(thread.body.get("subject", ""))
        countdown = thread.countdown(now)
        tail = f" — {countdown}" if countdown else ""
        if thread.awaiting == store.party:
            what = {"draft": "send or withdraw the draft", "delivered": "acknowledge",
                    "acknowledged": "reply", "answered": f"answered by {thread.recipient}: close it",
                    "clarification": "clarify"}.get(thread.state, thread.state)
            if thread.state == "clarification" and store.party == thread.recipient:
                what = "clarify or reply"
            rank = 0 if thread.overdue(now) else 1 if thread.due else 2
            items.append(Attention("inquiry", rank, f"{thread.number} {thread.precedence}: {what}: "
                                                    f"{subject}{tail}", ref=thread.number, due=thread.due))
        elif thread.awaiting and thread.overdue(now):
            items.append(Attention("inquiry", 2, f"{thread.number}: {thread.awaiting} is late ({countdown}); "
                                                 f"consider escalation: {subject}", ref=thread.number,
                                   due=thread.due))
    return sorted(items, key=lambda a: (a.rank, a.due or "9999"))
