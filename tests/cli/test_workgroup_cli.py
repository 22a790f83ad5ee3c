"""`cbm workgroup` as a user meets it: help, --json, exit codes for bad input, literal peer text, status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from cbm.cli.workgroup import app as workgroup_app
from tests.conftest import Party, run_cli

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "workgroup"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_NOW", "2026-12-01T10:00:00Z")


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


def test_every_command_has_help_with_an_example():
    commands = _commands(typer.main.get_command(workgroup_app))
    assert len(commands) >= 17
    for path in commands:
        r = run_cli("workgroup", *path, "--help")
        assert r.exit_code == 0, path
        assert "Example" in r.stdout, path


def _count(party: Party) -> int:
    with party.open() as store:
        return sum(1 for _ in store.records(kind_prefix="workgroup."))


def test_bad_input_exit_codes_and_store_unchanged(us_ru, tmp_path):
    us, _ = us_ru
    agenda = str(SAMPLES / "agenda.md")
    m = us.cli("workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva",
               "--agenda-file", agenda, "--json").json()["meeting"]["id"]
    before = _count(us)
    cases = [
        (("meeting", "new", "--at", "tomorrow", "--place", "Geneva", "--agenda-file", agenda), 2, "ISO 8601"),
        (("meeting", "new", "--at", "2026-12-10T09:00", "--place", "Geneva", "--agenda-file", agenda), 2,
         "time zone"),
        (("meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva", "--agenda-file", "nope.md"), 5,
         "cannot read"),
        (("meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "G", "--agenda-file", agenda, "--tlp",
          "WHITE"), 2, "CLEAR"),
        (("meeting", "show", "abcdef"), 5, "no workgroup record"),
        (("meeting", "show", "xyz"), 2, "not a workgroup record id"),
        (("minutes", m, "--file", agenda, "--approve"), 2, "one of them"),
        (("minutes", m), 5, "no minutes yet"),
        (("minutes", m, "--file", agenda), 4, "has not taken place yet"),
        (("minutes", m, "--approve"), 4, "no minutes to approve"),
        (("action", "add", "x", "--owner", "CN", "--due", "2027-01-01"), 2, "not a member"),
        (("action", "add", "x", "--owner", "RU", "--due", "15/01/2027"), 2, "ISO 8601"),
        (("action", "add", "x", "--owner", "RU", "--due", "2027-01-15", "--meeting", "abcdef"), 5,
         "no workgroup record"),
        (("action", "list", "--status", "late"), 2, "open or done"),
        (("proposal", "show", m), 5, "not a proposal"),
        (("proposal", "list", "--state", "accepted"), 2, "unknown state"),
        (("proposal", "new", "--title", " ", "--text-file", agenda), 2, "needs a title"),
        (("report", "--from", "2026-12-31", "--to", "2026-10-01"), 2, "empty"),
    ]
    for args, code, message in cases:
        r = us.cli("workgroup", *args)
        assert r.exit_code == code, (args, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert r.stdout == "" and "Traceback" not in r.stderr
    assert _count(us) == before


def test_json_documents_carry_a_schema(us_ru):
    us, _ = us_ru
    assert us.cli("workgroup", "members", "--json").json() == {"schema": "cbm.workgroup.members/1",
                                                               "members": ["RU", "US"]}
    assert run_cli("--store", str(us.root), "--json", "workgroup", "meeting", "list").json() == \
        {"schema": "cbm.workgroup.meetings/1", "meetings": []}
    assert us.cli("workgroup", "action", "list", "--json").json()["schema"] == "cbm.workgroup.actions/1"
    r = us.cli("workgroup", "proposal", "new", "--title", "T", "--text-file", str(SAMPLES / "proposal.md"), "--json")
    doc = r.json()
    assert doc["schema"] == "cbm.workgroup.proposal/1"
    assert doc["allowed"] == ["revise", "withdraw", "sign"]
    r = us.cli("workgroup", "proposal", "list")
    assert r.exit_code == 0 and doc["id"][:12] in r.stdout and "proposed" in r.stdout


def test_configured_members_fix_every_member(three):
    us, ru, cn = three
    config = us.root / "config.toml"
    config.write_text(config.read_text() + '\n[workgroup]\nmembers = ["US", "RU"]\n')
    assert us.cli("workgroup", "members").stdout.split() == ["RU", "US"]
    doc = us.cli("workgroup", "proposal", "new", "--title", "T", "--text-file", str(SAMPLES / "proposal.md"),
                 "--json").json()
    assert doc["members"] == ["RU", "US"]
    config.write_text(config.read_text().replace('["US", "RU"]', '["US", "XX"]'))
    r = us.cli("workgroup", "members")
    assert r.exit_code == 5 and "XX" in r.stderr


def test_peer_text_is_printed_literally(us_ru, tmp_path):
    us, ru = us_ru
    text = tmp_path / "evil.md"
    text.write_text("[bold red]not markup[/] \x1b[2Jclear screen\n")
    refused = ru.cli("workgroup", "proposal", "new", "--title", "[blink]Title\x1b]0;x\x07", "--text-file", str(text))
    assert refused.exit_code == 2 and "title holds a control character (U+001B)" in refused.stderr
    r = ru.cli("workgroup", "proposal", "new", "--title", "[blink]Title", "--text-file", str(text), "--json")
    pid = r.json()["id"]
    bundle = tmp_path / "ru.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(bundle)).exit_code == 0
    assert us.cli("bundle", "import", str(bundle)).exit_code == 0
    shown = us.cli("workgroup", "proposal", "show", pid)
    assert shown.exit_code == 0, shown.stderr
    assert "[bold red]not markup[/]" in shown.stdout and "\\x1b[2J" in shown.stdout
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "[blink]Title" in shown.stdout
    [item] = [a for a in us.cli("status", "--json").json()["attention"] if a["measure"] == "workgroup"]
    assert item["ref"] == pid and item["text"].endswith("by RU awaits our signature")


def test_action_done_by_non_owner_is_refused_with_what_is_allowed(us_ru):
    us, _ = us_ru
    a = us.cli("workgroup", "action", "add", "Share format", "--owner", "RU", "--due", "2027-01-15",
               "--json").json()["action"]["id"]
    r = us.cli("workgroup", "action", "done", a[:8])
    assert r.exit_code == 4
    assert "owned by RU" in r.stderr and "allowed now:" in r.stderr
    r = us.cli("workgroup", "action", "list", "--owner", "RU")
    assert "Share format" in r.stdout and "open" in r.stdout
