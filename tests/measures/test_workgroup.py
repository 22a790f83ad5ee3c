"""The working group's rules at the library level: adoption by every member, revisions, objections, minutes,
action items. Records travel between real stores through the verifying ingest path (bundles: tests/e2e)."""

from __future__ import annotations

import hashlib

import pytest

from cbm.core.errors import IllegalTransition, MalformedInput, NotFound, OversizedInput, UsageError
from cbm.core.tlp import may_see
from cbm.measures.workgroup import service as wg
from cbm.measures.workgroup.model import fold
from cbm.store.ingest import WithheldRange, ingest
from tests.conftest import Party

TEXT = b"# Joint notification template\n\n1. Number and time (UTC)\n2. Precedence\n"
TEXT2 = TEXT + b"3. Affected sector\n"
AGENDA = b"1. Opening\n2. Threats\n3. Proposals\n"


def sync(*parties: Party) -> None:
    """Every party receives every other party's own log (verified, chained; records it may not see as
    withheld positions) — a stand-in for bundles, which tests/e2e use."""
    for source in parties:
        with source.open() as s:
            log = list(s.log(source.code))
        for target in parties:
            if target is not source:
                items = [r.envelope if may_see(target.code, r.author, r.to, r.tlp)
                         else WithheldRange(r.author, r.seq, r.seq, r.hash) for r in log]
                with target.open() as t:
                    ingest(t, items)


def propose(party: Party, text: bytes = TEXT, **kw) -> str:
    with party.open() as s:
        return wg.new_proposal(s, title="Joint notification template", text=text, **kw).proposal.id


def state(party: Party, ref: str) -> wg.ProposalRef:
    with party.open() as s:
        return wg.find_proposal(s, ref)


def test_two_party_adoption_needs_both_signatures_on_the_same_digest(us_ru):
    us, ru = us_ru
    pid = propose(us)
    with us.open() as s:
        found = wg.sign_proposal(s, pid)
    assert found.proposal.state == "proposed"
    assert found.proposal.awaiting == ["RU"]
    assert found.revision.digest == hashlib.sha256(TEXT).hexdigest()
    sync(us, ru)
    with ru.open() as s:
        assert state(ru, pid).proposal.awaiting == ["RU"]
        assert [a.ref for a in wg.attention(s)] == [pid]
        found = wg.sign_proposal(s, pid, digest=hashlib.sha256(TEXT).hexdigest())
        assert wg.attention(s) == []
    assert found.proposal.state == "adopted"
    sync(us, ru)
    for party in (us, ru):
        p = state(party, pid).proposal
        assert p.state == "adopted"
        assert sorted(s.party for s in p.signatures) == ["RU", "US"]
        assert all(s.digest == hashlib.sha256(TEXT).hexdigest() for s in p.signatures)
    fingerprints = {s.party: s.fingerprint for s in state(us, pid).proposal.signatures}
    assert fingerprints == {"US": us.fingerprint(), "RU": ru.fingerprint()}


def test_a_signature_over_another_text_does_not_count_for_the_revision_it_names(us_ru):
    """RU signs a record naming the current revision but carrying the digest of another text (its own doctored
    copy, or a stale one): it says nothing about the text proposed, so the proposal is not adopted and the record
    is skipped; RU's signature on the right digest then adopts it."""
    us, ru = us_ru
    pid = propose(us)
    with us.open() as s:
        rev = wg.sign_proposal(s, pid).revision
    sync(us, ru)
    with ru.open() as s:  # signed with RU's real key, as a peer's own cbm (or another tool) could write it
        s.append("workgroup.sign", {"ref": pid, "revision": rev.record, "digest": hashlib.sha256(TEXT2).hexdigest()},
                 to=("US",), tlp="GREEN")
    sync(us, ru)
    for party in (us, ru):
        found = state(party, pid)
        assert found.proposal.state == "proposed" and found.proposal.awaiting == ["RU"]
        assert [sig.party for sig in found.proposal.signatures] == ["US"]
        with party.open() as s:
            assert wg.load(s).skipped == 1
    with ru.open() as s:
        assert wg.sign_proposal(s, pid).proposal.state == "adopted"


