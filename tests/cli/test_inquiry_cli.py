"""``cbm inquiry`` as a watch officer meets it: help, every command, JSON, exit codes, peer text kept literal."""

from __future__ import annotations

import json

import pytest

from cbm.core.records import verify_record
from tests.conftest import run_cli
from tests.measures.test_inquiry_support import at, carry

T0 = {"CBM_NOW": "2026-11-23T06:00:00Z"}
LATER = {"CBM_NOW": "2026-11-23T08:00:00Z"}
COMMANDS = ("open", "send", "list", "show", "ack", "reply", "clarify", "close", "withdraw", "export")


def _open(party, *extra, env=T0):
    r = party.cli("inquiry", "open", "--to", "RU", "--precedence", "IMMEDIATE", "--subject",
                  "Scanning of US energy SCADA from AS12345", "--body", "Scans on 502/tcp.", "--json", *extra,
                  env=env)
    assert r.exit_code == 0, r.stderr
    return r.json()


def _records(party):
    with party.open() as store:
        return sum(store.counts()["by_author"].values())


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    r = run_cli("inquiry", command, "--help")
    assert r.exit_code == 0
    assert "Example" in r.stdout


def test_inquiry_group_help_lists_the_commands():
    r = run_cli("inquiry", "--help")
    assert r.exit_code == 0
    for command in COMMANDS:
        assert command in r.stdout
    assert "not available" not in r.stdout.lower()


def test_open_list_show_json_and_human(us_ru, tmp_path):
    us, ru = us_ru
    (tmp_path / "incident.md").write_text("# Incident\nScans on 502/tcp from 198.51.100.7.\n")
    (tmp_path / "pcap-summary.txt").write_text("04:10:02 SYN 502/tcp\n")
    r = us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence", "IMMEDIATE",
               "--subject", "Scanning of US energy SCADA from AS12345", "--body-file", str(tmp_path / "incident.md"),
               "--sector", "energy", "--attach", str(tmp_path / "pcap-summary.txt"), "--tlp", "amber",
               "--reply-by", "2026-12-01T12:00Z", "--json", env=T0)
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.inquiry.open/1"
    assert (doc["number"], doc["state"], doc["tlp"], doc["reply_due"]) == \
        ("US-RU/2026/0001", "sent", "AMBER", "2026-12-01T12:00:00Z")
    assert "export a bundle for RU" in r.stderr
    r = us.cli("inquiry", "list", env=T0)
    assert r.exit_code == 0 and "US-RU/2026/0001" in r.stdout and "transport" in r.stdout and r.stderr == ""
    fingerprint = us.fingerprint()
    r = us.cli("inquiry", "show", "US-RU/2026/0001", env=T0)
    assert r.exit_code == 0, r.stderr
    assert fingerprint in r.stdout and "signature ok" in r.stdout and "Scans on 502/tcp" in r.stdout
    assert "pcap-summary.txt" in r.stdout
    shown = us.cli("inquiry", "show", "us-ru/2026/0001", "--json", env=T0).json()
    assert shown["schema"] == "cbm.inquiry.show/1"
    assert shown["messages"][0]["fingerprint"] == fingerprint and shown["messages"][0]["signature"] == "ok"
    assert shown["allowed"] == ["close", "withdraw"] and shown["sector"] == "energy"


def test_two_stores_ack_reply_close_and_status(us_ru, tmp_path):
    us, ru = us_ru
    number = _open(us)["number"]
    with at(T0["CBM_NOW"]):
        carry(us, ru)
    r = ru.cli("status", env=LATER)
    assert r.exit_code == 0 and number in r.stdout and "acknowledge" in r.stdout and "OVERDUE" in r.stdout
    r = ru.cli("inquiry", "list", "--overdue", "--json", env=LATER)
    assert [i["number"] for i in r.json()["inquiries"]] == [number]
    assert r.json()["inquiries"][0]["countdown"] == "OVERDUE by 1h00m"
    r = ru.cli("inquiry", "list", "--overdue", env=LATER)
    assert "OVERDUE by 1h00m" in r.stdout and "RU (us)" in r.stdout
    r = ru.cli("inquiry", "ack", number, "--note", "routed to competent authority", "--their-ref", "RU-US/2026/31",
               env=LATER)
    assert r.exit_code == 0, r.stderr
    assert "acknowledged; now acknowledged, waiting for RU" in r.stdout
    (tmp_path / "answer.md").write_text("The host was isolated at 07:40Z.\n")
    r = ru.cli("inquiry", "reply", "RU-US/2026/31", "--body-file", str(tmp_path / "answer.md"), env=LATER)
    assert r.exit_code == 0, r.stderr
    carry(ru, us)
    assert us.cli("inquiry", "list", "--state", "answered", "--json").json()["inquiries"][0]["their_ref"] == \
        "RU-US/2026/31"
    r = us.cli("inquiry", "close", number, "--outcome", "satisfied", env=LATER)
    assert r.exit_code == 0 and "closed" in r.stdout
    assert us.cli("inquiry", "list", "--json").json()["inquiries"] == []
    assert us.cli("inquiry", "list", "--all", "--json").json()["inquiries"][0]["outcome"] == "satisfied"
    assert us.cli("inquiry", "list", "--from", "RU", "--all", "--json").json()["inquiries"] == []
    assert len(us.cli("inquiry", "list", "--to", "ru", "--all", "--json").json()["inquiries"]) == 1


