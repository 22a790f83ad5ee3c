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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cbm.core import clock
from cbm.core.bodies import InvalidBody
from cbm.core.errors import UsageError
from cbm.core.records import Record
from cbm.measures.workgroup import records
from cbm.measures.workgroup.records import RECORDS, due_deadline, text_digest  # noqa: F401  (re-exported)

PROPOSAL_STATES = ("draft", "proposed", "adopted", "rejected", "withdrawn", "superseded")
ACTION_STATES = ("open", "done")


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


# -- the fold ----------------------------------------------------------------------------------------------


def fold(records: Iterable[Record], fingerprint_of: Callable[[str], str], now: datetime | None = None
         ) -> Workgroup:
    """Derive the working group's state from its records (any order). ``fingerprint_of(keyid)`` names keys."""
    by_kind: dict[str, list[Record]] = {}
    for r in records:
        by_kind.setdefault(r.kind, []).append(r)
    for group in by_kind.values():
        group.sort(key=lambda r: (r.author, r.seq))
    folding = _Fold(fingerprint_of, now or clock.now())
    for kind, handler in _Fold.ORDER:
        for r in by_kind.get(kind, []):
            try:
                handler(folding, r, RECORDS[kind].from_body(r.body))
            except (InvalidBody, ValueError, KeyError, AssertionError, UsageError):
                folding.wg.skipped += 1
        settle = _Fold.AFTER.get(kind)
        if settle is not None:
            settle(folding)
    return folding.wg


