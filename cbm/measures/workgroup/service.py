"""The bilateral working group: meetings, minutes, action items and jointly adopted proposals.

Every step is a signed ``workgroup.*`` record; the state (a proposal adopted, minutes approved, an action
overdue) is derived by :func:`cbm.measures.workgroup.model.fold`. This module checks that a step is legal in
the current state, appends the record, and returns the derived view. Rules: docs/adr/0060-0064.

Membership (:mod:`cbm.measures.workgroup.membership`): each meeting and proposal records its member list, so
"every member" is fixed when it is created and does not change if a peer is added later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cbm.core import clock
from cbm.core.errors import IllegalTransition, MalformedInput, NotFound, OversizedInput, UsageError
from cbm.core.fields import check_single_line
from cbm.core.records import Record
from cbm.core.tlp import check_tlp
from cbm.measures.base import Attention
from cbm.measures.workgroup.membership import group_for_new, members
from cbm.measures.workgroup.model import (
    PROPOSAL_STATES,
    Action,
    Meeting,
    Proposal,
    Revision,
    Workgroup,
    due_deadline,
    fold,
    text_digest,
)
from cbm.store.db import Store

MAX_TEXT_BYTES = 512 * 1024
DUE_SOON = timedelta(days=7)

__all__ = ["PROPOSAL_STATES", "members", "load", "attention"]


# -- loading --------------------------------------------------------------------------------


def fingerprint_of(store: Store) -> Callable[[str], str]:
    from cbm.core.keys import fingerprint

    def lookup(keyid: str) -> str:
        key = store.trusted_key(keyid)
        return fingerprint(key.verify_key) if key else f"unknown key {keyid}"

    return lookup


def load(store: Store, now: datetime | None = None) -> Workgroup:
    """The working group's derived state from every ``workgroup.*`` record in the store."""
    return fold(store.records(kind_prefix="workgroup."), fingerprint_of(store), now)


def _tlp(store: Store, tlp: str | None) -> str:
    return check_tlp(tlp or str(store.config.get("workgroup", {}).get("tlp", "GREEN")))


def _audience(group: list[str], me: str) -> tuple[str, ...]:
    others = tuple(p for p in group if p != me)
    return others or (me,)


def read_text(data: bytes, what: str) -> tuple[str, str]:
    """(text, digest) of a document given as bytes. Raises OversizedInput / MalformedInput."""
    if len(data) > MAX_TEXT_BYTES:
        raise OversizedInput(f"{what} is {len(data)} bytes; the limit is {MAX_TEXT_BYTES}",
                             hint="attach long documents as a white paper and reference it")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedInput(f"{what} is not UTF-8 text") from e
    if not text.strip():
        raise UsageError(f"{what} is empty")
    return text, text_digest(data)


def _record(store: Store, ref: str, kinds: tuple[str, ...], what: str) -> Record:
    record = store.get(ref, kind_prefix="workgroup.")
    if record.kind not in kinds:
        raise NotFound(f"{ref} is a {record.kind} record, not {what}")
    return record


def _allowed(options: list[str]) -> str:
    return "allowed now: " + (", ".join(options) if options else "nothing (this is final)")


# -- meetings and minutes ----------------------------------------------------------------------------------


def find_meeting(store: Store, ref: str, wg: Workgroup | None = None) -> tuple[Workgroup, Meeting]:
    wg = wg or load(store)
    record = _record(store, ref, ("workgroup.meeting",), "a meeting")
    meeting = wg.meetings.get(record.hash)
    if meeting is None:
        raise MalformedInput(f"meeting {record.short} is malformed and was skipped")
    return wg, meeting


def open_actions(wg: Workgroup) -> list[Action]:
    return sorted((a for a in wg.actions.values() if a.status == "open"), key=lambda a: (a.due, a.id))


def new_meeting(store: Store, *, at: str, place: str, agenda: bytes, title: str = "",
                tlp: str | None = None) -> Meeting:
    """Convene a meeting. Every action item still open is carried forward onto its agenda."""
    when = clock.iso(clock.parse_time(at, what="--at"))
    if not check_single_line(place, "the place").strip():
        raise UsageError("the meeting needs a place", hint='--place "Geneva"')
    text, digest = read_text(agenda, "the agenda")
    group = group_for_new(store)
    carried = [a.id for a in open_actions(load(store))]
    body: dict[str, Any] = {"at": when, "place": place, "title": check_single_line(title, "the title"),
                            "agenda": text, "agenda_digest": digest, "members": group, "carried": carried}
    record = store.append("workgroup.meeting", body, to=_audience(group, store.party), tlp=_tlp(store, tlp))
    return find_meeting(store, record.hash)[1]


