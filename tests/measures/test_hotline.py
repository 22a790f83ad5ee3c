"""Hotline domain logic over two and three real stores: sealing, sequence numbers, receipts, link tests,
deadlines, translations, transcripts, and the bad inputs that must leave the store unchanged."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from cbm.app.reactions import attention as all_attention
from cbm.core.errors import NotFound, OversizedInput, UsageError, WrongRecipient
from cbm.core.sealed import open_sealed
from cbm.measures.hotline import calls
from cbm.measures.hotline import service as hotline
from cbm.measures.hotline import transcript as transcripts
from cbm.measures.hotline.model import load
from cbm.store.trust import rotate
from tests.measures.test_hotline_support import at, carry, exchange, record_count, send, store_bytes
from tests.measures.transport import deliver

SECRET = "Unusual scanning of the grid operator from AS 64500; we are not behind it."


def conversation(party, peer):
    with party.open() as store:
        return load(store).conversation(peer)


def test_message_is_sealed_to_recipient_and_sender_and_store_holds_no_plaintext(us_ru):
    us, ru = us_ru
    mid = send(us, "RU", SECRET, "FLASH")
    with us.open() as store:
        record = store.get(mid)
        assert record.kind == "hotline.message" and record.to == ("RU",) and record.tlp == "RED"
        assert record.body["precedence"] == "FLASH" and record.body["dseq"] == 1
        assert sorted(record.body["sealed"]["keys"]) == ["RU", "US"]
        assert SECRET not in record.payload.decode()
        assert hotline.read(store, mid).message.text == SECRET  # the sender reads its own copy
    carry(us, ru)
    with ru.open() as store:
        assert hotline.read(store, mid).message.text == SECRET
    for party in (us, ru):
        data = store_bytes(party)
        assert SECRET.encode() not in data
        assert base64.b64encode(SECRET.encode())[:40] not in data


def test_delivered_and_read_receipts_flow_back(us_ru):
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        mid = send(us, "RU", "first", "IMMEDIATE")
    with at("2026-11-23T05:05:00Z"):
        appended = carry(us, ru)
    assert [(r.kind, r.body["type"], r.body["ref"]) for r in appended] == [("hotline.receipt", "delivered", mid)]
    with at("2026-11-23T05:07:00Z"):
        carry(ru, us)
    m = conversation(us, "RU").messages[0]
    assert (m.state, m.delivered, m.read) == ("delivered", "2026-11-23T05:05:00Z", None)
    with at("2026-11-23T05:09:00Z"), ru.open() as store:
        result = hotline.read(store, mid)
        assert result.receipt is not None and not result.already_read
        again = hotline.read(store, mid)
        assert again.receipt is None and again.already_read  # one read receipt, however often it is read
    with at("2026-11-23T05:10:00Z"):
        carry(ru, us)
    m = conversation(us, "RU").messages[0]
    assert (m.state, m.read, m.overdue) == ("read", "2026-11-23T05:09:00Z", False)
    # re-importing the same records writes no second delivered receipt
    assert carry(us, ru) == []


def test_a_receipt_from_the_sender_is_no_evidence_that_the_recipient_read(us_ru):
    """US, the sender, signs "delivered" and "read" receipts for its own message to RU: only RU's own signature
    says RU got or read it, so the message shows neither on either side until RU's own receipts arrive, and both
    sides list US's receipts as anomalies."""
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        mid = send(us, "RU", "first", "FLASH")
        with us.open() as store:  # signed with US's real key, as another tool of US's could write it
            for kind in ("delivered", "read"):
                store.append("hotline.receipt", {"ref": mid, "type": kind}, to=("RU",), tlp="RED")

    def shown(party):
        found = conversation(party, "US" if party is ru else "RU")
        forged = sum(a.kind == "receipt" and "is not from its recipient RU" in a.text for a in found.anomalies)
        m = found.messages[0]
        return m.state, m.delivered, m.read, forged

    assert shown(us) == ("sent", None, None, 2)
    with at("2026-11-23T05:01:00Z"):
        assert [r.body["type"] for r in carry(us, ru)] == ["delivered"]  # RU's own, on import
    assert shown(ru)[2:] == (None, 2)
    with at("2026-11-23T05:02:00Z"):
        carry(ru, us)
    assert shown(us) == ("delivered", "2026-11-23T05:01:00Z", None, 2)
    with at("2026-11-23T05:05:00Z"):
        with ru.open() as store:
            hotline.read(store, mid)
        carry(ru, us)
    assert shown(us) == ("read", "2026-11-23T05:01:00Z", "2026-11-23T05:05:00Z", 2)


