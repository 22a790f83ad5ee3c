"""Hotline state, folded from records: conversations, receipts, link tests, sequence checks.

Nothing here decrypts or writes; everything is a pure function of the ``hotline.*`` records in a store plus
the time they landed, so both parties holding the same records derive the same conversation (same order,
same anomalies). See docs/adr/0040-hotline-records.md and 0041-hotline-sequence.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.fields import PRECEDENCES, is_language_tag
from cbm.core.records import Record
from cbm.measures.hotline.index import received_times
from cbm.store.db import Store

KIND_MESSAGE = "hotline.message"
KIND_RECEIPT = "hotline.receipt"
KIND_TRANSLATION = "hotline.translation"
KIND_TEST = "hotline.test"
KIND_TEST_REPLY = "hotline.test_reply"
KIND_TRANSCRIPT = "hotline.transcript"

INVALID = "INVALID"  # shown for a peer's record whose precedence is not one of PRECEDENCES
MAX_LANGUAGE_SUBTAGS = 4  # en-Latn-US-x-y: the hotline takes at most four subtags after the language
# Acknowledgement (read receipt) deadlines, after the message's creation; [hotline.deadlines] overrides.
DEFAULT_DEADLINES = {"FLASH": "10m", "IMMEDIATE": "30m", "PRIORITY": "3h", "ROUTINE": "6h"}
DEFAULT_TEST_TIMEOUT = "1h"  # a link test unanswered this long has failed
DEFAULT_TEST_INTERVAL = "24h"  # a link test is due when the last answered one is older than this


@dataclass(frozen=True)
class Settings:
    deadlines: dict[str, timedelta]
    test_timeout: timedelta
    test_interval: timedelta


def _duration(value: Any, where: str) -> timedelta:
    if not isinstance(value, str):
        raise UsageError(f"config.toml {where}: {value!r} is not a duration", hint='write e.g. "10m", "4h"')
    try:
        return clock.parse_duration(value)
    except UsageError as e:
        raise UsageError(f"config.toml {where}: {e}", hint='write e.g. "10m", "4h" or "2d"') from e


def settings(config: dict[str, Any]) -> Settings:
    """Deadlines and link-test timings from ``[hotline]`` in config.toml, defaults in code. Raises UsageError."""
    section = config.get("hotline", {})
    if not isinstance(section, dict):
        raise UsageError("config.toml [hotline] must be a table")
    given = section.get("deadlines", {})
    if not isinstance(given, dict):
        raise UsageError("config.toml [hotline.deadlines] must be a table")
    deadlines = {p: clock.parse_duration(v) for p, v in DEFAULT_DEADLINES.items()}
    for name, value in given.items():
        if name.upper() not in PRECEDENCES:
            raise UsageError(f"config.toml [hotline.deadlines]: unknown precedence {name!r}",
                             hint="one of " + ", ".join(PRECEDENCES))
        deadlines[name.upper()] = _duration(value, f"[hotline.deadlines] {name}")
    timeout = _duration(section.get("test_timeout", DEFAULT_TEST_TIMEOUT), "[hotline] test_timeout")
    interval = _duration(section.get("test_interval", DEFAULT_TEST_INTERVAL), "[hotline] test_interval")
    return Settings(deadlines, timeout, interval)


@dataclass
class Translation:
    id: str
    by: str
    lang: str
    created: str
    unofficial: bool = True
    text: str | None = None  # filled in only when decrypted
    problem: str | None = None  # why it could not be decrypted, if it could not


@dataclass
class Message:
    id: str
    sender: str
    recipient: str
    seq: int  # position in the sender's log
    dseq: int | None  # per-direction sequence number (sender -> recipient)
    peer_seen: int | None  # highest recipient -> sender dseq the sender had seen when writing
    precedence: str
    lang: str
    created: str
    received: str
    deadline: str  # acknowledgement (read) deadline
    incoming: bool  # addressed to us
    delivered: str | None = None  # the recipient's delivered receipt (its clock)
    read: str | None = None  # the recipient's read receipt (its clock)
    overdue: bool = False  # not read and the deadline has passed
    translations: list[Translation] = field(default_factory=list)
    text: str | None = None  # filled in only when decrypted
    problem: str | None = None  # why it could not be decrypted, if it could not

    @property
    def state(self) -> str:
        if self.read:
            return "read"
        if self.incoming:
            return "unread"
        return "delivered" if self.delivered else "sent"


@dataclass
class LinkTest:
    id: str
    by: str
    to: str
    created: str
    answer_id: str | None = None
    answered: str | None = None  # the answer's created time (answering store's clock)
    returned: str | None = None  # when the answer landed here (our clock; only for our own tests)
    rtt_seconds: int | None = None  # returned - created, both on our clock
    status: str = "pending"  # answered | late | pending | failed


@dataclass
class Anomaly:
    kind: str  # gap | replay | reorder | peer_seen | receipt | malformed
    text: str
    ref: str | None = None


@dataclass
class Conversation:
    peer: str
    messages: list[Message] = field(default_factory=list)  # in conversation (causal) order
    tests: list[LinkTest] = field(default_factory=list)  # oldest first
    anomalies: list[Anomaly] = field(default_factory=list)
    last_contact: str | None = None  # created time of the peer's newest hotline record
    last_contact_received: str | None = None  # when it landed here


@dataclass
class HotlineState:
    party: str
    now: str
    conversations: dict[str, Conversation]
    records: dict[str, Record]  # hotline records by hash (not serialised)

    def conversation(self, peer: str) -> Conversation:
        return self.conversations.get(peer) or Conversation(peer)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _lang(value: Any) -> str:
    """A peer's language tag if it is one, else ``und`` (BCP 47 "undetermined"): never raw peer bytes."""
    return value if is_language_tag(value, max_subtags=MAX_LANGUAGE_SUBTAGS, allow_final_newline=True) else "und"


