"""Prose lines of ``status``, ``indicators stats``, ``hotline status`` and ``whitepaper show`` fit an 80-column
terminal: folded at spaces with an indent, while a SHA-256 and a `command` in backquotes stay whole on one line
(scripts and people copy them). Piped, each stays one line as before. Run through the real console script with
standard output a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.terminal import run_on_terminal
from tests.cli.widths import too_wide
from tests.conftest import Party

CBM = Path(sys.executable).parent / "cbm"
SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "whitepaper"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TITLE = "Information security strategy of the Russian Federation, second revised edition of 2026"
SUMMARY = ("Priorities and principles for protecting the national information infrastructure against hostile "
           "activity, with the measures each ministry takes")


def _env(party: Party) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CBM_", "_CBM_"))}
    env.update(HOME=str(party.root.parent), CBM_STORE=str(party.root), COLUMNS="80", NO_COLOR="1", TERM="dumb")
    return env


def _on_a_terminal(party: Party, *args: str) -> list[str]:
    """The lines ``cbm ARGS`` shows on an 80-column terminal."""
    return ANSI.sub("", _terminal_output(_env(party), *args)).splitlines()


def _terminal_output(env: dict[str, str], *args: str) -> str:
    """What ``cbm ARGS`` writes to a terminal (its escape codes included, line ends as ``\n``)."""
    done, out = run_on_terminal(env, *args)
    assert done.returncode == 0, done.stderr
    return out


def _piped(party: Party, *args: str) -> list[str]:
    done = subprocess.run([str(CBM), *args], capture_output=True, text=True, env=_env(party), timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.fixture
def us(make_party) -> Party:
    party = make_party("US")
    for value in ("10.0.0.1", "192.168.1.1", "evil.example"):  # flagged: a status line about them
        assert party.cli("indicators", "add", "--value", value).exit_code == 0
    r = party.cli("whitepaper", "publish", str(SAMPLES / "ru-infosec-strategy-2026.md"), "--title", TITLE,
                  "--issuer", "Ministry of Defence", "--lang", "ru", "--classification", "UNCLASSIFIED",
                  "--summary", SUMMARY)
    assert r.exit_code == 0, r.stderr
    return party


def _paper(party: Party) -> tuple[str, str]:
    shown = party.cli("--json", "whitepaper", "list").json()["papers"][0]["doc"]
    sha = party.cli("--json", "whitepaper", "show", shown).json()["versions"][0]["sha256"]
    return shown, sha


COMMANDS = [("status",), ("indicators", "stats"), ("hotline", "status"), ("whitepaper", "show"),
            ("store", "rebuild")]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_prose_fits_80_columns_and_values_stay_whole(us, args):
    doc, sha = _paper(us)
    args = (*args, doc) if args[0] == "whitepaper" else args
    shown = _on_a_terminal(us, *args)
    assert too_wide(shown, whole=(str(us.root),)) == []
    piped = _piped(us, *args)
    assert any(len(line) > 80 for line in piped)  # the case is real: piped, a line is longer than that
    words = " ".join(shown).split()
    assert words == " ".join(piped).split()  # folded, not cut: every word there, in order
    commands = [c for line in piped for c in re.findall(r"`[^`]*`", line)]
    assert all(any(c in line for line in shown) for c in commands)  # each command whole on one line
    if args[0] == "whitepaper":
        assert any(sha in line for line in shown)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_a_folded_line_keeps_its_colours(us):
    """``FILE MISSING`` is red in ``whitepaper show``; on a line folded to fit the terminal it lost its colour
    (the folded lines were made of the plain text). The paper's file is taken out of the store to show it."""
    doc, sha = _paper(us)
    for blob in (us.root / "blobs").rglob("*"):
        if blob.is_file():
            blob.unlink()
    env = {**_env(us), "TERM": "xterm-256color"}
    env.pop("NO_COLOR")
    lines = _terminal_output(env, "whitepaper", "show", doc).splitlines()
    start = next(n for n, line in enumerate(lines) if sha in ANSI.sub("", line))
    version = lines[start - 1:start + 3]
    assert any("FILE MISSING" in ANSI.sub("", line) for line in version), lines
    assert all(len(ANSI.sub("", line)) <= 80 for line in lines)
    missing = next(line for line in version if "FILE MISSING" in ANSI.sub("", line))
    assert re.search(r"\x1b\[[0-9;]*31m\s*FILE MISSING", missing), repr(missing)  # red, as on one line


@pytest.fixture
def talking(us_ru) -> tuple[Party, str, str]:
    """US with a hotline message from RU, a call on record, a bundle sent to RU and RU's receipt for it."""
    from tests.bundle.helpers import export, import_

    us, ru = us_ru
    assert ru.cli("hotline", "send", "--to", "US", "--body", "call me").exit_code == 0
    assert export(ru, "US", us.root.parent / "ru.cbm").exit_code == 0
    assert import_(us, us.root.parent / "ru.cbm").exit_code == 0
    message = us.cli("--json", "hotline", "inbox").json()["messages"][0]["id"][:12]
    summary = us.root.parent / "call.md"
    summary.write_text("We agreed to talk again\n")
    call = us.cli("--json", "hotline", "call", "--with", "RU", "--start", "2026-11-23T07:00Z", "--end",
                  "2026-11-23T07:20Z", "--participant", "US coordinator", "--summary", str(summary))
    assert call.exit_code == 0, call.stderr
    assert us.cli("hotline", "send", "--to", "RU", "--body", "calling now").exit_code == 0
    assert export(us, "RU", us.root.parent / "us.cbm").exit_code == 0
    assert import_(ru, us.root.parent / "us.cbm").exit_code == 0  # and RU's receipt comes back
    assert export(ru, "US", us.root.parent / "ru2.cbm").exit_code == 0
    assert import_(us, us.root.parent / "ru2.cbm").exit_code == 0
    return us, message, call.json()["id"][:12]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
@pytest.mark.parametrize("args", [("hotline", "read", "MESSAGE"), ("hotline", "calls"), ("hotline", "status"),
                                  ("bundle", "status")], ids=" ".join)
def test_the_lines_about_a_conversation_and_a_peer_fit_80_columns(talking, args):
    us, message, call = talking
    args = tuple(message if a == "MESSAGE" else a for a in args)
    shown = _on_a_terminal(us, *args)
    assert too_wide(shown, whole=(str(us.root),)) == []
    piped = _piped(us, *args)
    assert any(len(line) > 80 for line in piped)
    ages = re.compile(r"^\d+[smhd]$")  # "(arrived ..., 2s ago)": the two runs are a moment apart
    assert [w for w in " ".join(shown).split() if not ages.match(w)] == \
        [w for w in " ".join(piped).split() if not ages.match(w)]