def attend(store: Store, ref: str, names: list[str], present: bool = True) -> Meeting:
    """Answer the roll call for our own party (a later answer corrects an earlier one)."""
    wg, meeting = find_meeting(store, ref)
    if store.party not in meeting.members:
        raise IllegalTransition(f"we ({store.party}) are not a member of meeting {meeting.id[:12]}",
                                hint="members: " + ", ".join(meeting.members))
    if present and not [n for n in names if n.strip()]:
        raise UsageError("name who attended for us", hint='--name "J. Smith" (repeatable), or --absent')
    store.append("workgroup.attend", {"ref": meeting.id, "names": [n.strip() for n in names if n.strip()],
                                      "present": present},
                 to=_audience(meeting.members, store.party), tlp=meeting.tlp)
    return find_meeting(store, ref)[1]


def draft_minutes(store: Store, ref: str, text_bytes: bytes) -> Meeting:
    """Record a minutes draft (the convener only). A new draft replaces the last and needs fresh approvals."""
    wg, meeting = find_meeting(store, ref)
    if meeting.convener != store.party:
        raise IllegalTransition(f"only the convener ({meeting.convener}) drafts the minutes of meeting "
                                f"{meeting.id[:12]}", hint="send corrections to the convener; " +
                                _allowed(["minutes --approve"] if meeting.current_minutes else []))
    if meeting.minutes_state == "approved":
        raise IllegalTransition(f"the minutes of meeting {meeting.id[:12]} are approved by every member and "
                                "final", hint=_allowed(["meeting show"]))
    if clock.parse_time(meeting.at) > clock.now():
        raise IllegalTransition(f"meeting {meeting.id[:12]} has not taken place yet (it is at {meeting.at})",
                                hint="draft the minutes after the meeting; " + _allowed(["meeting attend"]))
    text, digest = read_text(text_bytes, "the minutes")
    current = meeting.current_minutes
    if current is not None and current.digest == digest:
        raise IllegalTransition("this text is already the current minutes draft",
                                hint=_allowed(["minutes --approve", "minutes --file OTHER-FILE"]))
    store.append("workgroup.minutes", {"ref": meeting.id, "text": text, "digest": digest,
                                       "revision": len(meeting.minutes) + 1},
                 to=_audience(meeting.members, store.party), tlp=meeting.tlp)
    return find_meeting(store, ref)[1]


def approve_minutes(store: Store, ref: str, digest: str | None = None) -> Meeting:
    """Approve the exact current minutes text. Refused twice, for non-members, or without a draft."""
    wg, meeting = find_meeting(store, ref)
    current = meeting.current_minutes
    if store.party not in meeting.members:
        raise IllegalTransition(f"we ({store.party}) are not a member of meeting {meeting.id[:12]}")
    if current is None:
        raise IllegalTransition(f"meeting {meeting.id[:12]} has no minutes to approve yet",
                                hint=f"the convener ({meeting.convener}) drafts them with `cbm workgroup "
                                     "minutes M --file minutes.md`")
    if any(a.party == store.party for a in current.approvals):
        state = "approved by every member" if meeting.minutes_state == "approved" else \
            "awaiting " + ", ".join(meeting.awaiting_approval)
        raise IllegalTransition(f"we already approved these minutes (draft {current.number}, "
                                f"sha256 {current.digest[:16]}); they are {state}",
                                hint=_allowed(["meeting show"]))
    if digest is not None and digest.strip().lower() != current.digest:
        raise IllegalTransition(f"the current minutes draft has digest {current.digest}, not {digest}",
                                hint="read the current draft with `cbm workgroup minutes M` and approve that")
    store.append("workgroup.approve", {"ref": meeting.id, "minutes": current.record, "digest": current.digest},
                 to=_audience(meeting.members, store.party), tlp=meeting.tlp)
    return find_meeting(store, ref)[1]


# -- action items ------------------------------------------------------------------------------------------


def find_action(store: Store, ref: str, wg: Workgroup | None = None) -> Action:
    wg = wg or load(store)
    record = _record(store, ref, ("workgroup.action",), "an action item")
    action = wg.actions.get(record.hash)
    if action is None:
        raise MalformedInput(f"action {record.short} is malformed and was skipped")
    return action


