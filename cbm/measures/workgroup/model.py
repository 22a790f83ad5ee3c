"""The working group's state, derived: a pure fold over ``workgroup.*`` records (docs/adr/0060-0062).

Nothing here writes. :func:`fold` reads every working-group record (ours and peers') and returns the meetings,
action items and proposals with their derived states. The fold does not depend on the order in which records
landed: revisions are ordered by their author's ``seq``, endorsements are sets, and the closing rules
(withdrawn, rejected) are stated over the set of records. Records a peer signed but whose body does not make
sense (wrong types, a digest that does not match the text, a non-member's signature) are skipped, never fatal.

Record kinds (``body["ref"]`` threads them under the meeting, action or proposal they concern):

- ``workgroup.meeting``   at, place, title, agenda, agenda_digest, members, carried (open action ids)
- ``workgroup.attend``    ref=meeting, names, present — a party's own roll-call answer
- ``workgroup.minutes``   ref=meeting, text, digest, revision — drafted by the meeting's convener
- ``workgroup.approve``   ref=meeting, minutes (draft record id), digest
- ``workgroup.action``    title, owner, due, meeting (optional; then also ref=meeting)
- ``workgroup.action_done`` ref=action, note — by the action's owner only
- ``workgroup.proposal``  title, text, digest, revision, draft, members; revisions add ref=proposal id and
  supersedes=previous revision id
- ``workgroup.submit``    ref=proposal, revision — a draft opened for signature
- ``workgroup.sign``      ref=proposal, revision, digest — an endorsement of the exact text
- ``workgroup.object``    ref=proposal, revision, digest, reason
- ``workgroup.reject``    ref=proposal, revision, reason — a member's final veto
- ``workgroup.withdraw``  ref=proposal, reason — by the proposer
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cbm.core import clock
from cbm.core.errors import UsageError
from cbm.core.records import Record

PARTY = re.compile(r"^[A-Z][A-Z0-9-]{1,15}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")

PROPOSAL_STATES = ("draft", "proposed", "adopted", "rejected", "withdrawn", "superseded")
ACTION_STATES = ("open", "done")


def text_digest(data: bytes) -> str:
    """The SHA-256 of the exact bytes of a text: what members sign (``sha256sum FILE`` gives the same)."""
    return hashlib.sha256(data).hexdigest()


# -- derived views -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endorsement:
    """A member's signature on a proposal text or approval of minutes: the exact digest, who, with which key."""

    party: str
    fingerprint: str
    time: str
    record: str
    digest: str


@dataclass(frozen=True)
class Objection:
    party: str
    time: str
    record: str
    revision: str
    revision_number: int
    reason: str
    lifted: bool  # the objector later signed the same revision


@dataclass
class Revision:
    record: str
    number: int
    title: str
    text: str
    digest: str
    created: str
    draft: bool
    state: str = "proposed"
    signatures: list[Endorsement] = field(default_factory=list)


@dataclass(frozen=True)
class Closing:
    """Why a proposal ended without adoption: a withdrawal by its proposer or a member's rejection."""

    kind: str  # withdrawn | rejected
    party: str
    time: str
    record: str
    reason: str


@dataclass
class Proposal:
    id: str
    proposer: str
    members: list[str]
    created: str
    tlp: str
    revisions: list[Revision]
    state: str = "proposed"
    objections: list[Objection] = field(default_factory=list)
    closing: Closing | None = None
    adopted_at: str | None = None
    conflict: str | None = None

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    @property
    def title(self) -> str:
        return self.current.title

    @property
    def signatures(self) -> list[Endorsement]:
        return self.current.signatures

    @property
    def awaiting(self) -> list[str]:
        """Members whose signature on the current text is still missing."""
        signed = {s.party for s in self.current.signatures}
        return [m for m in self.members if m not in signed]

    def revision(self, record_id: str) -> Revision | None:
        return next((r for r in self.revisions if r.record == record_id), None)


@dataclass(frozen=True)
class Attendance:
    party: str
    names: list[str]
    present: bool
    time: str
    record: str