class _Fold:
    """The fold's state while it runs, with one handler per record kind. A handler receives the record and its
    typed body (already checked on its own) and raises ValueError or KeyError for a record that makes no sense
    against the others (a non-member's signature, a reference to nothing): the record is skipped."""

    def __init__(self, fingerprint_of: Callable[[str], str], moment: datetime) -> None:
        self.fingerprint_of = fingerprint_of
        self.moment = moment
        self.wg = Workgroup({}, {}, {}, {})

    def endorsement(self, r: Record, digest: str) -> Endorsement:
        return Endorsement(r.author, self.fingerprint_of(r.keyid), r.created, r.hash, digest)

    # -- meetings and their threads

    def meeting(self, r: Record, b: records.Meeting) -> None:
        members = b.member_set
        if r.author not in members:
            raise ValueError("members")
        self.wg.meetings[r.hash] = Meeting(r.hash, r.author, b.at, b.place, b.title, b.agenda, b.agenda_digest,
                                           members, r.created, r.tlp, b.carried_actions)

    def attend(self, r: Record, b: records.Attend) -> None:
        m = self.wg.meetings[b.ref]
        if r.author not in m.members:
            raise ValueError("attend")
        # a later answer from the same party replaces its earlier one (corrections to the roll call)
        m.attendance[r.author] = Attendance(r.author, b.name_list, b.attending, r.created, r.hash)

    def minutes(self, r: Record, b: records.Minutes) -> None:
        m = self.wg.meetings[b.ref]
        if r.author != m.convener:
            raise ValueError("minutes")
        m.minutes.append(MinutesDraft(r.hash, len(m.minutes) + 1, b.text, b.digest, r.created))

    def approve(self, r: Record, b: records.Approve) -> None:
        m = self.wg.meetings[b.ref]
        draft = next(d for d in m.minutes if d.record == b.minutes)
        if r.author not in m.members or b.digest != draft.digest:
            raise ValueError("approve")
        if all(a.party != r.author for a in draft.approvals):
            draft.approvals.append(self.endorsement(r, draft.digest))

    def settle_meetings(self) -> None:
        for m in self.wg.meetings.values():
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
                        "held" if clock.parse_time(m.at) <= self.moment else "scheduled")

    # -- action items

    def action(self, r: Record, b: records.Action) -> None:
        meeting_id = b.meeting_id
        if meeting_id is not None and meeting_id in self.wg.meetings:
            self.wg.meetings[meeting_id].actions.append(r.hash)
        self.wg.actions[r.hash] = Action(r.hash, b.title, b.owner, b.due, meeting_id, r.author, r.created)

    def action_done(self, r: Record, b: records.ActionDone) -> None:
        a = self.wg.actions[b.ref]
        if r.author != a.owner:
            raise ValueError("not the owner")
        if a.status == "open":
            a.status, a.done_at, a.done_record = "done", r.created, r.hash
            a.note = b.note_text

    def settle_actions(self) -> None:
        for a in self.wg.actions.values():
            a.overdue = a.status == "open" and due_deadline(a.due) < self.moment

    # -- proposals: revision 1 has no ref; later revisions by the same proposer point at it

    def proposal(self, r: Record, b: records.Proposal) -> None:
        if b.first:
            members = sorted(set(b.members))
            if r.author not in members:
                raise ValueError("revision 1")
            self.wg.proposals[r.hash] = Proposal(r.hash, r.author, members, r.created, r.tlp,
                                                 [Revision(r.hash, 1, b.title, b.text, b.digest, r.created,
                                                           b.is_draft)])
            self.wg.revision_of[r.hash] = r.hash
            return
        assert isinstance(b.ref, str)
        p = self.wg.proposals[b.ref]
        if r.author != p.proposer or b.supersedes != p.current.record or b.revision != p.current.number + 1:
            raise ValueError("revision")
        p.revisions.append(Revision(r.hash, b.revision, b.title, b.text, b.digest, r.created, b.is_draft))
        self.wg.revision_of[r.hash] = p.id

    def target(self, r: Record, ref: str, revision: str) -> tuple[Proposal, Revision]:
        p = self.wg.proposals[ref]
        rev = p.revision(revision)
        if rev is None or r.author not in p.members:
            raise ValueError("revision")
        return p, rev

    def submit(self, r: Record, b: records.Submit) -> None:
        p, rev = self.target(r, b.ref, b.revision)
        if r.author != p.proposer:
            raise ValueError("submit")
        rev.draft = False

    def sign(self, r: Record, b: records.Sign) -> None:
        p, rev = self.target(r, b.ref, b.revision)
        if b.digest != rev.digest or rev.draft:
            raise ValueError("digest")
        if all(s.party != r.author for s in rev.signatures):
            rev.signatures.append(self.endorsement(r, rev.digest))

    def object(self, r: Record, b: records.Object) -> None:
        p, rev = self.target(r, b.ref, b.revision)
        p.objections.append(Objection(r.author, r.created, r.hash, rev.record, rev.number, b.reason, False))

    def reject(self, r: Record, b: records.Reject) -> None:
        p, rev = self.target(r, b.ref, b.revision)
        reason = b.reason or ""
        if any(s.party == r.author for s in rev.signatures):
            raise ValueError("a signature is final for its text")
        if rev is p.current and r.author != p.proposer and (p.closing is None or p.closing.kind != "withdrawn"):
            p.closing = Closing("rejected", r.author, r.created, r.hash, reason)
        else:
            # a veto of a revision that was superseded meanwhile stays on record as an objection to it
            p.objections.append(Objection(r.author, r.created, r.hash, rev.record, rev.number, reason, False))

    def withdraw(self, r: Record, b: records.Withdraw) -> None:
        p = self.wg.proposals[b.ref]
        if r.author != p.proposer:
            raise ValueError("withdraw")
        p.closing = Closing("withdrawn", r.author, r.created, r.hash, b.reason_text)

    def settle_proposals(self) -> None:
        for p in self.wg.proposals.values():
            _settle(p)

    # The order kinds are folded in: what a record refers to comes first (meetings before their minutes,
    # proposals before their signatures); a withdrawal outranks a rejection, so withdrawals are folded first
    # and the rule does not depend on arrival order. Minutes drafts are the convener's own, so their (author,
    # seq) order is their revision order.
    ORDER: tuple[tuple[str, Callable[[_Fold, Record, Any], None]], ...] = (
        ("workgroup.meeting", meeting), ("workgroup.attend", attend), ("workgroup.minutes", minutes),
        ("workgroup.approve", approve),
        ("workgroup.action", action), ("workgroup.action_done", action_done),
        ("workgroup.proposal", proposal), ("workgroup.submit", submit), ("workgroup.sign", sign),
        ("workgroup.object", object), ("workgroup.withdraw", withdraw), ("workgroup.reject", reject),
    )
    # what to settle once every record of a kind (and those before it) is folded
    AFTER: dict[str, Callable[[_Fold], None]] = {
        "workgroup.approve": settle_meetings, "workgroup.action_done": settle_actions,
        "workgroup.reject": settle_proposals,
    }


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