def add_action(store: Store, title: str, *, owner: str, due: str, meeting: str | None = None) -> Action:
    """Record an action item owned by a member party, due at a date (a bare date means the end of that day)."""
    if not check_single_line(title, "the title").strip():
        raise UsageError("the action item needs a title")
    owner = owner.strip().upper()
    group = members(store)
    body: dict[str, Any] = {"title": title.strip(), "owner": owner}
    due_text = due.strip()
    due_deadline(due_text)
    body["due"] = due_text if len(due_text) == 10 else clock.iso(clock.parse_time(due_text, what="--due"))
    tlp = _tlp(store, None)
    if meeting is not None:
        _, m = find_meeting(store, meeting)
        body["meeting"] = body["ref"] = m.id
        group, tlp = m.members, m.tlp
    if owner not in group:
        raise UsageError(f"{owner} is not a member of the working group", hint="members: " + ", ".join(group))
    record = store.append("workgroup.action", body, to=_audience(group, store.party), tlp=tlp)
    return find_action(store, record.hash)


def complete_action(store: Store, ref: str, note: str | None = None) -> Action:
    """Mark our own action item done. Another party's item, or one already done, is refused."""
    action = find_action(store, ref)
    if action.owner != store.party:
        raise IllegalTransition(f"action {action.id[:12]} is owned by {action.owner}: only {action.owner} can "
                                "mark it done", hint=_allowed(["action list"]))
    if action.status == "done":
        raise IllegalTransition(f"action {action.id[:12]} was already marked done at {action.done_at}",
                                hint=_allowed(["action list"]))
    record = store.get(action.id)
    body: dict[str, Any] = {"ref": action.id}
    if note:
        body["note"] = note
    # everyone who saw the action item (and its author) learns it is done
    audience = sorted({*record.to, record.author} - {store.party}) or [store.party]
    store.append("workgroup.action_done", body, to=audience, tlp=record.tlp)
    return find_action(store, ref)


def list_actions(store: Store, *, overdue: bool = False, owner: str | None = None,
                 status: str | None = None) -> list[Action]:
    wg = load(store)
    items = sorted(wg.actions.values(), key=lambda a: (a.status != "open", a.due, a.id))
    if overdue:
        items = [a for a in items if a.overdue]
    if owner:
        items = [a for a in items if a.owner == owner.strip().upper()]
    if status:
        items = [a for a in items if a.status == status]
    return items


# -- proposals ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalRef:
    """A proposal and the exact revision a command named."""

    proposal: Proposal
    revision: Revision


def find_proposal(store: Store, ref: str, wg: Workgroup | None = None) -> ProposalRef:
    """Resolve a revision id (any revision, including the first, whose id is the proposal's id)."""
    wg = wg or load(store)
    record = _record(store, ref, ("workgroup.proposal",), "a proposal")
    pid = wg.revision_of.get(record.hash)
    if pid is None:
        raise MalformedInput(f"proposal {record.short} is malformed and was skipped")
    proposal = wg.proposals[pid]
    revision = proposal.revision(record.hash)
    assert revision is not None
    return ProposalRef(proposal, revision)


def proposal_options(p: Proposal, me: str) -> list[str]:
    """What our party may do with a proposal now (for error messages and `proposal show`)."""
    if p.state in ("adopted", "withdrawn", "rejected"):
        return []
    options = []
    signed = any(s.party == me for s in p.current.signatures)
    if me == p.proposer:
        options += ["revise", "withdraw"] + (["submit"] if p.current.draft else [])
    if me in p.members and not p.current.draft and not signed:
        options += ["sign"]
        if me != p.proposer:
            options += ["object", "reject"]
    return options


def _refuse(p: Proposal, me: str, message: str) -> IllegalTransition:
    return IllegalTransition(message, hint=_allowed(proposal_options(p, me)) +
                             (f" (current revision {p.current.number}: {p.current.record[:12]})"
                              if len(p.revisions) > 1 else ""))


def _check_open(p: Proposal, me: str, verb: str) -> None:
    if p.state in ("adopted", "withdrawn", "rejected"):
        raise _refuse(p, me, f"cannot {verb} proposal {p.id[:12]}: it is {p.state}")


def _check_current(found: ProposalRef, me: str, verb: str) -> None:
    p, rev = found.proposal, found.revision
    if rev is not p.current:
        raise _refuse(p, me, f"cannot {verb} revision {rev.number} of proposal {p.id[:12]}: it is superseded by "
                             f"revision {p.current.number} ({p.current.record[:12]}); read that text and "
                             f"{verb} it by its id")