def test_text_changed_after_one_signature_is_a_new_revision_and_not_adopted(us_ru):
    us, ru = us_ru
    pid = propose(us)
    sync(us, ru)
    with ru.open() as s:
        wg.sign_proposal(s, pid)
    with us.open() as s:
        rev2 = wg.revise_proposal(s, pid, text=TEXT2)
    assert rev2.revision.number == 2 and rev2.proposal.state == "proposed"
    assert rev2.proposal.signatures == []
    sync(us, ru)
    # RU's signature on revision 1 stays on record but does not count for revision 2
    with us.open() as s:
        wg.sign_proposal(s, rev2.revision.record)
    sync(us, ru)
    found = state(ru, pid)
    assert found.revision.state == "superseded"
    assert [x.party for x in found.revision.signatures] == ["RU"]
    assert found.proposal.state == "proposed" and found.proposal.awaiting == ["RU"]
    with ru.open() as s, pytest.raises(IllegalTransition) as e:
        wg.sign_proposal(s, pid)
    assert "superseded by revision 2" in str(e.value) and "sign" in (e.value.hint or "")
    with ru.open() as s:
        assert wg.sign_proposal(s, rev2.revision.record[:10]).proposal.state == "adopted"


def test_signing_a_digest_that_is_not_the_text_read_is_refused(us_ru):
    us, _ = us_ru
    pid = propose(us)
    with us.open() as s, pytest.raises(IllegalTransition, match="not .*you did not read"):
        wg.sign_proposal(s, pid, digest=hashlib.sha256(TEXT2).hexdigest())


def test_objection_is_recorded_and_lifted_by_a_later_signature(us_ru):
    us, ru = us_ru
    pid = propose(us)
    sync(us, ru)
    with ru.open() as s:
        wg.object_proposal(s, pid, "item 6 must not name attribution")
        with pytest.raises(IllegalTransition, match="already objected"):
            wg.object_proposal(s, pid, "again")
        assert wg.attention(s) == []  # objecting is an answer: not nagged to sign
    sync(us, ru)
    p = state(us, pid).proposal
    assert p.state == "proposed"
    assert [(o.party, o.reason, o.lifted) for o in p.objections] == [("RU", "item 6 must not name attribution",
                                                                      False)]
    with us.open() as s, pytest.raises(IllegalTransition, match="proposer does not object"):
        wg.object_proposal(s, pid, "x")
    with ru.open() as s:
        wg.sign_proposal(s, pid)
    assert state(ru, pid).proposal.objections[0].lifted


def test_rejection_and_withdrawal_are_final(us_ru):
    us, ru = us_ru
    pid = propose(us)
    sync(us, ru)
    with ru.open() as s:
        assert wg.reject_proposal(s, pid, "outside the mandate").proposal.state == "rejected"
    sync(us, ru)
    with us.open() as s:
        assert state(us, pid).proposal.state == "rejected"
        with pytest.raises(IllegalTransition, match="it is rejected") as e:
            wg.sign_proposal(s, pid)
        assert "nothing" in (e.value.hint or "")
        other = wg.new_proposal(s, title="t", text=TEXT2).proposal.id
        assert wg.withdraw_proposal(s, other, "merged").proposal.state == "withdrawn"
        third = wg.new_proposal(s, title="t3", text=TEXT).proposal.id
    sync(us, ru)
    with ru.open() as s:
        with pytest.raises(IllegalTransition, match="withdrawn"):
            wg.sign_proposal(s, other)
        with pytest.raises(IllegalTransition, match="only the proposer"):
            wg.withdraw_proposal(s, third)


def test_draft_needs_submission_before_signatures(us_ru):
    us, ru = us_ru
    pid = propose(us, draft=True)
    with us.open() as s:
        with pytest.raises(IllegalTransition, match="draft"):
            wg.sign_proposal(s, pid)
        assert wg.submit_proposal(s, pid).proposal.state == "proposed"
        assert wg.sign_proposal(s, pid).proposal.awaiting == ["RU"]
    assert [r.proposal.id for r in _list(us, "proposed")] == [pid]


