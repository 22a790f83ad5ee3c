"""The inquiry state machine: vocabularies, deadlines, and the fold of a thread of signed records into a state.

A thread is one ``inquiry.open`` record (the root; its hash is every later message's ``body["ref"]``) plus the
``inquiry.ack|reply|clarify|close|withdraw`` records that reference it, from either side. States
(docs/adr/0031-inquiry-states-and-deadlines.md)::

    draft -> sent -> delivered -> acknowledged -> answered -> closed
                                      |   ^           |
                                      v   |           v
                                   clarification <----+         (any open state) -> withdrawn

``delivered`` is not a message: it is derived from the recipient's signed ``bundle.receipt`` covering the
opening record. Deadlines run from that receipt. Overdue is computed against the clock, never stored.
A message that is not allowed where it lands in the thread (a peer closing our inquiry, say) is ignored by the
fold and reported as an anomaly, so a faulty or hostile peer cannot move our state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cbm.core import clock
from cbm.core.errors import IllegalTransition, UsageError
from cbm.core.records import Record

TYPES = ("request_for_information", "request_for_assistance", "notification", "consultation_request")
OUTCOMES = ("satisfied", "unsatisfied", "escalated")
STATES = ("draft", "sent", "delivered", "acknowledged", "clarification", "answered", "closed", "withdrawn")
TERMINAL = ("closed", "withdrawn")
ACTIONS = ("send", "ack", "reply", "clarify", "close", "withdraw")
MESSAGE_KINDS = ("inquiry.ack", "inquiry.reply", "inquiry.clarify", "inquiry.close", "inquiry.withdraw")

# Defaults in the spirit of the Vienna Document (reply to an unusual-activity request within 48 hours) and
# message precedence practice: the more urgent, the shorter. Override in config.toml, [inquiry.deadlines].
DEFAULT_DEADLINES: dict[str, tuple[timedelta, timedelta]] = {
    "FLASH": (timedelta(minutes=15), timedelta(hours=4)),
    "IMMEDIATE": (timedelta(hours=1), timedelta(hours=12)),
    "PRIORITY": (timedelta(hours=4), timedelta(hours=24)),
    "ROUTINE": (timedelta(hours=24), timedelta(hours=48)),
}

# Who may do what from each state. "sender" wrote the opening record; "recipient" is the party it names.
ALLOWED: dict[str, dict[str, tuple[str, ...]]] = {
    "draft": {"sender": ("send", "withdraw"), "recipient": ()},
    "sent": {"sender": ("close", "withdraw"), "recipient": ("ack",)},
    "delivered": {"sender": ("close", "withdraw"), "recipient": ("ack",)},
    "acknowledged": {"sender": ("clarify", "close", "withdraw"), "recipient": ("reply", "clarify")},
    "clarification": {"sender": ("clarify", "close", "withdraw"), "recipient": ("reply", "clarify")},
    "answered": {"sender": ("clarify", "close"), "recipient": ("reply",)},
    "closed": {"sender": (), "recipient": ()},
    "withdrawn": {"sender": (), "recipient": ()},
}

VERB = {"send": "send", "ack": "acknowledge", "reply": "reply to", "clarify": "ask or give clarification on",
        "close": "close", "withdraw": "withdraw"}


def normalise_choice(value: str, choices: tuple[str, ...], what: str) -> str:
    """Case-insensitive match against a vocabulary; UsageError listing the choices."""
    wanted = value.strip().replace("-", "_")
    for choice in choices:
        if choice.lower() == wanted.lower():
            return choice
    raise UsageError(f"{value!r} is not an inquiry {what}", hint="one of " + ", ".join(choices))


def deadlines_for(config: dict[str, Any], precedence: str) -> tuple[timedelta, timedelta]:
    """(acknowledge within, reply within) for a precedence: config.toml ``[inquiry.deadlines.<PREC>]``
    with ``ack = "15m"`` and ``reply = "4h"``, else the defaults. Raises UsageError for a bad value."""
    ack, reply = DEFAULT_DEADLINES[precedence]
    section = config.get("inquiry", {}).get("deadlines", {})
    if not isinstance(section, dict):
        raise UsageError("config.toml: [inquiry.deadlines] must be a table")
    entry = next((v for k, v in section.items() if str(k).upper() == precedence), None)
    if entry is None:
        return ack, reply
    if not isinstance(entry, dict):
        raise UsageError(f"config.toml: [inquiry.deadlines.{precedence}] must be a table with ack and reply")
    try:
        if "ack" in entry:
            ack = clock.parse_duration(str(entry["ack"]))
        if "reply" in entry:
            reply = clock.parse_duration(str(entry["reply"]))
    except UsageError as e:
        raise UsageError(f"config.toml: [inquiry.deadlines.{precedence}]: {e}", hint=e.hint) from e
    return ack, reply


def human_duration(delta: timedelta) -> str:
    """``2d03h``, ``4h05m``, ``12m``, ``40s``: a compact countdown."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