def _check_member(p: Proposal, me: str, verb: str) -> None:
    if me not in p.members:
        raise _refuse(p, me, f"we ({me}) cannot {verb} proposal {p.id[:12]}: its members are "
                             + ", ".join(p.members))


def new_proposal(store: Store, *, title: str, text: bytes, draft: bool = False,
                 tlp: str | None = None) -> ProposalRef:
    """Table a proposal (or a draft for discussion). Its member list is fixed now."""
    if not check_single_line(title, "the title").strip():
        raise UsageError("the proposal needs a title", hint='--title "Joint notification template"')
    body_text, digest = read_text(text, "the proposal text")
    group = group_for_new(store)
    record = store.append("workgroup.proposal", {
        "title": title.strip(), "text": body_text, "digest": digest, "revision": 1, "draft": draft,
        "members": group}, to=_audience(group, store.party), tlp=_tlp(store, tlp))
    return find_proposal(store, record.hash)


def revise_proposal(store: Store, ref: str, *, text: bytes, title: str | None = None,
                    submit: bool = False) -> ProposalRef:
    """A new revision (the proposer only): it supersedes the current one and needs new signatures."""
    found = find_proposal(store, ref)
    p, me = found.proposal, store.party
    _check_open(p, me, "revise")
    if me != p.proposer:
        raise _refuse(p, me, f"only the proposer ({p.proposer}) revises proposal {p.id[:12]}; "
                             "object with your reasons, or table your own proposal")
    _check_current(found, me, "revise")
    body_text, digest = read_text(text, "the proposal text")
    if digest == p.current.digest:
        raise _refuse(p, me, "the text is unchanged (same sha256): a revision must change the text")
    record = store.append("workgroup.proposal", {
        "ref": p.id, "supersedes": p.current.record, "text": body_text,
        "title": check_single_line(title or p.title, "the title").strip(),
        "digest": digest, "revision": p.current.number + 1, "draft": p.current.draft and not submit},
        to=_audience(p.members, me), tlp=p.tlp)
    return find_proposal(store, record.hash)


def submit_proposal(store: Store, ref: str) -> ProposalRef:
    """Open a draft for signature (the proposer only)."""
    found = find_proposal(store, ref)
    p, me = found.proposal, store.party
    _check_open(p, me, "submit")
    if me != p.proposer or not p.current.draft:
        raise _refuse(p, me, f"proposal {p.id[:12]} is not our draft to submit (state {p.state}, proposer "
                             f"{p.proposer})")
    _check_current(found, me, "submit")
    store.append("workgroup.submit", {"ref": p.id, "revision": p.current.record},
                 to=_audience(p.members, me), tlp=p.tlp)
    return find_proposal(store, ref)


def sign_proposal(store: Store, ref: str, digest: str | None = None) -> ProposalRef:
    """Endorse the exact text of the named revision. ``digest`` (optional) must match what the signer read."""
    found = find_proposal(store, ref)
    p, rev, me = found.proposal, found.revision, store.party
    _check_open(p, me, "sign")
    _check_member(p, me, "sign")
    _check_current(found, me, "sign")
    if rev.draft:
        raise _refuse(p, me, f"proposal {p.id[:12]} is a draft under discussion: {p.proposer} must submit it "
                             "before it can be signed")
    if any(s.party == me for s in rev.signatures):
        raise _refuse(p, me, f"we already signed revision {rev.number} of proposal {p.id[:12]}; awaiting "
                             + (", ".join(p.awaiting) or "nobody"))
    if digest is not None and digest.strip().lower() != rev.digest:
        raise _refuse(p, me, f"revision {rev.number} has text digest {rev.digest}, not {digest.strip()}: "
                             "you did not read this text")
    store.append("workgroup.sign", {"ref": p.id, "revision": rev.record, "digest": rev.digest},
                 to=_audience(p.members, me), tlp=p.tlp)
    return find_proposal(store, ref)


def _check_dissent(found: ProposalRef, me: str, verb: str, proposer_refusal: str) -> None:
    """What objecting and rejecting both require: an open proposal, a member, the current revision, someone
    other than the proposer, and no signature of ours on that text (a signature is final)."""
    p, rev = found.proposal, found.revision
    _check_open(p, me, verb)
    _check_member(p, me, verb)
    _check_current(found, me, verb)
    if me == p.proposer:
        raise _refuse(p, me, proposer_refusal)
    if any(s.party == me for s in rev.signatures):
        raise _refuse(p, me, f"we signed revision {rev.number}; a signature is final for that text")