def test_illegal_transition_exit_4_lists_allowed_actions(us_ru):
    us, ru = us_ru
    number = _open(us)["number"]
    before = _records(us)
    r = us.cli("inquiry", "ack", number)
    assert r.exit_code == 4
    assert r.stdout == ""
    assert "only the recipient can acknowledge it" in r.stderr
    assert "allowed for US while sent: close, withdraw" in r.stderr
    assert us.cli("inquiry", "close", number, "--outcome", "escalated").exit_code == 0
    r = us.cli("inquiry", "withdraw", number, "--reason", "late")
    assert r.exit_code == 4 and "it is closed" in r.stderr and "nothing (show and export only)" in r.stderr
    assert "Traceback" not in r.stderr
    assert _records(us) == before + 1


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--tlp", "WHITE"), 2, "TLP 2.0 calls it CLEAR"),
    (("--tlp", "SECRET"), 2, "not a TLP 2.0 label"),
    (("--reply-by", "tomorrow noon"), 2, "not an ISO 8601 UTC time"),
    (("--reply-by", "2026-12-01T12:00"), 2, "no time zone"),
    (("--type", "complaint"), 2, "not an inquiry type"),
    (("--precedence", "URGENT"), 2, "not an inquiry precedence"),
    (("--attach", "no-such-file.pcap"), 5, "does not exist"),
    (("--indicator", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"), 5, "unknown indicator"),
    (("--body-file", "no-such-body.md"), 5, "cannot read no-such-body.md"),
])
def test_open_bad_input_exit_codes_and_nothing_written(us_ru, args, code, message):
    us, _ = us_ru
    before = _records(us)
    base = ["inquiry", "open", "--to", "RU", "--subject", "s"]
    if "--body-file" not in args:
        base += ["--body", "b"]
    r = us.cli(*base, *args, env=T0)
    assert r.exit_code == code, r.stderr
    assert message in r.stderr and r.stdout == "" and "Traceback" not in r.stderr
    assert _records(us) == before


def test_unknown_peer_and_unknown_reference_are_not_found(us_ru):
    us, _ = us_ru
    r = us.cli("inquiry", "open", "--to", "CN", "--subject", "s", "--body", "b")
    assert r.exit_code == 5 and "unknown party CN" in r.stderr
    for command in (("show", "US-RU/2026/0042"), ("ack", "US-RU/2026/0042"), ("export", "US-RU/2026/0042"),
                    ("close", "US-RU/2026/0042", "--outcome", "satisfied")):
        r = us.cli("inquiry", *command)
        assert r.exit_code == 5, command
        assert "no inquiry US-RU/2026/0042" in r.stderr


def test_other_usage_errors(us_ru):
    us, _ = us_ru
    number = _open(us)["number"]
    assert us.cli("inquiry", "open", "--to", "RU", "--subject", "s", "--body", "b", "--body-file", "x").exit_code == 2
    r = us.cli("inquiry", "close", number, "--outcome", "happy")
    assert r.exit_code == 2 and "not an inquiry outcome" in r.stderr
    r = us.cli("inquiry", "export", number, "--format", "pdf")
    assert r.exit_code == 2 and "json or markdown" in r.stderr
    r = us.cli("inquiry", "list", "--state", "lost")
    assert r.exit_code == 2 and "not an inquiry state" in r.stderr