@dataclass
class Thread:
    """An inquiry as one party sees it now: its records and the state folded from them."""

    number: str
    open: Record
    draft: Record | None  # the draft this inquiry was released from, if any
    messages: list[Record]  # follow-up records the fold accepted, in causal order
    state: str
    awaiting: str | None  # party that owes the next step (None: nobody, or the transport)
    delivered: str | None  # when the recipient's signed receipt says it got the opening record
    ack_due: str | None
    reply_due: str | None
    due: str | None  # the deadline of the step we are waiting for, if it has one
    outcome: str | None = None
    anomalies: list[str] = field(default_factory=list)

    @property
    def sender(self) -> str:
        return self.open.author

    @property
    def recipient(self) -> str:
        recipient = self.open.body.get("recipient")
        return recipient if isinstance(recipient, str) else self.open.to[0]

    @property
    def body(self) -> dict[str, Any]:
        return self.open.body

    @property
    def precedence(self) -> str:
        return str(self.body.get("precedence", "ROUTINE"))

    def role(self, party: str) -> str | None:
        if party == self.sender:
            return "sender"
        if party == self.recipient:
            return "recipient"
        return None

    def peer_of(self, party: str) -> str:
        return self.recipient if party == self.sender else self.sender

    def allowed(self, party: str) -> tuple[str, ...]:
        role = self.role(party)
        return ALLOWED[self.state].get(role, ()) if role else ()

    def overdue(self, now: datetime | None = None) -> bool:
        if self.due is None or self.state in TERMINAL:
            return False
        return (now or clock.now()) > clock.parse_time(self.due)

    def countdown(self, now: datetime | None = None) -> str | None:
        """``due in 3h12m`` / ``OVERDUE by 25m`` / None when no deadline runs."""
        if self.due is None or self.state in TERMINAL:
            return None
        delta = clock.parse_time(self.due) - (now or clock.now())
        if delta.total_seconds() < 0:
            return f"OVERDUE by {human_duration(delta)}"
        return f"due in {human_duration(delta)}"


def check_action(thread: Thread, party: str, action: str) -> None:
    """Raise IllegalTransition unless ``party`` may take ``action`` now; the message lists what is allowed."""
    allowed = thread.allowed(party)
    if action in allowed:
        return
    role = thread.role(party)
    if role is None:
        why = f"{party} is neither its sender ({thread.sender}) nor its recipient ({thread.recipient})"
    elif role == "sender" and action in ("ack", "reply"):
        why = f"it is {party}'s own inquiry to {thread.recipient}: only the recipient can {VERB[action]} it"
    elif role == "recipient" and action in ("send", "close", "withdraw"):
        why = f"it is {thread.sender}'s inquiry: only its sender can {VERB[action]} it"
    else:
        why = f"it is {thread.state}"
        if thread.awaiting and thread.state not in TERMINAL:
            why += f", waiting for {thread.awaiting}"
    choices = ", ".join(allowed) if allowed else "nothing (show and export only)"
    raise IllegalTransition(f"cannot {VERB[action]} {thread.number}: {why}; "
                            f"allowed for {party} while {thread.state}: {choices}")


def causal_order(messages: list[Record]) -> list[Record]:
    """Order follow-ups by what each author had seen (``body["after"]``), then time, then hash.

    Clocks of two parties differ; the hash of the last message the author saw does not.
    """
    by_hash = {m.hash: m for m in messages}
    depth: dict[str, int] = {}

    def depth_of(record: Record, seen: frozenset[str] = frozenset()) -> int:
        if record.hash in depth:
            return depth[record.hash]
        after = record.body.get("after")
        parent = by_hash.get(after) if isinstance(after, str) else None
        value = 1 if parent is None or parent.hash in seen else depth_of(parent, seen | {record.hash}) + 1
        depth[record.hash] = value
        return value

    return sorted(messages, key=lambda m: (depth_of(m), m.created, m.hash))