def object_proposal(store: Store, ref: str, reason: str) -> ProposalRef:
    """Record an objection to the named (current) revision, with reasons. The proposal stays open."""
    if not reason.strip():
        raise UsageError("an objection needs its reasons", hint='--reason "..."')
    found = find_proposal(store, ref)
    p, rev, me = found.proposal, found.revision, store.party
    _check_dissent(found, me, "object to",
                   "the proposer does not object to its own proposal: revise or withdraw it")
    if any(o.party == me and o.revision == rev.record for o in p.objections):
        raise _refuse(p, me, f"we already objected to revision {rev.number}")
    store.append("workgroup.object", {"ref": p.id, "revision": rev.record, "digest": rev.digest,
                                      "reason": reason.strip()}, to=_audience(p.members, me), tlp=p.tlp)
    return find_proposal(store, ref)


def reject_proposal(store: Store, ref: str, reason: str) -> ProposalRef:
    """A member's final veto of the current revision: the proposal is rejected (consensus is impossible)."""
    if not reason.strip():
        raise UsageError("a rejection needs its reasons", hint='--reason "..."')
    found = find_proposal(store, ref)
    p, rev, me = found.proposal, found.revision, store.party
    _check_dissent(found, me, "reject", "the proposer withdraws rather than rejects its own proposal")
    store.append("workgroup.reject", {"ref": p.id, "revision": rev.record, "reason": reason.strip()},
                 to=_audience(p.members, me), tlp=p.tlp)
    return find_proposal(store, ref)


def withdraw_proposal(store: Store, ref: str, reason: str | None = None) -> ProposalRef:
    """The proposer takes the proposal off the table."""
    found = find_proposal(store, ref)
    p, me = found.proposal, store.party
    _check_open(p, me, "withdraw")
    if me != p.proposer:
        raise _refuse(p, me, f"only the proposer ({p.proposer}) can withdraw proposal {p.id[:12]}")
    body: dict[str, Any] = {"ref": p.id}
    if reason:
        body["reason"] = reason.strip()
    store.append("workgroup.withdraw", body, to=_audience(p.members, me), tlp=p.tlp)
    return find_proposal(store, ref)


def list_proposals(store: Store, *, state: str | None = None, all_revisions: bool = False
                   ) -> list[ProposalRef]:
    """Proposals (their current revision), or every revision with ``all_revisions`` or ``state=superseded``."""
    if state is not None and state not in PROPOSAL_STATES:
        raise UsageError(f"unknown state {state!r}", hint="one of " + ", ".join(PROPOSAL_STATES))
    wg = load(store)
    rows = []
    for p in sorted(wg.proposals.values(), key=lambda p: (p.created, p.id)):
        revisions = p.revisions if all_revisions or state == "superseded" else [p.current]
        rows += [ProposalRef(p, rev) for rev in revisions if state is None or rev.state == state]
    return rows


# -- cbm status --------------------------------------------------------------------------------------------


def attention(store: Store) -> list[Attention]:
    """Proposals awaiting our signature, minutes awaiting our approval, our actions overdue or due soon."""
    me, now = store.party, clock.now()
    wg = load(store, now)
    items: list[Attention] = []
    for p in wg.proposals.values():
        if p.state == "proposed" and me in p.awaiting:
            objected = any(o.party == me and o.revision == p.current.record for o in p.objections)
            if not objected:
                items.append(Attention("workgroup", 1, f"proposal \"{p.title}\" (revision {p.current.number}) by "
                                       f"{p.proposer} awaits our signature", ref=p.current.record))
    for m in wg.meetings.values():
        if m.minutes_state == "draft" and me in m.awaiting_approval:
            items.append(Attention("workgroup", 1, f"minutes of the {m.at[:10]} meeting in {m.place} await our "
                                   "approval", ref=m.id))
    for a in wg.actions.values():
        if a.owner != me or a.status != "open":
            continue
        deadline = due_deadline(a.due)
        if a.overdue:
            items.append(Attention("workgroup", 0, f"our action \"{a.title}\" is overdue", ref=a.id,
                                   due=clock.iso(deadline)))
        elif deadline - now <= DUE_SOON:
            items.append(Attention("workgroup", 1, f"our action \"{a.title}\" is due soon", ref=a.id,
                                   due=clock.iso(deadline)))
    return items