def test_per_direction_sequence_and_peer_seen_give_one_order_on_both_sides(us_ru):
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        send(us, "RU", "u1")
        send(us, "RU", "u2")
    with at("2026-11-23T05:01:00Z"):
        send(ru, "US", "r1 (crossed in transit)")  # written before RU saw anything
    carry(us, ru)
    with at("2026-11-23T05:02:00Z"):
        send(ru, "US", "r2 answers u1 and u2")
    carry(ru, us)
    with at("2026-11-23T05:03:00Z"):
        send(us, "RU", "u3")
    exchange(us, ru)
    views = []
    for party, peer in ((us, "RU"), (ru, "US")):
        c = conversation(party, peer)
        assert c.anomalies == []
        views.append([(m.sender, m.dseq, m.peer_seen) for m in c.messages])
    assert views[0] == views[1] == [("US", 1, 0), ("US", 2, 0), ("RU", 1, 0), ("RU", 2, 2), ("US", 3, 2)]


def test_replay_gap_and_reorder_signed_with_the_right_key_are_reported(us_ru):
    us, ru = us_ru
    send(us, "RU", "one")
    send(us, "RU", "two")
    with us.open() as store:
        original = store.get(next(m.id for m in load(store).conversation("RU").messages if m.dseq == 1))
        # a replay: the same sealed body again, as a new signed record claiming dseq 1
        store.append("hotline.message", dict(original.body), to=("RU",), tlp="RED")
    carry(us, ru)
    assert [a.kind for a in conversation(ru, "US").anomalies] == ["replay"]
    with us.open() as store:  # then 5 before 4: message 3 is missing and 4 comes out of order
        store.append("hotline.message", dict(original.body, dseq=5), to=("RU",), tlp="RED")
        store.append("hotline.message", dict(original.body, dseq=4), to=("RU",), tlp="RED")
    carry(us, ru)
    anomalies = conversation(ru, "US").anomalies
    assert sorted(a.kind for a in anomalies) == ["gap", "reorder", "replay"]
    texts = [a.text for a in anomalies]
    assert any("US→RU message(s) 3 missing" in t for t in texts), texts
    assert any("US→RU message 4 was written after message 5" in t for t in texts), texts
    with ru.open() as store:
        t = transcripts.transcript(store, "US", verify=True)[0]
        assert not t.ok
        # the moved sealed body does not authenticate under its new sequence number
        assert any("cannot be decrypted" in f.problem for f in t.faults)


def test_peer_seen_claiming_unsent_messages_is_reported(us_ru):
    us, ru = us_ru
    send(us, "RU", "one")
    with ru.open() as store:
        body = {"dseq": 1, "peer_seen": 7, "precedence": "ROUTINE", "lang": "ru",
                "sealed": hotline._seal(store, "US", "x", hotline.message_context(1))}
        store.append("hotline.message", body, to=("US",), tlp="RED")
    carry(ru, us)
    texts = [a.text for a in conversation(us, "RU").anomalies]
    assert any("had seen US→RU message 7, but only 1 are known here" in t for t in texts), texts


def test_link_test_is_answered_on_import_and_round_trip_time_derived(us_ru):
    us, ru = us_ru
    with at("2026-11-23T06:00:00Z"), us.open() as store:
        test = hotline.link_test(store, "RU")
    with at("2026-11-23T06:03:00Z"):
        answers = carry(us, ru)
    assert [(r.kind, r.body["ref"], r.to) for r in answers] == [("hotline.test_reply", test.id, ("US",))]
    with at("2026-11-23T06:07:30Z"):
        carry(ru, us)
    with at("2026-11-23T06:08:00Z"), us.open() as store:
        (peer,) = hotline.status(store)
    t = peer.tests[0]
    assert (t.status, t.answered, t.returned, t.rtt_seconds) == (
        "answered", "2026-11-23T06:03:00Z", "2026-11-23T06:07:30Z", 450)
    with at("2026-11-23T06:08:00Z"), ru.open() as store:
        assert hotline.status(store)[0].answered_for_peer == 1


