"""Every measure's typed records (``records.py``): for each record kind in the registry, a real record written by
that measure's service round-trips through ``from_body``/``to_body`` to the same canonical bytes, and a body
missing its required fields is refused with InvalidBody (exit 4). See docs/adr/0102-typed-record-bodies.md."""

from __future__ import annotations

import importlib

import pytest

from cbm.core.bodies import InvalidBody
from cbm.core.canonical import canonical_bytes
from cbm.core.records import Record
from cbm.measures.hotline import service as hotline
from cbm.measures.hotline import transcript
from cbm.measures.indicators import service as indicators
from cbm.measures.inquiry import service as inquiry
from cbm.measures.registry import MEASURES
from cbm.measures.workgroup import service as wg
from tests.measures import test_hotline_support as hotline_transport
from tests.measures import test_inquiry_support as inquiry_transport
from tests.measures.test_whitepaper_records import papers  # noqa: F401  (a fixture: every white paper kind)
from tests.measures.test_workgroup import AGENDA, TEXT, TEXT2, sync

ALL_KINDS = {kind for measure in MEASURES for kind in measure.kinds}


def _records_of(*parties) -> dict[str, list[Record]]:
    by_kind: dict[str, list[Record]] = {}
    for party in parties:
        with party.open() as store:
            for author in (party.code, *store.peers()):
                for r in store.log(author):
                    by_kind.setdefault(r.kind, []).append(r)
    return by_kind


@pytest.fixture
def written(us_ru, tmp_path, monkeypatch, papers):  # noqa: F811
    """Two stores after every measure wrote every kind it has, through its own service."""
    us, ru = us_ru
    # indicators: a batch, a revocation, a sighting
    with us.open() as s:
        added = indicators.add(s, indicators.Options(tlp="GREEN"), kind="ipv4-addr", value="203.0.113.7",
                               pattern=None)
        second = indicators.add(s, indicators.Options(tlp="GREEN"), kind="domain-name", value="bad.example",
                                pattern=None)
        indicators.revoke(s, added.id, "false positive")
    hotline_transport.carry(us, ru)
    with ru.open() as s:
        indicators.sighting(s, second.id, count=3, first_seen=None, last_seen=None)
    # inquiry: open, ack, clarify, reply, close; a second one withdrawn
    with us.open() as s:
        first = inquiry.open_inquiry(s, inquiry.OpenRequest(to="RU", type="request_for_information",
                                                            precedence="PRIORITY", subject="Scanning",
                                                            text="Please look at 203.0.113.7"))
        other = inquiry.open_inquiry(s, inquiry.OpenRequest(to="RU", type="notification", precedence="ROUTINE",
                                                            subject="Heads-up", text="For information"))
        inquiry.withdraw(s, other.open.hash, reason="sent in error")
    inquiry_transport.carry(us, ru)
    with ru.open() as s:
        inquiry.acknowledge(s, first.open.hash, own_ref="RU-7")
        inquiry.clarify(s, first.open.hash, text="Which ports?")
        inquiry.reply(s, first.open.hash, text="Blocked.")
    inquiry_transport.carry(ru, us)
    with us.open() as s:
        inquiry.close(s, first.open.hash, outcome="satisfied")
    # hotline: message, delivered and read receipts, translation, link test and its answer, transcript
    message = hotline_transport.send(us, "RU", "Call me")
    with us.open() as s:
        hotline.link_test(s, "RU")
    hotline_transport.carry(us, ru)
    with ru.open() as s:
        hotline.read(s, message)
        hotline.translate(s, message, "Позвоните мне", lang="ru")
        transcript.export(s, tmp_path / "transcript.md", "US")
    # working group: a meeting with roll call, minutes and approval; an action done; proposals through every step
    monkeypatch.setenv("CBM_NOW", "2026-12-09T10:00:00Z")
    with us.open() as s:
        meeting = wg.new_meeting(s, at="2026-12-10T09:00Z", place="Geneva", agenda=AGENDA)
        wg.attend(s, meeting.id, ["A. Smith"])
        action = wg.add_action(s, "Draft the template", owner="US", due="2026-12-20", meeting=meeting.id)
        wg.complete_action(s, action.id, note="done")
        adopted = wg.new_proposal(s, title="Template", text=TEXT, draft=True).proposal.id
        adopted = wg.revise_proposal(s, adopted, text=TEXT2).revision.record
        wg.submit_proposal(s, adopted)
        vetoed = wg.new_proposal(s, title="Vetoed", text=TEXT).proposal.id
        dropped = wg.new_proposal(s, title="Dropped", text=TEXT).proposal.id
        wg.withdraw_proposal(s, dropped, "superseded")
    monkeypatch.setenv("CBM_NOW", "2026-12-11T10:00:00Z")
    with us.open() as s:
        wg.draft_minutes(s, meeting.id, b"minutes\n")
        wg.approve_minutes(s, meeting.id)
    sync(us, ru)
    with ru.open() as s:
        wg.sign_proposal(s, adopted)
        wg.object_proposal(s, vetoed, "too broad")
        wg.reject_proposal(s, vetoed, "not acceptable")
    return _records_of(us, ru) | {k: v for k, v in papers_by_kind(papers).items()}


def papers_by_kind(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for r in records:
        out.setdefault(r.kind, []).append(r)
    return out


def test_every_kind_in_the_registry_round_trips_byte_for_byte(written):
    assert ALL_KINDS <= set(written), sorted(ALL_KINDS - set(written))
    for measure in MEASURES:
        records = importlib.import_module(f"{measure.package}.records").RECORDS
        for kind in measure.kinds:
            for record in written[kind]:
                typed = records[kind].from_body(record.body)
                assert canonical_bytes(typed.to_body()) == canonical_bytes(record.body), kind


@pytest.mark.parametrize("kind", sorted(ALL_KINDS))
def test_an_empty_body_is_refused_with_input_rejected(kind):
    measure = next(m for m in MEASURES if kind in m.kinds)
    cls = importlib.import_module(f"{measure.package}.records").RECORDS[kind]
    with pytest.raises(InvalidBody) as e:
        cls.from_body({})
    assert e.value.exit_code == 4
    with pytest.raises(InvalidBody, match="JSON object"):
        cls.from_body([])