def _event_action(kind: str) -> str:
    return kind.split(".", 1)[1]


def fold(open_record: Record, draft: Record | None, followups: list[Record], delivered: str | None) -> Thread:
    """The thread's state from its records and the recipient's receipt time (None if not delivered)."""
    body = open_record.body
    number = str(body.get("number", open_record.short))
    thread = Thread(number=number, open=open_record, draft=draft, messages=[], state="sent", awaiting=None,
                    delivered=None, ack_due=None, reply_due=None, due=None)
    if body.get("draft") is True:
        thread.state = "draft"
    elif delivered is not None:
        thread.state = "delivered"
        thread.delivered = delivered
    clarify_due: str | None = None
    answered = False
    for record in causal_order(followups):
        action = _event_action(record.kind)
        if action not in thread.allowed(record.author):
            thread.anomalies.append(f"ignored {record.author} {record.kind} {record.short}: "
                                    f"not allowed while {thread.state}")
            continue
        thread.messages.append(record)
        if action == "ack":
            thread.state = "acknowledged"
        elif action == "reply":
            thread.state = "answered"
            answered = True
        elif action == "clarify":
            thread.state = "clarification"
            thread.awaiting = thread.peer_of(record.author)
            clarify_due = _clarify_due(open_record, record)
        elif action == "close":
            thread.state = "closed"
            outcome = record.body.get("outcome")
            thread.outcome = outcome if isinstance(outcome, str) else None
        elif action == "withdraw":
            thread.state = "withdrawn"
    if thread.state not in ("draft", "sent") and thread.delivered is None:
        # acknowledged before the recipient's receipt reached us: the ack proves delivery no later than itself
        first = thread.messages[0] if thread.messages else None
        thread.delivered = first.created if first is not None and first.author == thread.recipient else None
    _deadlines(thread, clarify_due, answered)
    return thread


def _seconds(body: dict[str, Any], key: str, fallback: timedelta) -> timedelta:
    value = body.get(key)
    return timedelta(seconds=value) if isinstance(value, int) and value > 0 else fallback


def windows(open_body: dict[str, Any]) -> tuple[timedelta, timedelta]:
    """The (ack, reply) windows the sender signed into the opening record."""
    precedence = open_body.get("precedence")
    ack, reply = DEFAULT_DEADLINES.get(precedence if isinstance(precedence, str) else "ROUTINE",
                                       DEFAULT_DEADLINES["ROUTINE"])
    return _seconds(open_body, "ack_within", ack), _seconds(open_body, "reply_within", reply)


def _clarify_due(open_record: Record, clarify: Record) -> str:
    explicit = clarify.body.get("reply_by")
    if isinstance(explicit, str):
        return explicit
    _, reply = windows(open_record.body)
    return clock.iso(clock.parse_time(clarify.created) + reply)


def _deadlines(thread: Thread, clarify_due: str | None, answered: bool) -> None:
    ack_within, reply_within = windows(thread.body)
    explicit = thread.body.get("reply_by")
    if thread.delivered is not None:
        start = clock.parse_time(thread.delivered)
        thread.ack_due = clock.iso(start + ack_within)
        thread.reply_due = explicit if isinstance(explicit, str) else clock.iso(start + reply_within)
    elif isinstance(explicit, str):
        thread.reply_due = explicit
    state = thread.state
    if state == "draft":
        thread.awaiting = thread.sender
    elif state == "sent":
        thread.awaiting = None
    elif state == "delivered":
        thread.awaiting, thread.due = thread.recipient, thread.ack_due
    elif state == "acknowledged":
        thread.awaiting, thread.due = thread.recipient, thread.reply_due
    elif state == "clarification":
        # the recipient's first answer stays due by the reply deadline; a question asked after an answer
        # (or of the sender) is due within the reply window from the question
        first_answer = thread.awaiting == thread.recipient and not answered
        thread.due = thread.reply_due if first_answer else clarify_due
    elif state == "answered":
        thread.awaiting = thread.sender
    else:
        thread.awaiting = None
