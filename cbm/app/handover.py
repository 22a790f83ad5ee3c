"""``cbm handover``: what changed on the watch desk since the last handover, recorded as a signed local note.

A handover is a ``desk.handover`` record in our own log addressed to ourselves only (TLP:RED), exactly as an
inquiry draft is: bundles carry just its (author, seq, hash), so the chain still verifies at the peer and the
note itself never leaves the store (docs/adr/0148-handover-local-notes.md). The next handover starts from it:
its time bounds "since", and its list of attention items tells what is new and what was dealt with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cbm.app.status import collect
from cbm.core.bodies import ABSENT, Body, is_int, is_str_list, present, require
from cbm.core.errors import UsageError
from cbm.core.fields import is_bounded_text, is_iso_time, is_sha256_hex
from cbm.core.records import Record
from cbm.measures.base import Attention
from cbm.store import index_bundles
from cbm.store.activity import landed_since
from cbm.store.db import Store

KIND = "desk.handover"
MAX_NOTE = 4000  # characters: a shift's note, not a report
MAX_KEYS = 10_000


@dataclass(frozen=True)
class HandoverRecord(Body):
    """``desk.handover``: a signed local note of a watch handover. ``attention`` holds the keys of what needed
    attention at that moment; ``since`` is the previous handover's time (absent for the first)."""

    KIND = KIND

    attention: list[str]
    overdue: int
    received: int
    sent: int
    since: str = ABSENT
    previous: str = ABSENT
    note: str = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(is_str_list(values["attention"]) and len(values["attention"]) <= MAX_KEYS,
                "attention must list item keys")
        require(all(is_int(values[k], 0) for k in ("overdue", "received", "sent")),
                "overdue, received and sent must be counts")
        require(not present(values["since"]) or is_iso_time(values["since"]), "since must be a UTC time")
        require(not present(values["previous"]) or is_sha256_hex(values["previous"]),
                "previous must be a record id")
        require(not present(values["note"]) or is_bounded_text(values["note"], MAX_NOTE),
                f"note must be text of at most {MAX_NOTE} characters")


@dataclass
class Received:
    peer: str
    records: int
    by_measure: dict[str, int]


@dataclass
class Sent:
    peer: str
    bundle: int
    created: str
    records: int


@dataclass
class Handover:
    """What the incoming shift needs: the outgoing note, then what changed since the last handover."""

    id: str
    at: str
    since: str | None  # the previous handover's time; None for the first handover of this store
    previous_note: str | None  # what the last shift wrote for us
    note: str | None  # what this shift wrote
    new: list[Attention] = field(default_factory=list)  # needs attention now, did not at the last handover
    overdue: list[Attention] = field(default_factory=list)  # overdue now, oldest first
    answered: list[str] = field(default_factory=list)  # needed attention at the last handover, no longer does
    received: list[Received] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    attention: int = 0  # everything needing attention now


def item_key(item: Attention) -> str:
    """A stable name for an attention item across handovers: its measure and reference (or text)."""
    return f"{item.measure}:{item.ref if item.ref else item.text}"[:500]


def last_handover(store: Store) -> Record | None:
    """Our newest handover record, if any."""
    newest = None
    for record in store.records(kind=KIND, author=store.party):
        newest = record
    return newest


def handover(store: Store, *, note: str | None = None) -> Handover:
    """Compare now with the last handover, sign a new ``desk.handover`` note to ourselves, and return both.

    Raises UsageError (2) for a note over 4000 characters; whatever :func:`cbm.app.status.collect` raises.
    """
    text = note.strip() if note else None
    if text is not None and len(text) > MAX_NOTE:
        raise UsageError(f"the handover note is longer than {MAX_NOTE} characters")
    previous = last_handover(store)
    before = HandoverRecord.from_body(previous.body) if previous is not None else None
    since = previous.created if previous is not None else None
    report = collect(store)
    keys = [item_key(item) for item in report.attention]
    known = set(before.attention) if before is not None else set()
    received: dict[str, Received] = {}
    for author, kind, count in store.query(landed_since, since, store.party):
        entry = received.setdefault(author, Received(author, 0, {}))
        measure = kind.split(".", 1)[0]
        entry.records += count
        entry.by_measure[measure] = entry.by_measure.get(measure, 0) + count
    sent = [Sent(*row) for row in store.query(index_bundles.sent_since, since)]
    overdue = [item for item in report.attention if item.rank == 0]
    body: dict[str, Any] = {"attention": keys, "overdue": len(overdue),
                            "received": sum(r.records for r in received.values()), "sent": len(sent)}
    if previous is not None:
        body.update(since=previous.created, previous=previous.hash)
    if text:
        body["note"] = text
    record = store.append(KIND, HandoverRecord.from_body(body).to_body(), to=(store.party,), tlp="RED")
    previous_note = before.note if before is not None and present(before.note) else None
    return Handover(record.hash, record.created, since, previous_note, text or None,
                    new=[item for item in report.attention if item_key(item) not in known],
                    overdue=overdue,
                    answered=[key for key in (before.attention if before is not None else []) if key not in keys],
                    received=list(received.values()), sent=sent, attention=len(report.attention))