def test_a_link_test_answered_by_a_third_party_stays_pending(three):
    """CN holds US's link test to RU and signs an answer to it with its own real key: only the tested peer's
    answer shows the line to RU works, so US's test stays pending until RU's own answer lands."""
    us, ru, cn = three
    with at("2026-11-23T06:00:00Z"), us.open() as store:
        test = hotline.link_test(store, "RU")
    carry(us, cn, everything=True)
    with at("2026-11-23T06:01:00Z"), cn.open() as store:
        store.append("hotline.test_reply", {"ref": test.id}, to=("US",), tlp="RED")
    with at("2026-11-23T06:02:00Z"):
        carry(cn, us)
    with at("2026-11-23T06:03:00Z"), us.open() as store:
        (peer,) = [p for p in hotline.status(store) if p.peer == "RU"]
        assert (peer.tests[0].status, peer.tests[0].answered) == ("pending", None)
    with at("2026-11-23T06:04:00Z"):
        carry(us, ru)
    with at("2026-11-23T06:05:00Z"):
        carry(ru, us)
    with at("2026-11-23T06:06:00Z"), us.open() as store:
        (peer,) = [p for p in hotline.status(store) if p.peer == "RU"]
        assert (peer.tests[0].status, peer.tests[0].answered) == ("answered", "2026-11-23T06:04:00Z")


def test_unanswered_link_test_fails_after_timeout_and_raises_attention(us_ru):
    us, ru = us_ru
    with at("2026-11-23T06:00:00Z"), us.open() as store:
        hotline.link_test(store, "RU")
    with at("2026-11-23T06:30:00Z"), us.open() as store:
        assert hotline.status(store)[0].tests[0].status == "pending"
    with at("2026-11-23T07:01:00Z"), us.open() as store:
        assert hotline.status(store)[0].tests[0].status == "failed"
        assert any("unanswered" in a.text for a in hotline.attention(store))


def test_deadlines_configurable_and_overdue_raised_first(us_ru):
    us, ru = us_ru
    config = ru.root / "config.toml"
    config.write_text(config.read_text() + '\n[hotline.deadlines]\nroutine = "1h"\n')
    with at("2026-11-23T05:00:00Z"):
        flash = send(us, "RU", "flash", "FLASH")
        routine = send(us, "RU", "routine", "ROUTINE")
        carry(us, ru)
    with at("2026-11-23T05:05:00Z"), ru.open() as store:
        items = {a.ref: a for a in hotline.attention(store) if a.ref}
        assert items[flash].rank == 1 and items[flash].due == "2026-11-23T05:10:00Z"
        assert items[routine].due == "2026-11-23T06:00:00Z"
    with at("2026-11-23T05:30:00Z"), ru.open() as store:
        ordered = [a for a in all_attention(store) if a.measure == "hotline"]
        assert ordered[0].ref == flash and ordered[0].rank == 0 and "overdue" in ordered[0].text
        assert [m.id for m in hotline.inbox(store)] == [flash, routine]
    with at("2026-11-23T05:30:00Z"), us.open() as store:
        overdue = [a for a in hotline.attention(store) if a.ref == flash]
        assert overdue and overdue[0].rank == 0 and "not acknowledged" in overdue[0].text


def test_bad_config_is_a_clear_usage_error(us_ru):
    us, _ = us_ru
    config = us.root / "config.toml"
    config.write_text(config.read_text() + '\n[hotline.deadlines]\nurgent = "1h"\n')
    with us.open() as store, pytest.raises(UsageError, match="unknown precedence 'urgent'"):
        hotline.send(store, "RU", "x")


def test_translation_is_sealed_linked_and_unofficial_on_both_sides(us_ru):
    us, ru = us_ru
    mid = send(us, "RU", "Please confirm receipt.")
    carry(us, ru)
    with ru.open() as store:
        t = hotline.translate(store, mid[:10], "Пожалуйста, подтвердите получение.", lang="ru")
        record = store.get(t.id)
        assert record.body["ref"] == mid and record.body["unofficial"] is True and record.to == ("US",)
        assert "Пожалуйста".encode() not in record.payload
    carry(ru, us)
    with us.open() as store:
        m = hotline.read(store, mid).message
    assert [(tr.lang, tr.by, tr.text, tr.unofficial) for tr in m.translations] == [
        ("ru", "RU", "Пожалуйста, подтвердите получение.", True)]


