"""The border as a user and a script meet it (docs/adr/0299): a peer's multi-line text and the status lines and
errors on stderr fit an 80-column terminal, folded at spaces with a URL or a hash kept whole, while piped each
line stays whole; an extra argument and an unreachable TAXII server get a hint that says what to do.

Run through the real console script, with standard output or standard error a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import sys
from pathlib import Path

from tests.cli.terminal import run_on_terminal
from tests.cli.widths import too_wide
from tests.conftest import Party

CBM = Path(sys.executable).parent / "cbm"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
URL = "https://intel.example.org/reports/2026/12/scada-scanning-campaign-against-the-northern-grid-operators.pdf"
LONG = ("Between 02:00 and 04:00 UTC we saw scans of SCADA gateways of three grid operators from addresses "
        "announced in your territory; the full list is at " + URL + " and we ask for your assessment soon.")


def _env(party: Party) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CBM_", "_CBM_"))}
    env.update(HOME=str(party.root.parent), CBM_STORE=str(party.root), COLUMNS="80", NO_COLOR="1", TERM="dumb")
    return env


def _run(party: Party, *args: str, terminal: str = "stdout") -> tuple[int, list[str], list[str]]:
    """Exit code, stdout lines and stderr lines of ``cbm ARGS`` with ``terminal`` ("stdout", "stderr" or "none")
    a pseudo-terminal, the other stream a pipe."""
    done, shown = run_on_terminal(_env(party), *args, terminal=terminal)
    on_tty = ANSI.sub("", shown).splitlines()
    out = on_tty if terminal == "stdout" else done.stdout.decode("utf-8").splitlines()
    err = on_tty if terminal == "stderr" else done.stderr.decode("utf-8").splitlines()
    return done.returncode, out, err


def test_an_inquirys_text_fits_the_terminal_and_stays_whole_piped(us_ru, tmp_path: Path):
    us, ru = us_ru
    (tmp_path / "incident.md").write_text(LONG + "\n\n  - a second paragraph, indented as a list item\n")
    r = us.cli("inquiry", "open", "--to", "RU", "--subject", "SCADA scans", "--body-file",
               str(tmp_path / "incident.md"), "--json")
    assert r.exit_code == 0, r.stderr
    ref = r.json()["number"]
    code, shown, _ = _run(us, "inquiry", "show", ref)
    assert code == 0
    assert too_wide(shown, whole=[URL]) == []
    assert URL in [line.strip() for line in shown]  # the URL whole, on a line of its own
    assert " ".join(" ".join(shown).split()).count(" ".join(LONG.split())) == 1  # every word, in order
    assert "  - a second paragraph, indented as a list item" in shown
    code, piped, _ = _run(us, "inquiry", "show", ref, terminal="none")
    assert code == 0 and LONG in piped  # piped: the line as written


def test_a_hotline_body_and_an_agenda_fit_the_terminal(us_ru, tmp_path: Path):
    us, ru = us_ru
    sent = us.cli("hotline", "send", "--to", "RU", "--precedence", "IMMEDIATE", "--body", LONG, "--json")
    assert sent.exit_code == 0, sent.stderr
    code, shown, _ = _run(us, "hotline", "read", sent.json()["id"])
    assert code == 0 and too_wide(shown, whole=[URL]) == [] and URL in [line.strip() for line in shown]
    (tmp_path / "agenda.md").write_text("1. " + LONG + "\n")
    meeting = us.cli("workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva",
                     "--agenda-file", str(tmp_path / "agenda.md"), "--json")
    assert meeting.exit_code == 0, meeting.stderr
    code, shown, _ = _run(us, "workgroup", "meeting", "show", meeting.json()["meeting"]["id"])
    assert code == 0 and too_wide(shown, whole=[URL]) == [] and URL in [line.strip() for line in shown]
    assert "    1. Between 02:00" in "\n".join(shown)  # the agenda's indentation kept
    code, piped, _ = _run(us, "workgroup", "meeting", "show", meeting.json()["meeting"]["id"], terminal="none")
    assert code == 0 and "    1. " + LONG in piped


def test_status_lines_and_errors_on_stderr_fit_the_terminal(us_ru, tmp_path: Path):
    """A warning (a flagged indicator, ~130 columns), a status line (a meeting convened) and an error's hint, on a
    terminal; piped, each stays one line (scripts grep ``cbm: error:`` and ``warning:``)."""
    us, _ = us_ru
    code, _, err = _run(us, "indicators", "add", "--value", "10.1.2.3", terminal="stderr")
    assert code == 0 and len(err) >= 2 and too_wide(err) == [], err
    assert err[0].startswith("warning: flagged by the landing checks") and err[1].startswith("  ")
    code, _, err = _run(us, "indicators", "add", "--value", "10.1.2.4", terminal="none")
    assert code == 0 and len([line for line in err if line.startswith("warning: ")]) == 1
    assert all(not line.startswith(" ") for line in err) and any(len(line) > 80 for line in err)
    (tmp_path / "agenda.md").write_text("1. Review\n")
    code, _, err = _run(us, "workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva",
                        "--agenda-file", str(tmp_path / "agenda.md"), terminal="stderr")
    assert code == 0 and too_wide(err) == [] and any("convened" in line for line in err), err

    code, _, err = _run(us, "indicators", "add", "1.2.3.4", "5.6.7.8", terminal="stderr")
    assert code == 2 and too_wide(err) == [] and err[0].startswith("cbm: error: ")
    assert "`cbm indicators add --value 198.51.100.23 --origin RU --asn 64500`" in "\n".join(err)  # whole
    code, _, err = _run(us, "indicators", "add", "1.2.3.4", "5.6.7.8", terminal="none")
    assert code == 2 and len(err) == 2 and err[1].startswith("  hint: ")


def test_an_extra_argument_gets_a_line_that_works(us_ru):
    us, _ = us_ru
    r = us.cli("indicators", "add", "1.2.3.4")
    assert r.exit_code == 2 and r.stdout == ""
    error, hint = r.stderr.splitlines()
    assert "unexpected extra argument" in error
    line = re.search(r"`(cbm indicators add --value [^`]*)`", hint)
    assert line is not None and "indicators add --help" in hint
    assert us.cli(*line.group(1).split()[1:]).exit_code == 0  # the hint's line, run as the user would
    assert [i["value"] for i in us.cli("indicators", "list", "--json").json()["indicators"]] == ["1.2.3.4"]
    r = us.cli("inquiry", "send", "REF", "extra")
    assert r.exit_code == 2 and "`cbm inquiry send` takes REF and options" in r.stderr
    assert "e.g. `cbm inquiry send " in r.stderr
    # a reply's text given unquoted: the line puts the words in --body, after the REF as given
    r = us.cli("inquiry", "reply", "US-RU/2026/0007", "please", "confirm")
    assert r.exit_code == 2 and "`cbm inquiry reply US-RU/2026/0007 --body 'please confirm'`" in r.stderr
    r = us.cli("hotline", "send", "--to", "RU", "hello")  # no argument of its own: its help's whole example
    assert r.exit_code == 2 and "--body hello" not in r.stderr and "e.g. `cbm hotline send --to " in r.stderr


def test_an_unreachable_taxii_server_says_what_to_check(make_party):
    us: Party = make_party("US")
    with socket.socket() as s:  # a port nothing listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    added = us.cli("taxii", "add", "cert", f"http://127.0.0.1:{port}/taxii2/", "--api-root", "/api1/",
                   "--collection", "c")
    assert added.exit_code == 0, added.stderr
    assert us.cli("indicators", "add", "--value", "evil.example.com").exit_code == 0
    for command in (("indicators", "pull", "cert"), ("indicators", "push", "cert")):
        r = us.cli(*command)
        assert r.exit_code == 7 and r.stdout == "", command
        error, hint = r.stderr.splitlines()
        assert error == f"cbm: error: cannot talk to http://127.0.0.1:{port}: connection refused"
        assert f"127.0.0.1 port {port}" in hint and "`cbm taxii list`" in hint


def _age(party: Party, index: str = "indicators") -> None:
    """As if an older cbm had built ``index``: the next command refolds it."""
    conn = sqlite3.connect(party.root / "store.sqlite")
    with conn:
        conn.execute("UPDATE index_versions SET version = version - 1 WHERE name = ?", (index,))
    conn.close()


def test_a_refusal_after_an_upgrade_comes_first_and_alone(us_ru, monkeypatch):
    """The first command after an index version change refolds the store; when that command refuses, its error
    is the only thing on stderr (the refold landed all the same, and is not done again)."""
    from cbm.cli import progress

    monkeypatch.setattr(progress, "NOTICE_AFTER_SECONDS", 3600.0)  # a short refold, however busy the machine
    us, _ = us_ru
    assert us.cli("indicators", "add", "--value", "evil.example.com").exit_code == 0
    for refused, code in ((("indicators", "add", "--value", "not a value"), 2),
                          (("indicators", "list", "--type", "foo"), 2),
                          (("indicators", "show", "deadbeef"), 5),
                          (("bundle", "export", "--to", "XX", "-o", "x.cbm"), 5),
                          (("inquiry", "show", "99"), 2)):
        _age(us)
        r = us.cli(*refused)
        assert r.exit_code == code and r.stderr.startswith("cbm: error: "), (refused, r.stderr)
        assert "index" not in r.stderr, refused
        assert us.cli("status").stderr == ""  # refolded all the same: nothing left to do
    _age(us)
    shown = _run(us, "status", terminal="none")  # the fast path, in a process of its own: said once, either way
    assert shown[0] == 0 and len(shown[2]) == 1 and re.match(
        r"this version of cbm rebuil(t|ds) the store's indicators index from its records, once", shown[2][0])
    _age(us)
    r = us.cli("indicators", "list")  # the Typer app: the line after the result
    assert r.exit_code == 0 and "rebuilt the store's indicators index" in r.stderr


def test_a_long_refold_says_so_while_it_runs(monkeypatch, capsys):
    """Past the grace, the line is said during the refold (in the present tense), and nothing is held for the
    command's end."""
    import threading

    from cbm.cli import output, progress
    from cbm.cli.context import state

    said = threading.Event()
    monkeypatch.setattr(progress, "NOTICE_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(output, "note", lambda message: (print(message, file=sys.stderr), said.set()))
    state.reset()
    with progress.refolding(("indicators",)):
        assert said.wait(60)  # the refold goes on until the line is said
    assert "rebuilds the store's indicators index from its records, once" in capsys.readouterr().err
    assert state.said_on_success == []
