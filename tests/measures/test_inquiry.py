"""The inquiry measure over real stores: numbers, states, deadlines, attachments, anomalies, attention."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbm.core.errors import IllegalTransition, NotFound, OversizedInput, UsageError
from cbm.measures.inquiry import service as lib
from cbm.measures.inquiry.model import human_duration
from tests.measures.test_inquiry_support import at, carry, exchange

T0 = "2026-11-23T06:00:00Z"


def _open(party, **kw):
    fields = dict(to="RU", type="request_for_information", precedence="IMMEDIATE",
                  subject="Scanning of US energy SCADA from AS12345", text="Port scans on 502/tcp since 04:10Z.")
    fields.update(kw)
    with party.open() as store:
        return lib.open_inquiry(store, lib.OpenRequest(**fields))


def _thread(party, ref):
    with party.open() as store:
        return lib.resolve(store, ref)


def _count(party):
    with party.open() as store:
        return sum(store.counts()["by_author"].values())


def test_numbers_are_sender_scoped_sequential_per_year_and_never_reused(three):
    us, ru, cn = three
    with at(T0):
        assert _open(us).number == "US-RU/2026/0001"
        assert _open(us, to="CN").number == "US-CN/2026/0002"
        draft = _open(us, draft=True)
        assert draft.number == "US-RU/2026/0003" and draft.state == "draft"
        with us.open() as store:
            lib.withdraw(store, draft.number, reason="drafted in error")
        assert _open(us).number == "US-RU/2026/0004"  # the withdrawn draft's number stays used
        assert _open(ru, to="US").number == "RU-US/2026/0001"  # RU counts its own
    with at("2027-01-01T00:00:10Z"):
        assert _open(us).number == "US-RU/2027/0001"
    with at("2026-12-31T23:59:00Z"):
        assert _open(us).number == "US-RU/2026/0005"


def test_round_trip_states_on_both_sides(us_ru):
    us, ru = us_ru
    with at(T0):
        opened = _open(us)
        assert (opened.state, opened.awaiting, opened.due) == ("sent", None, None)
    with at("2026-11-23T06:20:00Z"):
        carry(us, ru)
        mine = _thread(ru, opened.number)
        assert mine.state == "delivered" and mine.awaiting == "RU"
        assert mine.delivered == "2026-11-23T06:20:00Z"
        assert _thread(us, opened.number).state == "sent"  # US has not seen RU's receipt yet
        carry(ru, us)
        theirs = _thread(us, opened.number)
        assert theirs.state == "delivered" and theirs.delivered == "2026-11-23T06:20:00Z"
        assert theirs.ack_due == "2026-11-23T07:20:00Z" and theirs.reply_due == "2026-11-23T18:20:00Z"
    with at("2026-11-23T06:30:00Z"), ru.open() as store:
        t = lib.acknowledge(store, opened.number, note="routed to competent authority", own_ref="RU-US/2026/0031")
        assert (t.state, t.awaiting, t.due) == ("acknowledged", "RU", "2026-11-23T18:20:00Z")
        t = lib.clarify(store, opened.number, text="Which source ports, exactly?")
        assert (t.state, t.awaiting) == ("clarification", "US")
        assert t.due == "2026-11-23T18:30:00Z"  # the reply window, from the request
    with at("2026-11-23T07:00:00Z"):
        exchange(ru, us)
        with us.open() as store:
            assert lib.resolve(store, "RU-US/2026/0031").number == opened.number  # their own reference works
            t = lib.clarify(store, opened.number, text="Ephemeral ports 40000-40100.")
            assert (t.state, t.awaiting, t.due) == ("clarification", "RU", "2026-11-23T18:20:00Z")
    with at("2026-11-23T09:00:00Z"):
        exchange(us, ru)
        with ru.open() as store:
            t = lib.reply(store, opened.number, text="Traced to a compromised university host; isolated.")
            assert (t.state, t.awaiting, t.due) == ("answered", "US", None)
        carry(ru, us)
        with us.open() as store:
            t = lib.close(store, opened.number, outcome="satisfied", note="thank you")
            assert (t.state, t.outcome, t.awaiting) == ("closed", "satisfied", None)
    carry(us, ru)
    seen = _thread(ru, opened.number)
    assert seen.state == "closed" and seen.outcome == "satisfied" and not seen.anomalies
    assert [m.kind.split(".")[1] for m in seen.messages] == ["ack", "clarify", "clarify", "reply", "close"]


def test_deadline_arithmetic_with_a_fixed_clock(us_ru):
    us, ru = us_ru
    with at(T0):
        routine = _open(us, precedence="ROUTINE")
        flash = _open(us, precedence="flash")
        fixed = _open(us, precedence="PRIORITY", reply_by="2026-11-25T12:00Z")
    with at("2026-11-23T08:00:00Z"):
        carry(us, ru)
    with at("2026-11-23T08:14:59Z"):
        t = _thread(ru, flash.number)
        assert t.ack_due == "2026-11-23T08:15:00Z" and t.reply_due == "2026-11-23T12:00:00Z"
        assert not t.overdue() and t.countdown() == "due in 1s"
        r = _thread(ru, routine.number)
        assert r.ack_due == "2026-11-24T08:00:00Z" and r.reply_due == "2026-11-25T08:00:00Z"
        assert r.countdown() == "due in 23h45m"
        f = _thread(ru, fixed.number)
        assert f.ack_due == "2026-11-23T12:00:00Z" and f.reply_due == "2026-11-25T12:00:00Z"
    with at("2026-11-23T08:40:00Z"):
        t = _thread(ru, flash.number)
        assert t.overdue() and t.countdown() == "OVERDUE by 25m"
        with ru.open() as store:
            t = lib.acknowledge(store, flash.number)
        assert t.due == "2026-11-23T12:00:00Z" and not t.overdue()  # acknowledged late: now the reply runs
    with at("2026-11-26T09:00:00Z"):
        assert _thread(ru, routine.number).countdown() == "OVERDUE by 2d01h"


def test_deadlines_come_from_config_and_are_signed_into_the_inquiry(us_ru):
    us, ru = us_ru
    config = us.root / "config.toml"
    config.write_text(config.read_text() + '\n[inquiry.deadlines.FLASH]\nack = "5m"\nreply = "90m"\n')
    with at(T0):
        t = _open(us, precedence="FLASH")
        assert (t.body["ack_within"], t.body["reply_within"]) == (300, 5400)
        carry(us, ru)
    t = _thread(ru, t.number)  # the recipient uses the sender's signed windows, not its own config
    assert (t.ack_due, t.reply_due) == ("2026-11-23T06:05:00Z", "2026-11-23T07:30:00Z")
    config.write_text(config.read_text().replace('"90m"', '"soon"'))
    before = _count(us)
    with pytest.raises(UsageError, match="inquiry.deadlines.FLASH"):
        _open(us, precedence="FLASH")
    assert _count(us) == before


def test_human_duration():
    from datetime import timedelta

    assert [human_duration(timedelta(seconds=s)) for s in (40, 600, 3660, 90000, -90000)] == \
        ["40s", "10m", "1h01m", "1d01h", "1d01h"]


# -- every illegal transition ------------------------------------------------------------------------------

ACTIONS = ("send", "ack", "reply", "clarify", "close", "withdraw")


def _do(store, ref, action):
    if action == "send":
        return lib.send(store, ref)
    if action == "ack":
        return lib.acknowledge(store, ref)
    if action == "reply":
        return lib.reply(store, ref, text="answer")
    if action == "clarify":
        return lib.clarify(store, ref, text="question")
    if action == "close":
        return lib.close(store, ref, outcome="satisfied")
    return lib.withdraw(store, ref, reason="no longer needed")


def _reach(state, us, ru):
    """Bring a fresh inquiry into ``state`` on both sides; returns its number."""
    with at(T0):
        t = _open(us, draft=state == "draft")
    if state in ("draft",):
        return t.number
    if state == "sent":
        return t.number  # only US holds it; RU's side is covered by 'delivered'
    exchange(us, ru)
    steps = {"delivered": [], "acknowledged": [(ru, "ack")], "clarification": [(ru, "ack"), (us, "clarify")],
             "answered": [(ru, "ack"), (ru, "reply")], "closed": [(ru, "ack"), (us, "close")],
             "withdrawn": [(us, "withdraw")]}[state]
    for party, action in steps:
        with party.open() as store:
            _do(store, t.number, action)
        other = ru if party is us else us
        exchange(party, other)
    return t.number


ALLOWED = {
    ("draft", "US"): {"send", "withdraw"},
    ("sent", "US"): {"close", "withdraw"},
    ("delivered", "US"): {"close", "withdraw"}, ("delivered", "RU"): {"ack"},
    ("acknowledged", "US"): {"clarify", "close", "withdraw"}, ("acknowledged", "RU"): {"reply", "clarify"},
    ("clarification", "US"): {"clarify", "close", "withdraw"}, ("clarification", "RU"): {"reply", "clarify"},
    ("answered", "US"): {"clarify", "close"}, ("answered", "RU"): {"reply"},
    ("closed", "US"): set(), ("closed", "RU"): set(), ("withdrawn", "US"): set(), ("withdrawn", "RU"): set(),
}


@pytest.mark.parametrize("state", ["draft", "sent", "delivered", "acknowledged", "clarification", "answered",
                                   "closed", "withdrawn"])
def test_every_illegal_transition_is_refused_with_the_allowed_actions(us_ru, state):
    us, ru = us_ru
    number = _reach(state, us, ru)
    for party in (us, ru):
        if (state, party.code) not in ALLOWED:
            with pytest.raises(NotFound):  # a draft never leaves US
                _thread(party, number)
            continue
        thread = _thread(party, number)
        assert thread.state == state, (party.code, thread.state)
        allowed = ALLOWED[(state, party.code)]
        assert set(thread.allowed(party.code)) == allowed
        for action in ACTIONS:
            if action in allowed:
                continue
            before = _count(party)
            with party.open() as store, pytest.raises(IllegalTransition) as caught:
                _do(store, number, action)
            message = str(caught.value)
            assert caught.value.exit_code == 4
            assert f"while {state}: " in message
            assert message.endswith(", ".join(a for a in ACTIONS if a in allowed) or "nothing (show and export only)")
            assert _count(party) == before, f"{party.code} {action} in {state} wrote a record"


def test_acting_on_the_other_partys_inquiry_says_whose_it_is(us_ru):
    us, ru = us_ru
    number = _reach("acknowledged", us, ru)
    with ru.open() as store, pytest.raises(IllegalTransition, match="it is US's inquiry: only its sender can close"):
        lib.close(store, number, outcome="satisfied")
    with ru.open() as store, pytest.raises(IllegalTransition, match="only its sender can withdraw"):
        lib.withdraw(store, number, reason="x")
    with us.open() as store, pytest.raises(IllegalTransition, match="own inquiry to RU: only the recipient"):
        lib.reply(store, number, text="answering myself")


def test_a_third_party_never_sees_a_bilateral_inquiry(three):
    us, ru, cn = three
    with at(T0):
        t = _open(us)
    carry(us, cn)
    with pytest.raises(NotFound):
        _thread(cn, t.number)


def test_an_inquiry_withdrawn_or_closed_before_it_reached_the_recipient_was_never_delivered(us_ru):
    """Only the recipient's own record shows it got an inquiry: the sender's withdrawal or closing of one the
    recipient never received leaves it undelivered, while the recipient's acknowledgement, arriving before any
    receipt, shows delivery no later than itself."""
    us, ru = us_ru
    with at(T0):
        withdrawn, closed, acknowledged = _open(us), _open(us), _open(us)
    with at("2026-11-23T06:05:00Z"):
        carry(us, ru, receipt=False)
    with at("2026-11-23T06:10:00Z"), us.open() as store:
        lib.withdraw(store, withdrawn.number, reason="sent in error")
        lib.close(store, closed.number, outcome="satisfied")
    with at("2026-11-23T06:20:00Z"), ru.open() as store:
        lib.acknowledge(store, acknowledged.number)
    carry(ru, us, receipt=False)
    with at("2026-11-23T06:30:00Z"):
        assert [(t.state, t.delivered) for t in (_thread(us, withdrawn.number), _thread(us, closed.number))] == \
            [("withdrawn", None), ("closed", None)]
        thread = _thread(us, acknowledged.number)
        assert (thread.state, thread.delivered) == ("acknowledged", "2026-11-23T06:20:00Z")


def test_a_peer_cannot_move_our_inquiry_with_a_message_it_may_not_send(us_ru):
    us, ru = us_ru
    number = _reach("delivered", us, ru)
    with ru.open() as store:  # a faulty or hostile RU client signs a close of US's inquiry
        ref = lib.resolve(store, number).open.hash
        store.append("inquiry.close", {"ref": ref, "number": number, "outcome": "satisfied"}, to=["US"])
    carry(ru, us)
    t = _thread(us, number)
    assert t.state == "delivered"
    assert t.anomalies and "ignored RU inquiry.close" in t.anomalies[0]


def test_draft_is_withheld_until_sent_then_travels_under_its_number(us_ru):
    us, ru = us_ru
    with at(T0):
        draft = _open(us, draft=True, precedence="FLASH")
    carry(us, ru)
    with pytest.raises(NotFound):
        _thread(ru, draft.number)
    with at("2026-11-23T06:10:00Z"), us.open() as store:
        sent = lib.send(store, draft.number)
    assert sent.number == draft.number and sent.state == "sent" and sent.draft is not None
    with at("2026-11-23T06:11:00Z"):
        carry(us, ru)
    t = _thread(ru, draft.number)
    assert t.state == "delivered" and t.ack_due == "2026-11-23T06:26:00Z" and t.draft is None
    with us.open() as store:
        assert [x.number for x in lib.threads(store)] == [draft.number]  # listed once


def test_attachments_travel_and_are_saved_with_safe_names(us_ru, tmp_path):
    us, ru = us_ru
    evil = tmp_path / "..evil"
    evil.mkdir()
    summary = evil / "pcap-summary.txt"
    summary.write_bytes(b"04:10:02 198.51.100.7:40012 -> 203.0.113.5:502 SYN\n")
    with at(T0):
        t = _open(us, attachments=[summary, summary])
    assert len(t.body["blobs"]) == 1 and t.body["attachments"][0]["name"] == "pcap-summary.txt"
    carry(us, ru)
    out = tmp_path / "saved"
    with ru.open() as store:
        thread = lib.resolve(store, t.number)
        saved = lib.save_attachments(store, thread, out)
    assert [p.name for _, p in saved if p] == ["pcap-summary.txt"]
    assert (out / "pcap-summary.txt").read_bytes() == summary.read_bytes()
    assert lib.safe_name("../../etc/passwd", "ab" * 32) == "passwd"
    assert lib.safe_name("..", "ab" * 32) == "attachment-abababababab"
    assert lib.safe_name("a\x1b[31mb", "ab" * 32) == "a[31mb"


def test_bad_inputs_change_nothing(us_ru, tmp_path):
    us, _ = us_ru
    before = _count(us)
    cases = [
        (dict(tlp="WHITE"), UsageError), (dict(tlp="PINK"), UsageError), (dict(type="gossip"), UsageError),
        (dict(precedence="URGENT"), UsageError), (dict(to="CN"), NotFound), (dict(to="US"), UsageError),
        (dict(to="*"), UsageError), (dict(reply_by="next tuesday"), UsageError),
        (dict(reply_by="2020-01-01T00:00Z"), UsageError), (dict(reply_by="2026-12-01T12:00"), UsageError),
        (dict(attachments=[tmp_path / "missing.txt"]), NotFound),
        (dict(indicators=["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]), NotFound),
        (dict(indicators=["not-an-id"]), UsageError), (dict(subject="  "), UsageError),
        (dict(text=""), UsageError), (dict(text="x" * (lib.MAX_TEXT_BYTES + 1)), OversizedInput),
        (dict(sector="Energy & Water"), UsageError),
    ]
    with at(T0):
        for fields, error in cases:
            with pytest.raises(error):
                _open(us, **fields)
    assert _count(us) == before
    assert not any(Path(us.root / "blobs").rglob("*")) if (us.root / "blobs").exists() else True
    with us.open() as store:
        for ref in ("US-RU/2026/0001", "deadbeef00", "", "zz"):
            with pytest.raises((NotFound, UsageError)):
                lib.resolve(store, ref)


def test_attention_lists_what_we_owe_overdue_first(us_ru):
    us, ru = us_ru
    with at(T0):
        slow = _open(us, precedence="ROUTINE", subject="routine one")
        fast = _open(us, precedence="FLASH", subject="flash one")
        mid = _open(us, precedence="PRIORITY", subject="priority one")
        carry(us, ru)
    with at("2026-11-23T06:30:00Z"), ru.open() as store:
        items = lib.attention(store)
        assert [i.ref for i in items] == [fast.number, mid.number, slow.number]
        assert [i.rank for i in items] == [0, 1, 1]
        assert "acknowledge" in items[0].text and "OVERDUE by 15m" in items[0].text
        lib.acknowledge(store, mid.number)
        assert "reply" in [i for i in lib.attention(store) if i.ref == mid.number][0].text
    carry(ru, us)
    with at("2026-11-23T06:30:00Z"), us.open() as store:
        items = lib.attention(store)
        assert [(i.ref, i.rank) for i in items] == [(fast.number, 2)]  # RU is late: informational for US
        assert "RU is late" in items[0].text


def test_a_peer_cannot_claim_our_numbers_or_hide_our_inquiries(us_ru):
    us, ru = us_ru
    with at(T0):
        ours = _open(us)
        carry(us, ru)
    with ru.open() as store:
        base = {"recipient": "US", "type": "notification", "precedence": "FLASH", "subject": "forged",
                "text": "x", "indicators": [], "blobs": [], "attachments": [], "ack_within": 3600,
                "reply_within": 86400}
        store.append("inquiry.open", {**base, "number": ours.number}, to=["US"])  # our number, their record
        store.append("inquiry.open", {**base, "number": "RU-US/\x1b[2J/2026/0009"}, to=["US"])
        store.append("inquiry.open", {**base, "number": "RU-US/2026/0001", "released_from": ours.open.hash},
                     to=["US"])
    carry(ru, us)
    with us.open() as store:
        assert lib.resolve(store, ours.number).open.hash == ours.open.hash
        listed = {t.number: t for t in lib.threads(store)}
    assert set(listed) == {ours.number, "RU-US/2026/0001"}
    assert listed["RU-US/2026/0001"].draft is None


def test_a_question_after_the_answer_gets_its_own_deadline(us_ru):
    us, ru = us_ru
    with at(T0):
        t = _open(us, precedence="PRIORITY")
        exchange(us, ru)
    with at("2026-11-23T07:00:00Z"), ru.open() as store:
        lib.acknowledge(store, t.number)
        lib.reply(store, t.number, text="answer")
    with at("2026-11-25T07:00:00Z"):  # long after the original reply deadline
        exchange(ru, us)
        with us.open() as store:
            asked = lib.clarify(store, t.number, text="one more question")
    assert (asked.state, asked.awaiting, asked.due) == ("clarification", "RU", "2026-11-26T07:00:00Z")
    assert asked.reply_due == "2026-11-24T06:00:00Z"  # the first answer's deadline, long passed
    with at("2026-11-25T08:00:00Z"):
        assert not _thread(us, t.number).overdue()


def test_concurrent_writers_never_share_a_number(us_ru):
    import subprocess
    import sys

    us, _ = us_ru
    code = "import sys; from cbm.cli.main import app; app(sys.argv[1:])"
    procs = [subprocess.Popen([sys.executable, "-c", code, "--store", str(us.root), "inquiry", "open", "--to", "RU",
                               "--subject", f"parallel {i}", "--body", "b", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(5)]
    numbers = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        numbers.append(json.loads(out)["number"])
    year = numbers[0].split("/")[1]
    assert sorted(numbers) == [f"US-RU/{year}/{n:04d}" for n in range(1, 6)]


def test_a_refused_message_stores_no_attachment(us_ru, tmp_path):
    us, ru = us_ru
    number = _reach("closed", us, ru)
    extra = tmp_path / "late-evidence.txt"
    extra.write_text("too late\n")
    before = sorted(p.name for p in (ru.root / "blobs").rglob("*") if p.is_file()) \
        if (ru.root / "blobs").exists() else []
    with ru.open() as store, pytest.raises(IllegalTransition):
        lib.reply(store, number, text="late", attachments=[extra])
    after = sorted(p.name for p in (ru.root / "blobs").rglob("*") if p.is_file()) \
        if (ru.root / "blobs").exists() else []
    assert after == before
    with ru.open() as store, pytest.raises(NotFound):  # a missing file is found before the state check
        lib.clarify(store, number, text="x", attachments=[tmp_path / "nope"])


def test_state_survives_an_index_rebuild(us_ru):
    us, ru = us_ru
    with at(T0):
        t = _open(us, draft=True)
        with us.open() as store:
            lib.send(store, t.number)
        exchange(us, ru)
        with ru.open() as store:
            lib.acknowledge(store, t.number, own_ref="RU-US/2026/0031")
        exchange(ru, us)
    before = _thread(us, "RU-US/2026/0031")
    with us.open() as store:
        counts = store.rebuild()
    assert counts["inquiry"] == 3  # draft, released inquiry, ack
    after = _thread(us, "RU-US/2026/0031")
    assert (after.number, after.state, after.delivered, [m.hash for m in after.messages], after.draft.hash) == \
        (before.number, before.state, before.delivered, [m.hash for m in before.messages], before.draft.hash)


def test_only_the_recipient_names_its_own_reference_for_an_inquiry(us_ru):
    """US, the sender, signs an acknowledgement of its own inquiry giving it the reference "RU-US/2026/0099" (a
    number of RU's own series): neither store lets that resolve to US's inquiry, since only the recipient's own
    acknowledgement names its reference; RU's acknowledgement with that reference then does."""
    us, ru = us_ru
    with at(T0):
        opened = _open(us)
        with us.open() as store:  # signed with US's real key, as a peer's other tool could write it
            store.append("inquiry.ack", {"ref": opened.open.hash, "number": opened.number,
                                         "after": opened.open.hash, "own_ref": "RU-US/2026/0099"},
                         to=("RU",), tlp="AMBER")
        exchange(us, ru)
        assert _thread(ru, opened.number).state == "delivered"  # nor is the sender's word an acknowledgement
        for party in (us, ru):
            with party.open() as store, pytest.raises(NotFound):
                lib.resolve(store, "RU-US/2026/0099")
        with ru.open() as store:
            lib.acknowledge(store, opened.number, own_ref="RU-US/2026/0099")
        exchange(ru, us)
        for party in (us, ru):
            assert _thread(party, "RU-US/2026/0099").number == opened.number


def test_ack_own_ref_that_already_names_another_inquiry_is_refused(us_ru):
    us, ru = us_ru
    with at(T0):
        first, second = _open(us), _open(us, subject="Second incident")
        exchange(us, ru)
        before = _count(ru)
        with ru.open() as store:
            lib.acknowledge(store, first.number, own_ref="RU-US/2026/0031")
            for taken in ("RU-US/2026/0031", first.number):  # another inquiry's alias, or its number
                with pytest.raises(UsageError, match=f"{taken} already names inquiry {first.number}"):
                    lib.acknowledge(store, second.number, own_ref=taken)
            assert lib.resolve(store, second.number).state == "delivered"
        assert _count(ru) == before + 1  # only the first acknowledgement was written
        with ru.open() as store:
            assert lib.resolve(store, "RU-US/2026/0031").number == first.number