def test_a_translation_signed_by_a_third_party_is_not_part_of_the_conversation(three):
    """CN replays RU's translation of US's message to RU under its own signature: only the two parties of a
    conversation translate in it, so US lists RU's translation and not CN's."""
    us, ru, cn = three
    mid = send(us, "RU", "Please confirm receipt.")
    carry(us, ru)
    with ru.open() as store:
        body = store.get(hotline.translate(store, mid, "Пожалуйста, подтвердите получение.", lang="ru").id).body
    with cn.open() as store:  # signed with CN's real key
        store.append("hotline.translation", body, to=("US",), tlp="RED")
    carry(ru, us)
    carry(cn, us)
    with us.open() as store:
        m = hotline.read(store, mid).message
    assert [(tr.by, tr.lang) for tr in m.translations] == [("RU", "ru")]


def test_bad_inputs_are_refused_and_leave_the_store_unchanged(three):
    us, ru, cn = three
    before = record_count(us)
    with us.open() as store:
        with pytest.raises(NotFound, match="unknown party XX"):
            hotline.send(store, "XX", "x")
        with pytest.raises(UsageError, match="is us"):
            hotline.send(store, "US", "x")
        with pytest.raises(UsageError, match="exactly one"):
            hotline.send(store, "*", "x")
        with pytest.raises(UsageError, match="empty"):
            hotline.send(store, "RU", "  \n")
        with pytest.raises(OversizedInput):
            hotline.send(store, "RU", "x" * (64 * 1024 + 1))
        with pytest.raises(UsageError, match="precedence"):
            hotline.send(store, "RU", "x", precedence="URGENT")
        with pytest.raises(UsageError, match="language"):
            hotline.send(store, "RU", "x", lang="english please")
        with pytest.raises(NotFound):
            hotline.read(store, "0" * 12)
        note = store.append("inquiry.note", {"text": "not a hotline message"}, to=("RU",))
        with pytest.raises(NotFound, match="not a hotline message"):
            hotline.read(store, note.hash)
    # a peer whose key we revoked, and a peer whose card carries no encryption key
    assert us.cli("keys", "revoke", "--party", "CN", "--reason", "test", "--yes").exit_code == 0
    with us.open() as store:
        with pytest.raises(NotFound, match="no active key"):
            hotline.send(store, "CN", "x")
    with sqlite3.connect(us.root / "store.sqlite") as db:
        db.execute("UPDATE party_keys SET enc_key = x'' WHERE party = 'RU'")
    with us.open() as store:
        with pytest.raises(NotFound, match="no encryption key"):
            hotline.send(store, "RU", "x")
    assert record_count(us) == before + 1  # only the inquiry note


def test_a_call_confirmed_by_a_third_party_stays_unconfirmed(three):
    """CN holds US's record of a call with RU and signs a confirmation of it with its own real key: only the
    other side of a call confirms it, so the call stays unconfirmed at US and CN's record is shown as an
    anomaly; RU's own confirmation then counts."""
    us, ru, cn = three
    with at("2026-11-23T07:30:00Z"), us.open() as store:
        call = calls.record_call(store, "RU", start="2026-11-23T07:00Z", end="2026-11-23T07:20Z",
                                 participants=["US coordinator"], summary="Agreed to isolate the substations.")
    carry(us, cn, everything=True)
    with at("2026-11-23T07:40:00Z"), cn.open() as store:
        store.append("hotline.call_confirm", {"ref": call.id}, to=("US",), tlp="RED")
    carry(cn, us)

    def shown():
        with at("2026-11-23T08:00:00Z"), us.open() as store:
            (found,) = calls.calls(store)
        return found.confirmed, sum(a.kind == "confirm" and "CN" in a.text for a in conversation(us, "RU").anomalies
                                    + conversation(us, "CN").anomalies)

    assert shown() == (None, 1)
    carry(us, ru)
    with at("2026-11-23T07:50:00Z"), ru.open() as store:
        calls.confirm_call(store, call.id)
    carry(ru, us)
    assert shown() == ("2026-11-23T07:50:00Z", 1)