@dataclass
class MinutesDraft:
    record: str
    number: int
    text: str
    digest: str
    created: str
    approvals: list[Endorsement] = field(default_factory=list)


@dataclass
class Action:
    id: str
    title: str
    owner: str
    due: str
    meeting: str | None
    created_by: str
    created: str
    status: str = "open"
    done_at: str | None = None
    done_record: str | None = None
    note: str | None = None
    overdue: bool = False


@dataclass
class Meeting:
    id: str
    convener: str
    at: str
    place: str
    title: str
    agenda: str
    agenda_digest: str
    members: list[str]
    created: str
    tlp: str
    carried: list[str]
    attendance: dict[str, Attendance] = field(default_factory=dict)
    minutes: list[MinutesDraft] = field(default_factory=list)
    minutes_state: str = "none"  # none | draft | approved
    approved_at: str | None = None
    actions: list[str] = field(default_factory=list)
    status: str = "scheduled"  # scheduled | held | minutes drafted | minutes approved

    @property
    def current_minutes(self) -> MinutesDraft | None:
        return self.minutes[-1] if self.minutes else None

    @property
    def awaiting_approval(self) -> list[str]:
        current = self.current_minutes
        if current is None:
            return list(self.members)
        approved = {a.party for a in current.approvals}
        return [m for m in self.members if m not in approved]


@dataclass
class Workgroup:
    meetings: dict[str, Meeting]
    actions: dict[str, Action]
    proposals: dict[str, Proposal]
    revision_of: dict[str, str]  # revision record id -> proposal id
    skipped: int = 0  # peer records whose bodies made no sense


# -- body checks (peer records are signed, but may still be nonsense) ---------------------------------------