def load(store: Store, now: datetime | None = None) -> HotlineState:
    """Fold every hotline record in ``store`` into conversations (one per peer). Never decrypts."""
    folding = _Load(store.party, settings(store.config), store.query(received_times), now or clock.now())
    later: list[Record] = []
    for r in store.records(kind_prefix="hotline."):
        if folding.first_pass(r):
            later.append(r)
    for r in later:  # receipts, translations and answers refer to records folded above
        handler = _Load.LATER.get(r.kind)
        if handler is not None:
            handler(folding, r)
    return folding.settled()


class _Load:
    """The hotline fold while it runs: one handler per record kind. Messages and link tests come first; the
    records that refer to them (receipts, translations, answers) are folded in a second pass."""

    def __init__(self, me: str, cfg: Settings, landed: dict[str, str], moment: datetime) -> None:
        self.me, self.cfg, self.landed, self.moment = me, cfg, landed, moment
        self.records: dict[str, Record] = {}
        self.convs: dict[str, Conversation] = {}
        self.messages: dict[str, Message] = {}
        self.tests: dict[str, LinkTest] = {}

    def conv(self, peer: str) -> Conversation:
        return self.convs.setdefault(peer, Conversation(peer))

    def peer_of(self, r: Record) -> str:
        return r.to[0] if r.author == self.me else r.author

    def first_pass(self, r: Record) -> bool:
        """Fold ``r`` if it is a message or a link test; True if it must wait for the second pass."""
        self.records[r.hash] = r
        peer = self.peer_of(r)
        if r.author != self.me and self.me not in r.to:
            return False  # between other parties (forwarded to us): not our conversation
        if r.author != self.me:
            c = self.conv(peer)
            if c.last_contact is None or r.created > c.last_contact:
                c.last_contact, c.last_contact_received = r.created, self.landed.get(r.hash)
        if r.kind == KIND_MESSAGE:
            self.message(r, peer)
        elif r.kind == KIND_TEST:
            self.test(r, peer)
        else:
            return True
        return False

    def message(self, r: Record, peer: str) -> None:
        body = r.body
        given = body.get("precedence")
        precedence = given if isinstance(given, str) and given in PRECEDENCES else INVALID
        dseq, peer_seen = _int(body.get("dseq")), _int(body.get("peer_seen"))
        created = clock.parse_time(r.created)
        deadline = created + self.cfg.deadlines.get(precedence, self.cfg.deadlines["ROUTINE"])
        m = Message(id=r.hash, sender=r.author, recipient=r.to[0], seq=r.seq, dseq=dseq, peer_seen=peer_seen,
                    precedence=precedence, lang=_lang(body.get("lang")), created=r.created,
                    received=self.landed.get(r.hash, r.created), deadline=clock.iso(deadline),
                    incoming=r.author != self.me)
        self.messages[r.hash] = m
        c = self.conv(peer)
        problems = []
        if len(r.to) != 1:
            problems.append("is addressed to more than one party")
        if dseq is None or dseq < 1 or peer_seen is None:
            problems.append("has no valid sequence numbers")
        if precedence == INVALID or not isinstance(body.get("sealed"), dict):
            problems.append("has no valid precedence or sealed body")
        if _lang(body.get("lang")) == "und" and body.get("lang") != "und":
            problems.append("has no valid language tag")
        if problems:
            c.anomalies.append(Anomaly("malformed", f"{r.author} message {r.hash[:12]} " + "; ".join(problems),
                                       r.hash))
        c.messages.append(m)

    def test(self, r: Record, peer: str) -> None:
        t = LinkTest(id=r.hash, by=r.author, to=r.to[0], created=r.created)
        self.tests[r.hash] = t
        self.conv(peer).tests.append(t)

    def _message_of(self, r: Record) -> Message | None:
        ref = r.body.get("ref")
        return self.messages.get(ref) if isinstance(ref, str) else None

    def receipt(self, r: Record) -> None:
        msg = self._message_of(r)
        if msg is None:
            self.conv(self.peer_of(r)).anomalies.append(Anomaly(
                "receipt", f"{r.author} receipt {r.hash[:12]} refers to no message we hold", r.hash))
            return
        kind = r.body.get("type")
        if r.author != msg.recipient or kind not in ("delivered", "read"):
            self.conv(self.peer_of(r)).anomalies.append(Anomaly(
                "receipt", f"{r.author} receipt {r.hash[:12]} for message {msg.id[:12]} is not from its "
                           f"recipient {msg.recipient} or has an unknown type", r.hash))
            return
        if kind == "read":
            msg.read = min(msg.read or r.created, r.created)
        msg.delivered = min(msg.delivered or r.created, r.created)

    def translation(self, r: Record) -> None:
        msg = self._message_of(r)
        if msg is not None and r.author in (msg.sender, msg.recipient):
            msg.translations.append(Translation(r.hash, r.author, _lang(r.body.get("lang")),
                                                r.created, r.body.get("unofficial", True) is not False))

    def test_reply(self, r: Record) -> None:
        ref = r.body.get("ref")
        test = self.tests.get(ref) if isinstance(ref, str) else None
        if test is None or r.author != test.to or test.answer_id is not None:
            return
        test.answer_id, test.answered = r.hash, r.created
        if test.by == self.me:
            test.returned = self.landed.get(r.hash, r.created)
            test.rtt_seconds = int((clock.parse_time(test.returned) - clock.parse_time(test.created))
                                   .total_seconds())

    LATER: dict[str, Callable[[_Load, Record], None]] = {
        KIND_RECEIPT: receipt, KIND_TRANSLATION: translation, KIND_TEST_REPLY: test_reply,
    }

    def settled(self) -> HotlineState:
        """Deadlines, link-test outcomes, sequence checks and causal order, once every record is folded."""
        for c in self.convs.values():
            for m in c.messages:
                m.overdue = m.read is None and self.moment > clock.parse_time(m.deadline)
                m.translations.sort(key=lambda t: (t.created, t.id))
            for t in c.tests:
                if t.answer_id is not None:
                    late = t.rtt_seconds is not None and t.rtt_seconds > self.cfg.test_timeout.total_seconds()
                    t.status = "late" if late else "answered"
                elif self.moment - clock.parse_time(t.created) > self.cfg.test_timeout:
                    t.status = "failed"
            c.tests.sort(key=lambda t: (t.created, t.id))
            c.anomalies.extend(check_sequences(c.messages, self.me, c.peer))
            c.messages = causal_order(c.messages, self.me, c.peer)
        return HotlineState(self.me, clock.iso(self.moment), self.convs, self.records)