def test_a_receipt_of_unknown_type_from_the_recipient_counts_for_nothing(us_ru):
    """RU's own tool signs a receipt of a type cbm does not know ("seen"): it says neither delivered nor read, so
    US's message stays sent, with the receipt listed as an anomaly."""
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        mid = send(us, "RU", "first", "FLASH")
    with us.open() as s, ru.open() as d:
        deliver(s, d)  # no import hook: RU's cbm writes no delivered receipt of its own
    with at("2026-11-23T05:01:00Z"), ru.open() as store:
        store.append("hotline.receipt", {"ref": mid, "type": "seen"}, to=("US",), tlp="RED")
    carry(ru, us)
    found = conversation(us, "RU")
    m = found.messages[0]
    assert (m.state, m.delivered, m.read) == ("sent", None, None)
    assert [a.kind for a in found.anomalies if "has an unknown type" in a.text] == ["receipt"]


def test_a_message_addressed_to_two_parties_is_flagged(three):
    """A hotline message goes to one peer: RU's tool addressing one to US and CN at once is shown to US as
    malformed, not silently taken as a bilateral message."""
    us, ru, cn = three
    with ru.open() as store:
        body = {"dseq": 1, "peer_seen": 0, "precedence": "ROUTINE", "lang": "ru",
                "sealed": hotline._seal(store, "US", "x", hotline.message_context(1))}
        store.append("hotline.message", body, to=("US", "CN"), tlp="RED")
    carry(ru, us)
    texts = [a.text for a in conversation(us, "RU").anomalies if a.kind == "malformed"]
    assert len(texts) == 1 and "is addressed to more than one party" in texts[0], texts


def test_third_party_holding_the_records_cannot_read_or_answer(three):
    us, ru, cn = three
    mid = send(us, "RU", SECRET, "FLASH")
    with us.open() as store:
        test = hotline.link_test(store, "RU")
    # CN obtains US's whole log (as if a bundle for RU fell into its hands and it forced it in)
    assert carry(us, cn, everything=True) == []  # no receipt, no answer: neither is addressed to CN
    with cn.open() as store:
        record = store.get(mid)
        with pytest.raises(WrongRecipient, match="not for us"):
            hotline.read(store, mid)
        with pytest.raises(NotFound, match="not encrypted for CN"):
            open_sealed(record.body["sealed"], reader="CN", reader_key=[p.encryption for p in store.key_pairs()],
                        sender_public=store.active_key("US").enc_key, context=hotline.message_context(1))
        assert hotline.inbox(store) == [] and load(store).conversations == {}
        assert store.get(test.id).kind == "hotline.test"
    # and the normal path: a record for RU is withheld from CN entirely
    assert carry(us, ru)[0].kind == "hotline.receipt"


def test_old_messages_stay_readable_after_both_sides_rotate(us_ru):
    us, ru = us_ru
    mid = send(us, "RU", "before rotation")
    carry(us, ru)
    with us.open() as store:
        rotate(store)
    with ru.open() as store:
        rotate(store)
    exchange(us, ru)
    later = send(us, "RU", "after rotation")
    carry(us, ru)
    for party in (us, ru):
        with party.open() as store:
            assert hotline.read(store, mid).message.text == "before rotation"
            assert hotline.read(store, later).message.text == "after rotation"
    with ru.open() as store:
        assert transcripts.transcript(store, "US", verify=True)[0].ok


def test_transcript_verify_detects_an_altered_message_in_a_store_copy(us_ru, tmp_path):
    us, ru = us_ru
    mid = send(us, "RU", "hold fire")
    send(us, "RU", "confirm")
    exchange(us, ru)
    with ru.open() as store:
        assert transcripts.transcript(store, "US", verify=True)[0].ok
    with sqlite3.connect(ru.root / "store.sqlite") as db:
        (envelope,) = db.execute("SELECT envelope FROM records WHERE hash = ?", (mid,)).fetchone()
        doc = json.loads(envelope)
        payload = json.loads(base64.b64decode(doc["payload"]))
        payload["body"]["precedence"] = "FLASH"  # raise it, without the author's key
        doc["payload"] = base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
        db.execute("UPDATE records SET envelope = ? WHERE hash = ?", (json.dumps(doc).encode(), mid))
    with ru.open() as store:
        t = transcripts.transcript(store, "US", verify=True)[0]
    problems = " | ".join(f.problem for f in t.faults)
    assert "signature" in problems and "does not link" in problems, problems