def test_draft_then_send(us_ru):
    us, ru = us_ru
    r = us.cli("inquiry", "open", "--to", "RU", "--subject", "draft", "--body", "b", "--draft", env=T0)
    assert r.exit_code == 0 and "drafted; now draft" in r.stdout and "export a bundle" not in r.stderr
    carry(us, ru)
    assert ru.cli("inquiry", "show", "US-RU/2026/0001").exit_code == 5
    r = us.cli("inquiry", "send", "US-RU/2026/0001", env=T0)
    assert r.exit_code == 0 and "released; now sent" in r.stdout
    assert us.cli("inquiry", "send", "US-RU/2026/0001").exit_code == 4
    carry(us, ru)
    assert ru.cli("inquiry", "show", "US-RU/2026/0001").exit_code == 0


def test_save_attachments_and_export(us_ru, tmp_path):
    us, ru = us_ru
    (tmp_path / "pcap-summary.txt").write_bytes(b"04:10:02 SYN 502/tcp\n")
    number = _open(us, "--attach", str(tmp_path / "pcap-summary.txt"))["number"]
    carry(us, ru)
    r = ru.cli("inquiry", "show", number, "--save-attachments", str(tmp_path / "got"), "--json")
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "got" / "pcap-summary.txt").read_bytes() == b"04:10:02 SYN 502/tcp\n"
    assert r.json()["saved"][0]["path"].endswith("pcap-summary.txt")
    r = ru.cli("inquiry", "export", number, "--format", "markdown")
    assert r.exit_code == 0
    assert r.stdout.startswith(f"# Inquiry {number}: Scanning of US energy SCADA")
    assert "## Inquiry — US, 2026-11-23T06:00:00Z" in r.stdout and "(verified)" in r.stdout
    r = ru.cli("inquiry", "export", number, "--format", "json", "-o", str(tmp_path / "x.json"))
    assert r.exit_code == 0 and r.stdout == ""
    doc = json.loads((tmp_path / "x.json").read_text())
    assert doc["schema"] == "cbm.inquiry.export/1" and doc["number"] == number
    with us.open() as store:  # the sender re-verifies the exported thread with its own keys
        records = [verify_record(e.encode(), store) for e in doc["envelopes"]]
    assert [r.kind for r in records] == ["inquiry.open"]


def test_peer_text_is_printed_literally(us_ru):
    us, ru = us_ru
    # a subject is one line: a control character in it is refused when it is written (ADR 0115)
    r = us.cli("inquiry", "open", "--to", "RU", "--subject", "evil \x1b[31mred", "--body", "b", env=T0)
    assert r.exit_code == 2 and "subject holds a control character (U+001B)" in r.stderr
    r = us.cli("inquiry", "open", "--to", "RU", "--subject", "evil [bold]x[/bold]", "--body",
               "body \x1b]0;title\x07\nsecond line", env=T0)
    assert r.exit_code == 0, r.stderr
    carry(us, ru)
    r = ru.cli("inquiry", "show", "US-RU/2026/0001")
    assert "\x1b" not in r.stdout and "evil [bold]x[/bold]" in r.stdout and "\\x07" in r.stdout
    assert "\nsecond line" in r.stdout  # a body keeps its line breaks, never a control sequence
    r = ru.cli("inquiry", "list")
    assert "\x1b" not in r.stdout


def test_linked_indicators_must_exist_in_the_store(us_ru):
    us, ru = us_ru
    r = us.cli("indicators", "add", "--value", "198.51.100.7", "--tlp", "AMBER", "--to", "RU", "--json", env=T0)
    assert r.exit_code == 0, r.stderr
    indicator = r.json()["id"]
    doc = _open(us, "--indicator", indicator)
    shown = us.cli("inquiry", "show", doc["number"], "--json").json()
    assert shown["indicators"] == [indicator]
    with at(T0["CBM_NOW"]):
        carry(us, ru)
    assert ru.cli("inquiry", "ack", doc["number"], env=T0).exit_code == 0
    # RU may link the indicator it received from US, but not one it has never seen
    r = ru.cli("inquiry", "reply", doc["number"], "--body", "known to us", "--indicator", indicator, env=T0)
    assert r.exit_code == 0, r.stderr
    r = ru.cli("inquiry", "reply", doc["number"], "--body", "x", "--indicator",
               "indicator--00000000-0000-4000-8000-000000000000", env=T0)
    assert r.exit_code == 5 and "unknown indicator" in r.stderr
    r = ru.cli("inquiry", "reply", doc["number"], "--body", "x", "--indicator", "198.51.100.7", env=T0)
    assert r.exit_code == 2 and "'198.51.100.7' is not an indicator id" in r.stderr
