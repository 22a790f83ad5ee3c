"""``cbm hotline`` as a user meets it: help, text from three sources, --json, literal peer text, exit codes."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import run_cli
from tests.measures.test_hotline_support import at, carry, exchange, record_count

COMMANDS = ("send", "inbox", "read", "translate", "transcript", "check-export", "test", "status")


def test_every_command_has_help_with_an_example():
    r = run_cli("hotline", "--help")
    assert r.exit_code == 0
    for name in COMMANDS:
        assert name in r.stdout
        sub = run_cli("hotline", name, "--help")
        assert sub.exit_code == 0, name
        assert "Example:" in sub.stdout, name


def test_send_from_body_file_and_stdin(us_ru, tmp_path):
    us, _ = us_ru
    r = us.cli("hotline", "send", "--to", "RU", "--precedence", "flash", "--body", "one", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.hotline.send/1"
    assert (doc["to"], doc["dseq"], doc["precedence"], doc["lang"]) == ("RU", 1, "FLASH", "en")
    assert "next `cbm bundle export --to RU`" in r.stderr
    (tmp_path / "msg.txt").write_text("два\n", encoding="utf-8")
    r = us.cli("hotline", "send", "--to", "ru", "--lang", "ru", "--body-file", str(tmp_path / "msg.txt"))
    assert r.exit_code == 0, r.stderr
    assert " RU #2  ROUTINE  acknowledge by " in r.stdout
    r = us.cli("hotline", "send", "--to", "RU", "--precedence", "IMMEDIATE", input="three from stdin")
    assert r.exit_code == 0, r.stderr
    r = us.cli("hotline", "transcript", "--json")
    texts = [m["text"] for m in r.json()["conversations"][0]["messages"]]
    assert texts == ["one", "два\n", "three from stdin"]


@pytest.mark.parametrize(("args", "stdin", "code", "message"), [
    (("--to", "XX", "--body", "x"), None, 5, "unknown party XX"),
    (("--to", "US", "--body", "x"), None, 2, "US is us"),
    (("--to", "RU", "--body", ""), None, 2, "the message is empty"),
    (("--to", "RU"), "   \n", 2, "the message is empty"),
    (("--to", "RU", "--body", "x", "--body-file", "f"), None, 2, "not both"),
    (("--to", "RU", "--body-file", "missing.txt"), None, 5, "cannot read missing.txt"),
    (("--to", "RU", "--body-file", "latin1.txt"), None, 4, "not UTF-8"),
    (("--to", "RU", "--body", "x", "--precedence", "URGENT"), None, 2, "not a precedence"),
    (("--to", "RU", "--body", "x", "--lang", "Russian!"), None, 2, "not a language tag"),
])
def test_send_refuses_bad_input_with_its_exit_code_and_writes_nothing(us_ru, tmp_path, args, stdin, code,
                                                                      message):
    us, _ = us_ru
    (tmp_path / "latin1.txt").write_bytes("déjà".encode("latin-1"))
    before = record_count(us)
    r = us.cli("hotline", "send", *args, input=stdin)
    assert r.exit_code == code, r.stderr
    assert message in r.stderr
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    assert record_count(us) == before


def test_inbox_and_read_show_peer_text_literally_and_queue_a_read_receipt(us_ru):
    us, ru = us_ru
    hostile = "[bold red]fake[/bold red] \x1b[2J\x07 end"
    with at("2026-11-23T05:00:00Z"):
        assert us.cli("hotline", "send", "--to", "RU", "--body", "routine").exit_code == 0
        assert us.cli("hotline", "send", "--to", "RU", "-p", "FLASH", "--body", hostile).exit_code == 0
        carry(us, ru)
    with at("2026-11-23T05:04:00Z"):
        r = ru.cli("hotline", "inbox")
        assert r.exit_code == 0, r.stderr
        lines = r.stdout.splitlines()
        assert "FLASH" in lines[1] and "unread" in lines[1] and "4m" in lines[1]
        inbox = ru.cli("hotline", "inbox", "--json").json()
    assert inbox["schema"] == "cbm.hotline.inbox/1"
    assert [m["precedence"] for m in inbox["messages"]] == ["FLASH", "ROUTINE"]
    assert all(m["text"] is None for m in inbox["messages"])  # listing decrypts nothing
    flash = inbox["messages"][0]["id"]
    with at("2026-11-23T05:06:00Z"):
        r = ru.cli("hotline", "read", flash[:10])
    assert r.exit_code == 0, r.stderr
    assert "[bold red]fake[/bold red] \\x1b[2J\\x07 end" in r.stdout
    assert "\x1b" not in r.stdout
    assert "read receipt" in r.stderr
    r = ru.cli("hotline", "read", flash, "--json")
    doc = r.json()
    assert (doc["text"], doc["receipt"], doc["already_read"], doc["state"]) == (hostile, None, True, "read")
    with at("2026-11-23T05:07:00Z"):
        carry(ru, us)
    status = us.cli("hotline", "status", "--json").json()["peers"][0]
    assert [m["precedence"] for m in status["unacknowledged"]] == ["ROUTINE"]
    assert ru.cli("hotline", "inbox", "--unread", "--json").json()["messages"][0]["precedence"] == "ROUTINE"


def test_read_refuses_ids_that_are_not_hotline_messages(us_ru):
    us, _ = us_ru
    r = us.cli("hotline", "read", "abcdef123456")
    assert r.exit_code == 5 and "no hotline.message record abcdef123456" in r.stderr
    test_id = us.cli("hotline", "test", "--to", "RU", "--json").json()["id"]
    r = us.cli("hotline", "read", test_id)
    assert r.exit_code == 5 and "not a hotline message" in r.stderr
    r = us.cli("hotline", "read", "xyz")
    assert r.exit_code == 2 and "'xyz' is not a hotline.message record id" in r.stderr  # not an id at all


def test_translate_then_transcript_shows_both_languages(us_ru):
    us, ru = us_ru
    mid = us.cli("hotline", "send", "--to", "RU", "--body", "Stand by.", "--json").json()["id"]
    carry(us, ru)
    r = ru.cli("hotline", "translate", mid, "--lang", "ru", "--body", "Ждите.", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["unofficial"] is True and "unofficial" in r.stderr
    carry(ru, us)
    r = us.cli("hotline", "transcript", "--with", "RU", "--verify")
    assert r.exit_code == 0, r.stderr
    assert "Stand by." in r.stdout and "Ждите." in r.stdout and "translation (ru, unofficial, by RU)" in r.stdout
    assert "verified:" in r.stdout
    r = ru.cli("hotline", "translate", "abcdef999", "--lang", "ru", "--body", "x")
    assert r.exit_code == 5


def test_transcript_verify_exits_1_on_a_tampered_store(us_ru):
    us, ru = us_ru
    mid = us.cli("hotline", "send", "--to", "RU", "--body", "original", "--json").json()["id"]
    us.cli("hotline", "send", "--to", "RU", "--body", "later")
    exchange(us, ru)
    assert ru.cli("hotline", "transcript", "--verify").exit_code == 0
    with sqlite3.connect(ru.root / "store.sqlite") as db:
        (envelope,) = db.execute("SELECT envelope FROM records WHERE hash = ?", (mid,)).fetchone()
        flipped = bytearray(envelope)
        index = envelope.index(b'"sig":"') + 12  # the signature, so the payload still parses
        flipped[index] = ord("A") if flipped[index] != ord("A") else ord("B")
        db.execute("UPDATE records SET envelope = ? WHERE hash = ?", (bytes(flipped), mid))
    r = ru.cli("hotline", "transcript", "--verify")
    assert r.exit_code == 1
    assert "does not verify" in r.stderr
    assert "FAULT US record 1" in r.stdout and "signature" in r.stdout
    doc = ru.cli("hotline", "transcript", "--verify", "--json").json()["conversations"][0]
    assert doc["verified"] is False and doc["faults"]
    # bytes that no longer parse at all: the store is damaged (exit 6), said plainly
    with sqlite3.connect(ru.root / "store.sqlite") as db:
        db.execute("UPDATE records SET envelope = ? WHERE hash = ?", (b"{garbage", mid))
    r = ru.cli("hotline", "transcript", "--verify")
    assert r.exit_code == 6 and "no longer parses" in r.stderr and "Traceback" not in r.stderr


def test_export_and_check_export(us_ru, tmp_path):
    us, ru = us_ru
    us.cli("hotline", "send", "--to", "RU", "--body", "for the record")
    carry(us, ru)
    out = tmp_path / "t.md"
    r = us.cli("hotline", "transcript", "--export", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["signature"] == str(out) + ".sig"
    r = us.cli("hotline", "check-export", str(out))
    assert r.exit_code == 0 and r.stdout.startswith("OK: ")
    carry(us, ru)
    assert ru.cli("hotline", "check-export", str(out), "--json").json()["signed_by"] == "US"
    out.write_text(out.read_text().replace("for the record", "for the recorb"))
    r = ru.cli("hotline", "check-export", str(out))
    assert r.exit_code == 1 and "does not match its signature" in r.stderr
    assert us.cli("hotline", "check-export", str(tmp_path / "none.md")).exit_code == 5


def test_link_test_round_trip_in_status(us_ru):
    us, ru = us_ru
    with at("2026-11-23T06:00:00Z"):
        r = us.cli("hotline", "test", "--to", "RU")
        assert r.exit_code == 0, r.stderr
    with at("2026-11-23T06:02:00Z"):
        carry(us, ru)
    with at("2026-11-23T06:05:10Z"):
        carry(ru, us)
        r = us.cli("hotline", "status")
        doc = us.cli("hotline", "status", "--json").json()
    assert r.exit_code == 0
    assert "round trip 5m10s" in r.stdout
    test = doc["peers"][0]["tests"][0]
    assert (test["status"], test["rtt_seconds"]) == ("answered", 310)
    assert doc["peers"][0]["last_contact"] == "2026-11-23T06:02:00Z"


def test_cbm_status_raises_overdue_hotline_messages_first(us_ru):
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        us.cli("hotline", "send", "--to", "RU", "-p", "FLASH", "--body", "now")
        carry(us, ru)
    with at("2026-11-23T05:30:00Z"):
        r = ru.cli("status")
        doc = ru.cli("status", "--json").json()
    assert r.exit_code == 0
    first = doc["attention"][0]
    assert first["measure"] == "hotline" and first["rank"] == 0 and "unread and overdue" in first["text"]
    assert "[hotline] FLASH message" in r.stdout


def test_hostile_peer_metadata_is_never_printed_raw(us_ru):
    us, ru = us_ru
    from cbm.measures.hotline import service as hotline

    with us.open() as store:
        body = {"dseq": 1, "peer_seen": 0, "precedence": "\x1b[31mFLASH", "lang": "\x1b]0;owned\x07",
                "sealed": hotline._seal(store, "RU", "hi", hotline.message_context(1))}
        store.append("hotline.message", body, to=("RU",), tlp="RED")
    carry(us, ru)
    r = ru.cli("hotline", "inbox")
    assert r.exit_code == 0, r.stderr
    assert "\x1b" not in r.stdout and "INVALID" in r.stdout and " und " in r.stdout
    r = ru.cli("hotline", "status")
    assert "\x1b" not in r.stdout and "no valid precedence" in r.stdout and "no valid language tag" in r.stdout
    r = ru.cli("hotline", "transcript", "--verify")
    assert r.exit_code == 1 and "\x1b" not in r.stdout
    assert ru.cli("hotline", "status", "--with", "RU").exit_code == 2


def test_read_no_receipt_writes_nothing(us_ru):
    us, ru = us_ru
    mid = us.cli("hotline", "send", "--to", "RU", "--body", "quiet", "--json").json()["id"]
    carry(us, ru)
    before = record_count(ru)
    r = ru.cli("hotline", "read", mid, "--no-receipt", "--json")
    assert r.exit_code == 0 and r.json()["receipt"] is None and r.json()["text"] == "quiet"
    assert "receipt" not in r.stderr
    assert record_count(ru) == before
    assert ru.cli("hotline", "inbox", "--unread", "--json").json()["messages"][0]["id"] == mid