def test_transcript_export_is_signed_and_checkable(us_ru, tmp_path):
    us, ru = us_ru
    mid = send(us, "RU", "## not a heading\n```\n[red]literal[/red]")
    carry(us, ru)
    with ru.open() as store:
        hotline.translate(store, mid, "перевод", lang="ru")
        hotline.read(store, mid)
    carry(ru, us)
    out = tmp_path / "transcript.md"
    with us.open() as store:
        done = transcripts.export(store, out)
        text = out.read_text()
        assert "## not a heading" in text and "````text" in text  # fenced longer than the peer's fence
        assert "перевод" in text and "unofficial" in text
        check = transcripts.check_export(store, out)
        assert (check.signed_by, check.record, check.messages) == ("US", done.record, 1)
    carry(us, ru)
    with ru.open() as store:  # the peer checks the same file with the key it trusts
        assert transcripts.check_export(store, out).signed_by == "US"
    out.write_text(text.replace("перевод", "перевод!"))
    with us.open() as store, pytest.raises(transcripts.TamperedContent):
        transcripts.check_export(store, out)


def test_on_import_ignores_malformed_peer_records(us_ru):
    us, ru = us_ru
    with us.open() as store:
        store.append("hotline.message", {"dseq": "one", "sealed": "nope"}, to=("RU",), tlp="RED")
    appended = carry(us, ru)
    assert [r.body["dseq"] for r in appended] == [None]
    texts = [a.text for a in conversation(ru, "US").anomalies]
    assert any("no valid sequence numbers" in t for t in texts), texts


def test_transcript_verify_detects_messages_reordered_in_a_store_copy(us_ru):
    us, ru = us_ru
    first = send(us, "RU", "stand down")
    second = send(us, "RU", "ignore the previous message")
    exchange(us, ru)
    with sqlite3.connect(ru.root / "store.sqlite") as db:
        rows = {h: (env, key) for h, env, key in db.execute(
            "SELECT hash, envelope, keyid FROM records WHERE hash IN (?, ?)", (first, second))}
        db.execute("UPDATE records SET envelope = ? WHERE hash = ?", (rows[second][0], first))
        db.execute("UPDATE records SET envelope = ? WHERE hash = ?", (rows[first][0], second))
    with ru.open() as store:
        t = transcripts.transcript(store, "US", verify=True)[0]
    problems = " | ".join(f.problem for f in t.faults)
    assert "reordered" in problems, problems
    assert not t.ok


def _send_many(root: str, n: int) -> None:
    from pathlib import Path

    from cbm.app.stores import open_store

    for i in range(n):
        with open_store(Path(root)) as store:
            hotline.send(store, "RU", f"concurrent {i}")


def test_concurrent_senders_never_share_a_sequence_number(us_ru):
    import multiprocessing

    us, ru = us_ru
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_send_many, args=(str(us.root), 4)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    c = conversation(us, "RU")
    assert sorted(m.dseq for m in c.messages) == list(range(1, 13))
    assert c.anomalies == []


def test_link_test_due_after_the_interval_and_for_a_line_never_tested(us_ru):
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        send(us, "RU", "hello")
        with us.open() as store:
            due = [a for a in hotline.attention(store) if "link test to RU due" in a.text]
            assert due and due[0].rank == 2 and "never tested" in due[0].text
            hotline.link_test(store, "RU")
            assert not [a for a in hotline.attention(store) if "link test" in a.text]  # pending, not failed
        exchange(us, ru)
    with at("2026-11-24T04:59:00Z"), us.open() as store:
        assert not [a for a in hotline.attention(store) if "link test" in a.text]
    with at("2026-11-24T05:01:00Z"), us.open() as store:
        (due,) = [a for a in hotline.attention(store) if "link test" in a.text]
        assert due.rank == 2 and due.due == "2026-11-24T05:00:00Z" and "last answered" in due.text