def _list(party: Party, state_: str | None = None) -> list[wg.ProposalRef]:
    with party.open() as s:
        return wg.list_proposals(s, state=state_)


def test_three_party_adoption_and_membership_fixed_per_proposal(three):
    us, ru, cn = three
    pid = propose(us)
    assert state(us, pid).proposal.members == ["CN", "RU", "US"]
    sync(us, ru, cn)
    for party in (us, ru):
        with party.open() as s:
            wg.sign_proposal(s, pid)
    sync(us, ru, cn)
    assert state(cn, pid).proposal.awaiting == ["CN"]
    with cn.open() as s:
        wg.sign_proposal(s, pid)
    sync(us, ru, cn)
    assert {state(p, pid).proposal.state for p in (us, ru, cn)} == {"adopted"}


def test_configured_members_and_non_member_refused(three):
    us, ru, cn = three
    with us.open() as s:
        s.config["workgroup"] = {"members": ["US", "RU"]}
        pid = wg.new_proposal(s, title="bilateral", text=TEXT).proposal.id
        assert wg.find_proposal(s, pid).proposal.members == ["RU", "US"]
        s.config["workgroup"] = {"members": ["US", "XX"]}
        with pytest.raises(NotFound, match="XX"):
            wg.members(s)
        s.config["workgroup"] = {"members": ["RU"]}
        with pytest.raises(UsageError, match="does not include us"):
            wg.members(s)
    sync(us, ru, cn)
    with cn.open() as s:
        # CN holds nothing addressed to it: the bilateral proposal never reached CN's store
        with pytest.raises(NotFound):
            wg.find_proposal(s, pid)


def test_minutes_approved_by_every_member_once(us_ru, monkeypatch):
    us, ru = us_ru
    monkeypatch.setenv("CBM_NOW", "2026-12-09T10:00:00Z")
    with us.open() as s:
        m = wg.new_meeting(s, at="2026-12-10T09:00Z", place="Geneva", agenda=AGENDA)
        with pytest.raises(IllegalTransition, match="has not taken place"):
            wg.draft_minutes(s, m.id, b"written in advance\n")
    monkeypatch.setenv("CBM_NOW", "2026-12-11T10:00:00Z")
    with us.open() as s:
        with pytest.raises(IllegalTransition, match="no minutes"):
            wg.approve_minutes(s, m.id)
        wg.draft_minutes(s, m.id, b"draft one\n")
        wg.approve_minutes(s, m.id)
        with pytest.raises(IllegalTransition, match="already approved"):
            wg.approve_minutes(s, m.id)
    sync(us, ru)
    with ru.open() as s:
        with pytest.raises(IllegalTransition, match="only the convener"):
            wg.draft_minutes(s, m.id, b"our version\n")
        assert [a.ref for a in wg.attention(s)] == [m.id]
    # the convener corrects the draft: US's approval of draft one no longer counts
    with us.open() as s:
        meeting = wg.draft_minutes(s, m.id, b"draft two\n")
        assert meeting.awaiting_approval == ["RU", "US"]
        wg.approve_minutes(s, m.id)
    sync(us, ru)
    with ru.open() as s:
        with pytest.raises(IllegalTransition, match="digest"):
            wg.approve_minutes(s, m.id, digest=hashlib.sha256(b"draft one\n").hexdigest())
        meeting = wg.approve_minutes(s, m.id, digest=hashlib.sha256(b"draft two\n").hexdigest())
    assert meeting.minutes_state == "approved" and meeting.status == "minutes approved"
    sync(us, ru)
    with us.open() as s:
        with pytest.raises(IllegalTransition, match="final"):
            wg.draft_minutes(s, m.id, b"draft three\n")