def _ranges(numbers: list[int]) -> str:
    """[2, 3, 4, 7] -> "2-4, 7"."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def check_sequences(messages: list[Message], me: str, peer: str) -> list[Anomaly]:
    """Per-direction checks: each direction's ``dseq`` must run 1, 2, 3 … in its author's log order
    (a repeat is a replay, a hole a gap, a step back a reordering), and each ``peer_seen`` must never go
    back nor claim more than the other direction holds.
    """
    found: list[Anomaly] = []
    direction: dict[tuple[str, str], list[Message]] = defaultdict(list)
    for m in messages:
        if m.dseq is not None and m.dseq >= 1:
            direction[(m.sender, m.recipient)].append(m)
    for sender, recipient in ((me, peer), (peer, me)):
        mine = sorted(direction.get((sender, recipient), []), key=lambda m: m.seq)
        other = direction.get((recipient, sender), [])
        other_max = max((m.dseq or 0 for m in other), default=0)
        label = f"{sender}→{recipient}"
        by_dseq: dict[int, list[Message]] = defaultdict(list)
        highest, last_seen = 0, 0
        for m in mine:
            assert m.dseq is not None
            if m.dseq in by_dseq:
                found.append(Anomaly("replay", f"{label} message {m.dseq} appears twice ("
                                     f"{by_dseq[m.dseq][0].id[:12]} and {m.id[:12]}): replayed or duplicated", m.id))
            elif m.dseq < highest:
                found.append(Anomaly("reorder", f"{label} message {m.dseq} was written after message {highest} "
                                     f"in {sender}'s log: reordered", m.id))
            by_dseq[m.dseq].append(m)
            highest = max(highest, m.dseq)
            seen = m.peer_seen or 0
            if seen < last_seen:
                found.append(Anomaly("peer_seen", f"{label} message {m.dseq} says {sender} had seen "
                                     f"{recipient}→{sender} message {seen}, after saying {last_seen}", m.id))
            if seen > other_max:
                found.append(Anomaly("peer_seen", f"{label} message {m.dseq} says {sender} had seen "
                                     f"{recipient}→{sender} message {seen}, but only {other_max} are known here",
                                     m.id))
            last_seen = max(last_seen, seen)
        missing = sorted(set(range(1, highest + 1)) - set(by_dseq))
        if missing:
            found.append(Anomaly("gap", f"{label} message(s) {_ranges(missing)} missing (highest held is "
                                        f"{highest})"))
    return found


def causal_order(messages: list[Message], me: str, peer: str) -> list[Message]:
    """One deterministic order for both sides: each direction in ``dseq`` order, interleaved so that a
    message comes after every message its author had seen (``peer_seen``); ties by time, then party code.
    """
    queues = {}
    for sender, recipient in ((me, peer), (peer, me)):
        queues[sender] = sorted((m for m in messages if m.sender == sender and m.recipient == recipient),
                                key=lambda m: (m.dseq or 0, m.seq))
    rest = [m for m in messages if (m.sender, m.recipient) not in ((me, peer), (peer, me))]
    emitted = {me: 0, peer: 0}
    out: list[Message] = []
    while queues[me] or queues[peer]:
        heads = [q[0] for q in (queues[me], queues[peer]) if q]
        ready = [m for m in heads if (m.peer_seen or 0) <= emitted[m.recipient]]
        pick = min(ready or heads, key=lambda m: (m.created, m.sender, m.dseq or 0))
        queues[pick.sender].pop(0)
        emitted[pick.sender] = max(emitted[pick.sender], pick.dseq or 0)
        out.append(pick)
    return out + sorted(rest, key=lambda m: (m.created, m.id))
