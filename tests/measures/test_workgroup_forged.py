"""A peer's well-signed working-group record that breaks a rule changes nothing.

Our own `cbm` refuses each of these before writing (tests/measures/test_workgroup.py); a peer's own tool need
not, and its signature makes the record authentic, not meaningful. Each forgery below is signed with the real
key of the party that writes it, travels through the verifying ingest path, and must leave both members' view of
the working group exactly as it was: the same meetings, minutes, actions and proposals, with the record counted
as skipped (or, for a repeat of a valid record, not even that). Each of these rules was once removed by hand
with the rest of the suite staying green; this test fails without any one of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from cbm.measures.workgroup import service as wg
from cbm.measures.workgroup.model import Workgroup
from tests.conftest import Party
from tests.measures.test_workgroup import AGENDA, TEXT, TEXT2, sync


def digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


@dataclasses.dataclass
class World:
    """Two members (US, RU) and a third party (CN) who hold: a meeting convened by US with minutes drafted and
    approved by US, an action owned by RU, a proposal US tabled and signed, a draft of US's, a proposal of all
    three that US and RU signed, and a proposal RU tabled."""

    us: Party
    ru: Party
    cn: Party
    meeting: str
    draft: str  # the meeting's minutes draft record
    action: str
    proposal: str
    draft_proposal: str
    three: str  # the proposal of all three parties, signed by US and RU
    three_revision: str
    rus_proposal: str


@pytest.fixture
def world(three: tuple[Party, Party, Party], monkeypatch: pytest.MonkeyPatch) -> World:
    us, ru, cn = three
    monkeypatch.setenv("CBM_NOW", "2026-12-09T10:00:00Z")
    with us.open() as s:
        s.config["workgroup"] = {"members": ["US", "RU"]}
        m = wg.new_meeting(s, at="2026-12-09T09:00Z", place="Geneva", agenda=AGENDA)
        wg.attend(s, m.id, ["J. Smith"])
        draft = wg.draft_minutes(s, m.id, b"draft one\n").current_minutes
        wg.approve_minutes(s, m.id)
        action = wg.add_action(s, "Share the sinkhole data format", owner="RU", due="2027-01-15", meeting=m.id)
        proposal = wg.new_proposal(s, title="Joint notification template", text=TEXT).proposal.id
        wg.sign_proposal(s, proposal)
        draft_proposal = wg.new_proposal(s, title="Escalation ladder", text=TEXT2, draft=True).proposal.id
        s.config["workgroup"] = {"members": ["US", "RU", "CN"]}
        found = wg.new_proposal(s, title="Three-party exercise", text=b"An exercise in March.\n")
        wg.sign_proposal(s, found.proposal.id)
    sync(us, ru)
    with ru.open() as s:
        wg.attend(s, m.id, ["I. Ivanov"])
        wg.sign_proposal(s, found.proposal.id)
        s.config["workgroup"] = {"members": ["US", "RU"]}
        rus = wg.new_proposal(s, title="Points of contact", text=b"One desk each, staffed day and night.\n")
    sync(us, ru, cn)
    assert draft is not None
    return World(us, ru, cn, m.id, draft.record, action.id, proposal, draft_proposal, found.proposal.id,
                 found.revision.record, rus.proposal.id)


def view(party: Party) -> tuple[Workgroup, int]:
    with party.open() as s:
        state = wg.load(s)
    return dataclasses.replace(state, skipped=0), state.skipped


# (who writes it, its kind, its body given the world, how many records the members' fold skips for it)
Forgery = tuple[str, str, Callable[[World], dict[str, Any]], int]

FORGERIES: dict[str, Forgery] = {
    "a roll-call answer from a party that is no member of the meeting": (
        "CN", "workgroup.attend", lambda w: {"ref": w.meeting, "names": ["Li Wei"], "present": True}, 1),
    "a meeting whose convener is not among its members": (
        "CN", "workgroup.meeting", lambda w: {
            "at": "2026-12-20T09:00:00Z", "place": "Beijing", "title": "", "agenda": AGENDA.decode(),
            "agenda_digest": digest(AGENDA), "members": ["RU", "US"], "carried": []}, 1),
    "minutes drafted by a member who did not convene the meeting": (
        "RU", "workgroup.minutes", lambda w: {
            "ref": w.meeting, "text": "our version\n", "digest": digest(b"our version\n"), "revision": 2}, 1),
    "an approval of the minutes by a party that is no member": (
        "CN", "workgroup.approve", lambda w: {"ref": w.meeting, "minutes": w.draft, "digest": digest(b"draft one\n")},
        1),
    "a member's approval naming the draft with another text's digest": (
        "RU", "workgroup.approve", lambda w: {"ref": w.meeting, "minutes": w.draft, "digest": digest(b"draft two\n")},
        1),
    "the convener approving the same draft a second time": (
        "US", "workgroup.approve", lambda w: {"ref": w.meeting, "minutes": w.draft, "digest": digest(b"draft one\n")},
        0),
    "an action marked done by a member that does not own it": (
        "US", "workgroup.action_done", lambda w: {"ref": w.action}, 1),
    "a proposal whose proposer is not among its members": (
        "RU", "workgroup.proposal", lambda w: {
            "title": "Ours", "text": TEXT.decode(), "digest": digest(TEXT), "revision": 1, "draft": False,
            "members": ["CN", "US"]}, 1),
    "a new revision of RU's proposal written by US": (
        "US", "workgroup.proposal", lambda w: {
            "ref": w.rus_proposal, "supersedes": w.rus_proposal, "title": "Points of contact",
            "text": TEXT2.decode(), "digest": digest(TEXT2), "revision": 2, "draft": False}, 1),
    "a revision by the proposer that does not supersede the current one": (
        "US", "workgroup.proposal", lambda w: {
            "ref": w.proposal, "supersedes": w.draft_proposal, "title": "Joint notification template",
            "text": TEXT2.decode(), "digest": digest(TEXT2), "revision": 2, "draft": False}, 1),
    "a signature by a party that is no member of the proposal": (
        "CN", "workgroup.sign", lambda w: {"ref": w.proposal, "revision": w.proposal, "digest": digest(TEXT)}, 1),
    "the proposer signing its proposal a second time": (
        "US", "workgroup.sign", lambda w: {"ref": w.proposal, "revision": w.proposal, "digest": digest(TEXT)}, 0),
    "a draft submitted for signature by a member who did not write it": (
        "RU", "workgroup.submit", lambda w: {"ref": w.draft_proposal, "revision": w.draft_proposal}, 1),
    "a signature on a draft that was never submitted": (
        "RU", "workgroup.sign", lambda w: {
            "ref": w.draft_proposal, "revision": w.draft_proposal, "digest": digest(TEXT2)}, 1),
    "a rejection by a member that signed the same text": (
        "RU", "workgroup.reject", lambda w: {"ref": w.three, "revision": w.three_revision, "reason": "changed mind"},
        1),
    "a withdrawal by a member that did not propose it": (
        "RU", "workgroup.withdraw", lambda w: {"ref": w.proposal, "reason": "not ours to keep"}, 1),
}


def test_every_forged_record_changes_nothing_for_either_member(world: World) -> None:
    parties = {"US": world.us, "RU": world.ru, "CN": world.cn}
    before = {code: view(parties[code]) for code in ("US", "RU")}
    assert before["US"][0].proposals[world.three].awaiting == ["CN"]
    assert before["US"][0].proposals[world.draft_proposal].state == "draft"
    for name, (author, kind, body, skipped) in FORGERIES.items():
        with parties[author].open() as s:  # signed with the author's real key, as its own tool could write it
            s.append(kind, body(world), to=tuple(sorted({"US", "RU"} - {author})), tlp="GREEN")
        sync(world.us, world.ru, world.cn)
        for code, (state, was_skipped) in before.items():
            now, now_skipped = view(parties[code])
            assert now == state, f"{name}: changed {code}'s view of the working group"
            assert now_skipped == was_skipped + skipped, f"{name}: {code} skipped {now_skipped - was_skipped}"
            before[code] = (now, now_skipped)


def test_the_proposer_rejecting_its_own_proposal_does_not_close_it(world: World) -> None:
    """Our `cbm` tells a proposer to withdraw instead; a peer's tool may still write the rejection. Only another
    member's veto ends a proposal: the proposer's own stays on record as an objection and the proposal open."""
    with world.us.open() as s:
        s.append("workgroup.reject", {"ref": world.draft_proposal, "revision": world.draft_proposal,
                                      "reason": "second thoughts"}, to=("RU",), tlp="GREEN")
    sync(world.us, world.ru)
    for party in (world.us, world.ru):
        found = view(party)[0].proposals[world.draft_proposal]
        assert (found.state, found.closing) == ("draft", None)
        assert [(o.party, o.reason) for o in found.objections] == [("US", "second thoughts")]