def test_actions_owner_overdue_and_carried_forward(us_ru, monkeypatch):
    us, ru = us_ru
    monkeypatch.setenv("CBM_NOW", "2026-12-01T00:00:00Z")
    with us.open() as s:
        first = wg.new_meeting(s, at="2026-12-10T09:00Z", place="Geneva", agenda=AGENDA)
        a1 = wg.add_action(s, "Share sinkhole data format", owner="ru", due="2027-01-15", meeting=first.id)
        a2 = wg.add_action(s, "Draft Q4 report", owner="US", due="2026-12-20")
        with pytest.raises(UsageError, match="not a member"):
            wg.add_action(s, "x", owner="CN", due="2027-01-01")
        with pytest.raises(IllegalTransition, match="owned by RU"):
            wg.complete_action(s, a1.id)
    assert a1.meeting == first.id and a1.due == "2027-01-15"
    sync(us, ru)
    monkeypatch.setenv("CBM_NOW", "2027-01-15T23:59:59Z")  # a bare due date runs to the end of that day
    with ru.open() as s:
        assert [a.id for a in wg.list_actions(s, overdue=True)] == [a2.id]
    monkeypatch.setenv("CBM_NOW", "2027-01-16T00:00:00Z")
    with ru.open() as s:
        overdue = wg.list_actions(s, overdue=True)
        assert [a.id for a in overdue] == [a2.id, a1.id]
        assert [(x.rank, x.ref, x.due) for x in wg.attention(s)] == [(0, a1.id, "2027-01-15T23:59:59Z")]
        done = wg.complete_action(s, a1.id, note="format sent")
        assert done.status == "done" and not done.overdue
        with pytest.raises(IllegalTransition, match="already marked done"):
            wg.complete_action(s, a1.id)
    sync(us, ru)
    with us.open() as s:
        assert wg.find_action(s, a1.id).status == "done"
        second = wg.new_meeting(s, at="2027-03-10T09:00Z", place="Moscow", agenda=AGENDA)
        assert second.carried == [a2.id]  # the open item moves to the next agenda; the done one does not
        assert first.carried == []


def test_fold_skips_nonsense_peer_records_and_is_order_independent(us_ru):
    us, ru = us_ru
    pid = propose(us)
    with us.open() as s:
        wg.sign_proposal(s, pid)
    sync(us, ru)
    with ru.open() as s:
        wg.sign_proposal(s, pid)
        # a well-signed record whose body lies about the digest of its text
        s.append("workgroup.proposal", {"title": "bad", "text": "x", "digest": "0" * 64, "revision": 1,
                                        "members": ["RU", "US"]}, to=("US",))
        # a signature on the proposal by a party that is not a member is ignored
        records = list(s.records(kind_prefix="workgroup."))
        keys = wg.fingerprint_of(s)
    forward = fold(records, keys)
    backward = fold(list(reversed(records)), keys)
    assert forward.skipped == backward.skipped == 1
    assert forward.proposals[pid].state == backward.proposals[pid].state == "adopted"


def test_text_limits(us_ru):
    us, _ = us_ru
    with us.open() as s:
        with pytest.raises(OversizedInput):
            wg.new_proposal(s, title="big", text=b"x" * (wg.MAX_TEXT_BYTES + 1))
        with pytest.raises(MalformedInput, match="UTF-8"):
            wg.new_proposal(s, title="latin1", text="d\xe9j\xe0".encode("latin-1"))
        with pytest.raises(UsageError, match="empty"):
            wg.new_proposal(s, title="blank", text=b"  \n")
        assert list(s.records(kind_prefix="workgroup.")) == []


def test_withdrawal_crossing_the_last_signature_in_transit_stands_and_is_named(us_ru):
    us, ru = us_ru
    pid = propose(us)
    with us.open() as s:
        wg.sign_proposal(s, pid)
    sync(us, ru)
    with ru.open() as s:
        wg.sign_proposal(s, pid)  # RU completes the signatures...
    with us.open() as s:
        wg.withdraw_proposal(s, pid, "superseded by a joint text")  # ...while US withdraws, not yet knowing
    sync(us, ru)
    for party in (us, ru):
        p = state(party, pid).proposal
        assert p.state == "withdrawn" and p.adopted_at is None
        assert p.conflict is not None and "in transit" in p.conflict