def _str(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValueError(key)
    return value


def _hash(body: dict[str, Any], key: str) -> str:
    value = _str(body, key)
    assert value is not None
    if not HEX64.match(value):
        raise ValueError(key)
    return value


def _parties(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(p, str) and PARTY.match(p) for p in value):
        raise ValueError(key)
    return sorted(set(value))


def _text(body: dict[str, Any]) -> tuple[str, str]:
    text, digest = _str(body, "text"), _hash(body, "digest")
    assert text is not None
    if text_digest(text.encode("utf-8")) != digest:
        raise ValueError("digest")
    return text, digest


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(key)
    return value


def due_deadline(due: str) -> datetime:
    """The last instant an action due ``due`` is on time (a bare date means 23:59:59 UTC that day)."""
    moment = clock.parse_time(due, what="due")
    if len(due) == 10:
        from datetime import timedelta

        moment += timedelta(hours=23, minutes=59, seconds=59)
    return moment


# -- the fold ----------------------------------------------------------------------------------------------


def fold(records: Iterable[Record], fingerprint_of: Callable[[str], str], now: datetime | None = None
         ) -> Workgroup:
    """Derive the working group's state from its records (any order). ``fingerprint_of(keyid)`` names keys."""
    moment = now or clock.now()
    by_kind: dict[str, list[Record]] = {}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r)
    for group in by_kind.values():
        group.sort(key=lambda r: (r.author, r.seq))
    wg = Workgroup({}, {}, {}, {})

    def each(kind: str, handle: Callable[[Record], None]) -> None:
        for r in by_kind.get(kind, []):
            try:
                handle(r)
            except (ValueError, KeyError, AssertionError, UsageError):
                wg.skipped += 1

    def endorsement(r: Record, digest: str) -> Endorsement:
        return Endorsement(r.author, fingerprint_of(r.keyid), r.created, r.hash, digest)

    # meetings and their threads
    def meeting(r: Record) -> None:
        b = r.body
        agenda = _str(b, "agenda")
        assert agenda is not None
        if text_digest(agenda.encode("utf-8")) != _hash(b, "agenda_digest"):
            raise ValueError("agenda_digest")
        members = _parties(b, "members")
        if r.author not in members:
            raise ValueError("members")
        carried = b.get("carried", [])
        if not isinstance(carried, list) or not all(isinstance(c, str) and HEX64.match(c) for c in carried):
            raise ValueError("carried")
        at = _str(b, "at")
        assert at is not None
        clock.parse_time(at)
        wg.meetings[r.hash] = Meeting(r.hash, r.author, at, _str(b, "place") or "", _str(b, "title") or "",
                                      agenda, b["agenda_digest"], members, r.created, r.tlp, carried)

    def attend(r: Record) -> None:
        m = wg.meetings[_hash(r.body, "ref")]
        names = r.body.get("names", [])
        if r.author not in m.members or not isinstance(names, list) or \
                not all(isinstance(n, str) for n in names) or not isinstance(r.body.get("present", True), bool):
            raise ValueError("attend")
        # a later answer from the same party replaces its earlier one (corrections to the roll call)
        m.attendance[r.author] = Attendance(r.author, names, bool(r.body.get("present", True)), r.created, r.hash)

    def minutes(r: Record) -> None:
        m = wg.meetings[_hash(r.body, "ref")]
        if r.author != m.convener:
            raise ValueError("minutes")
        text, digest = _text(r.body)
        m.minutes.append(MinutesDraft(r.hash, len(m.minutes) + 1, text, digest, r.created))

    def approve(r: Record) -> None:
        m = wg.meetings[_hash(r.body, "ref")]
        draft = next(d for d in m.minutes if d.record == _hash(r.body, "minutes"))
        if r.author not in m.members or _hash(r.body, "digest") != draft.digest:
            raise ValueError("approve")
        if all(a.party != r.author for a in draft.approvals):
            draft.approvals.append(endorsement(r, draft.digest))

    each("workgroup.meeting", meeting)
    each("workgroup.attend", attend)
    # minutes drafts are the convener's own, so (author, seq) order is their revision order
    each("workgroup.minutes", minutes)
    each("workgroup.approve", approve)
    for m in wg.meetings.values():
        # the first draft every member approved is final: later drafts (the CLI refuses them) do not count
        final = next((d for d in m.minutes if {a.party for a in d.approvals} >= set(m.members)), None)
        if final is not None:
            m.minutes = m.minutes[:final.number]
            m.minutes_state = "approved"
            m.approved_at = max(a.time for a in final.approvals)
        elif m.minutes:
            m.minutes_state = "draft"
        m.status = ("minutes approved" if m.minutes_state == "approved" else
                    "minutes drafted" if m.minutes_state == "draft" else
                    "held" if clock.parse_time(m.at) <= moment else "scheduled")

    # action items
    def action(r: Record) -> None:
        b = r.body
        owner, due, title = _str(b, "owner"), _str(b, "due"), _str(b, "title")
        assert owner is not None and due is not None and title is not None
        if not PARTY.match(owner):
            raise ValueError("owner")
        due_deadline(due)
        meeting_id = _str(b, "meeting", required=False)
        if meeting_id is not None and meeting_id in wg.meetings:
            wg.meetings[meeting_id].actions.append(r.hash)
        wg.actions[r.hash] = Action(r.hash, title, owner, due, meeting_id, r.author, r.created)

    def action_done(r: Record) -> None:
        a = wg.actions[_hash(r.body, "ref")]
        if r.author != a.owner:
            raise ValueError("not the owner")
        note = r.body.get("note")
        if a.status == "open":
            a.status, a.done_at, a.done_record = "done", r.created, r.hash
            a.note = note if isinstance(note, str) else None

    each("workgroup.action", action)
    each("workgroup.action_done", action_done)
    for a in wg.actions.values():
        a.overdue = a.status == "open" and due_deadline(a.due) < moment

    # proposals: revision 1 has no ref; later revisions by the same proposer point at it
    def proposal(r: Record) -> None:
        b = r.body
        title = _str(b, "title")
        assert title is not None
        text, digest = _text(b)
        number = _int(b, "revision")
        draft = b.get("draft", False)
        if not isinstance(draft, bool):
            raise ValueError("draft")
        ref = b.get("ref")
        if ref is None:
            members = _parties(b, "members")
            if number != 1 or r.author not in members:
                raise ValueError("revision 1")
            wg.proposals[r.hash] = Proposal(r.hash, r.author, members, r.created, r.tlp,
                                            [Revision(r.hash, 1, title, text, digest, r.created, draft)])
            wg.revision_of[r.hash] = r.hash
            return
        p = wg.proposals[_hash(b, "ref")]
        if r.author != p.proposer or _hash(b, "supersedes") != p.current.record or \
                number != p.current.number + 1:
            raise ValueError("revision")
        p.revisions.append(Revision(r.hash, number, title, text, digest, r.created, draft))
        wg.revision_of[r.hash] = p.id

    def target(r: Record) -> tuple[Proposal, Revision]:
        p = wg.proposals[_hash(r.body, "ref")]
        rev = p.revision(_hash(r.body, "revision"))
        if rev is None or r.author not in p.members:
            raise ValueError("revision")
        return p, rev

    def submit(r: Record) -> None:
        p, rev = target(r)
        if r.author != p.proposer:
            raise ValueError("submit")
        rev.draft = False

    def sign(r: Record) -> None:
        p, rev = target(r)
        if _hash(r.body, "digest") != rev.digest or rev.draft:
            raise ValueError("digest")
        if all(s.party != r.author for s in rev.signatures):
            rev.signatures.append(endorsement(r, rev.digest))

    def object_(r: Record) -> None:
        p, rev = target(r)
        reason = _str(r.body, "reason")
        assert reason is not None
        p.objections.append(Objection(r.author, r.created, r.hash, rev.record, rev.number, reason, False))

    def reject(r: Record) -> None:
        p, rev = target(r)
        reason = _str(r.body, "reason") or ""
        if any(s.party == r.author for s in rev.signatures):
            raise ValueError("a signature is final for its text")
        if rev is p.current and r.author != p.proposer and (p.closing is None or p.closing.kind != "withdrawn"):
            p.closing = Closing("rejected", r.author, r.created, r.hash, reason)
        else:
            # a veto of a revision that was superseded meanwhile stays on record as an objection to it
            p.objections.append(Objection(r.author, r.created, r.hash, rev.record, rev.number, reason, False))

    def withdraw(r: Record) -> None:
        p = wg.proposals[_hash(r.body, "ref")]
        if r.author != p.proposer:
            raise ValueError("withdraw")
        p.closing = Closing("withdrawn", r.author, r.created, r.hash, _str(r.body, "reason", required=False) or "")

    each("workgroup.proposal", proposal)
    each("workgroup.submit", submit)
    each("workgroup.sign", sign)
    each("workgroup.object", object_)
    # a withdrawal outranks a rejection: fold withdrawals first so the rule does not depend on arrival order
    each("workgroup.withdraw", withdraw)
    each("workgroup.reject", reject)
    for p in wg.proposals.values():
        _settle(p)
    return wg


def _settle(p: Proposal) -> None:
    """Fix a proposal's state from its folded records (rules in docs/adr/0061)."""
    for rev in p.revisions[:-1]:
        rev.state = "superseded"
    current = p.current
    signed = {s.party for s in current.signatures}
    complete = not current.draft and all(m in signed for m in p.members)
    objections = []
    for o in p.objections:
        objected = p.revision(o.revision)
        lifted = objected is not None and any(s.party == o.party for s in objected.signatures)
        objections.append(Objection(o.party, o.time, o.record, o.revision, o.revision_number, o.reason, lifted))
    p.objections = sorted(objections, key=lambda o: (o.time, o.party))
    if p.closing is not None:
        p.state = p.closing.kind
        if complete:
            p.conflict = (f"every member signed revision {current.number}, but it was {p.closing.kind} by "
                          f"{p.closing.party} while the signatures were in transit; {p.closing.kind} stands")
    elif complete:
        p.state = "adopted"
        p.adopted_at = max(s.time for s in current.signatures)
    else:
        p.state = "draft" if current.draft else "proposed"
    current.state = p.state
