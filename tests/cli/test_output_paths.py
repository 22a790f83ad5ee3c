"""Every command that writes a file the user names (``-o/--output``, ``hotline transcript --export``), given a
place no file can be written: a directory that does not exist (exit 5, not found), a directory as the file, a
file as the directory, a full disk (exit 2, usage). One ``cbm: error:`` line, no file or temporary file left
behind, and the store exactly as before, also for ``keys rotate`` and ``keys revoke``, which change the store
before they write (docs/adr/0278-output-paths.md). An existing file is replaced whole. The command tree is
walked: a new command with ``-o`` must be added to COMMANDS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer

from cbm.cli.root import app
from tests.bundle.forge import snapshot
from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data"
OUTPUT_OPTIONS = {"-o", "--output", "--export"}


def _writers(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The commands of the tree with an option naming a file they write."""
    subs = getattr(command, "commands", {})
    if subs:
        return [found for name, sub in sorted(subs.items()) for found in _writers(sub, (*path, name))]
    return [path] if any(OUTPUT_OPTIONS & set(p.opts) for p in command.params) else []


WRITERS = _writers(typer.main.get_command(app))


@pytest.fixture
def world(us_ru: tuple[Party, Party]) -> dict[str, Any]:
    """US with something for every writer: an indicator, an inquiry, a paper, a hotline conversation."""
    us, ru = us_ru
    # TLP:AMBER, so that a command warning about what it writes has cause to (the warning comes after a refusal)
    assert us.cli("indicators", "add", "--value", "evil.example", "--tlp", "AMBER").exit_code == 0
    opened = us.cli("inquiry", "open", "--to", "RU", "--precedence", "ROUTINE", "--subject", "scans", "--body",
                    "x", "--json")
    assert opened.exit_code == 0, opened.stderr
    paper = next((SAMPLES / "whitepaper").iterdir())
    published = us.cli("whitepaper", "publish", str(paper), "--title", "Strategy", "--issuer", "MoD", "--lang",
                       "en", "--classification", "UNCLASSIFIED", "--json")
    assert published.exit_code == 0, published.stderr
    paper = _first_string(published.json(), "doc")  # withdrawn: `whitepaper get` has a warning to give too
    assert us.cli("whitepaper", "withdraw", paper, "--reason", "superseded").exit_code == 0
    assert us.cli("hotline", "send", "--to", "RU", "--body", "hello").exit_code == 0
    return {"us": us, "inquiry": _first_string(opened.json(), "number"),
            "paper": paper}


def _first_string(doc: Any, key: str) -> str:
    """The first value of ``key`` anywhere in a JSON document."""
    if isinstance(doc, dict):
        if isinstance(doc.get(key), str):
            return str(doc[key])
        values = list(doc.values())
    elif isinstance(doc, list):
        values = doc
    else:
        return ""
    for value in values:
        found = _first_string(value, key)
        if found:
            return found
    return ""


# how each writer is called, writing to OUT
COMMANDS: dict[tuple[str, ...], Callable[[dict[str, Any], str], list[str]]] = {
    ("bundle", "export"): lambda w, out: ["--to", "RU", "-o", out],
    ("hotline", "transcript"): lambda w, out: ["--with", "RU", "--export", out],
    ("indicators", "export"): lambda w, out: ["--include-flagged", "-o", out],
    ("inquiry", "export"): lambda w, out: [w["inquiry"], "-o", out],
    ("keys", "export"): lambda w, out: ["-o", out],
    ("keys", "revoke"): lambda w, out: ["--reason", "lost", "--yes", "-o", out],
    ("keys", "rotate"): lambda w, out: ["-o", out],
    ("whitepaper", "get"): lambda w, out: [w["paper"], "-o", out],
    ("workgroup", "report"): lambda w, out: ["--from", "2026-01-01", "--to", "2027-12-31", "-o", out],
}

FOLDER_WRITERS = {("bundle", "export")}  # -o DIR writes the bundle (or one a peer) inside it, as documented


def test_every_command_that_writes_a_named_file_is_walked_here():
    assert sorted(WRITERS) == sorted(COMMANDS)


def _refused(party: Party, args: list[str], code: int, text: str) -> None:
    r = party.cli(*args)
    assert r.exit_code == code, (args, r.exit_code, r.stderr)
    lines = r.stderr.splitlines()
    assert "Traceback" not in r.stderr and lines and lines[0].startswith(f"cbm: error: cannot write {text}"), \
        r.stderr
    assert all(line.startswith("  ") for line in lines[1:]), r.stderr  # alone: its hint, no warning, no note


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_a_place_no_file_can_be_written_is_refused_before_any_work(world, tmp_path: Path, command):
    us: Party = world["us"]
    place = tmp_path / "place"
    place.mkdir()
    (place / "a-file").write_text("not a directory")
    (place / "a-directory").mkdir()
    before = snapshot(us)
    cases = [
        (place / "missing" / "out.file", 5, "there is no directory"),
        (place / "a-directory", 2, "it is a directory"),
        (place / "a-file" / "out.file", 2, "is not a directory"),
    ]
    if command in FOLDER_WRITERS:
        cases.pop(1)
    for out, code, words in cases:
        _refused(us, [*command, *COMMANDS[command](world, str(out))], code, f"{out}: ")
        assert words in us.cli(*command, *COMMANDS[command](world, str(out))).stderr
    assert snapshot(us) == before  # a key not rotated, a transcript not signed, a receipt not written
    assert sorted(p.name for p in place.rglob("*")) == ["a-directory", "a-file"]  # nothing left behind


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_a_full_disk_is_one_error_line(world, command):
    _refused(world["us"], [*command, *COMMANDS[command](world, "/dev/full")], 2, "/dev/full: ")


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_an_existing_file_is_replaced_whole(world, tmp_path: Path, command):
    out = tmp_path / "out" / "existing.file"
    out.parent.mkdir()
    out.write_bytes(b"old content " * 100_000)
    r = world["us"].cli(*command, *COMMANDS[command](world, str(out)))
    assert r.exit_code == 0, r.stderr
    assert b"old content" not in out.read_bytes() and out.stat().st_size > 0
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize(("command", "beside"), [(("bundle", "export"), ".minisig"),
                                                 (("hotline", "transcript"), ".sig")], ids=["minisig", "sig"])
def test_a_file_written_beside_is_checked_before_the_main_one(world, tmp_path: Path, command, beside: str):
    """``bundle export`` writes FILE.minisig and ``hotline transcript --export`` FILE.sig beside FILE: a place no
    file can be written there is refused before FILE is written, a receipt noted or a transcript signed."""
    us: Party = world["us"]
    out = tmp_path / "out.file"
    Path(str(out) + beside).mkdir()
    before = snapshot(us)
    _refused(us, [*command, *COMMANDS[command](world, str(out))], 2, f"{out}{beside}: it is a directory")
    assert snapshot(us) == before and not out.exists()
