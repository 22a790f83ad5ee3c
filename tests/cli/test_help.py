"""Every command has help with an example, and is documented in README.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main

from cbm.cli.main import app
from cbm.core.errors import EXIT_CODES
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SUBCOMMANDS = ["bundle", "handover", "hotline", "indicators", "init", "inquiry", "keys", "status", "store", "taxii",
               "whitepaper", "workgroup"]


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _walk(sub, (*path, name))
    return found


TREE = _walk(typer.main.get_command(app), ())
LEAVES = [path for path, command in TREE if not hasattr(command, "commands")]
GROUPS = [path for path, command in TREE if hasattr(command, "commands")]


WIDE = {"COLUMNS": "200"}  # no word of a help text is longer: none is folded across lines
_FRAME = str.maketrans(dict.fromkeys("│╭╮╰╯─", " "))


def _lost_words(command: Any, shown: str) -> list[str]:
    """Words of the command's own help and its options' help that its rendered --help does not show (Rich
    markup takes a bracketed word such as ``[indicators]`` for a style tag and drops it)."""
    words = set(shown.translate(_FRAME).split())
    texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
    return [word for text in texts for word in text.split() if word not in words and word != "\b"]


def _docs() -> str:
    return (ROOT / "README.md").read_text("utf-8")


def test_the_subcommands_the_design_names():
    assert sorted(getattr(typer.main.get_command(app), "commands", {})) == SUBCOMMANDS
    assert len(LEAVES) >= 9  # init, status, 6 keys commands, 2 store commands at least


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_command_has_help_with_an_example(path):
    r = run_cli(*path, "--help", env=WIDE)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    assert "Example" in r.stdout, f"`cbm {' '.join(path)} --help` shows no example"
    assert "Usage:" in r.stdout and " ".join(path) + " [OPTIONS]" in r.stdout
    assert _lost_words(dict(TREE)[path], r.stdout) == [], f"`cbm {' '.join(path)} --help` drops words"


@pytest.mark.parametrize("path", GROUPS, ids=lambda p: " ".join(p) or "cbm")
def test_every_group_has_help(path):
    r = run_cli(*path, "--help", env=WIDE)
    assert r.exit_code == 0 and r.stderr == ""
    assert "Usage:" in r.stdout and len(r.stdout.splitlines()) > 3
    assert _lost_words(dict(TREE)[path], r.stdout) == [], f"`cbm {' '.join(path)} --help` drops words"
    assert run_cli(*path, "-h", env=WIDE).stdout == r.stdout


def test_root_help_has_example_and_exit_codes():
    r = run_cli("--help")
    assert "Example" in r.stdout and "Exit codes" in r.stdout
    codes = " ".join(r.stdout.split("Exit codes:", 1)[1].split())
    for code in EXIT_CODES:  # every documented code, 8 (status --check) included
        assert f" {code} " in f" {codes}", f"exit code {code} is missing from `cbm --help`"
    bare = run_cli()  # no arguments: the help, not a traceback
    assert "Usage:" in bare.stdout + bare.stderr and "Traceback" not in bare.stdout + bare.stderr


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_command_is_documented(path):
    assert f"cbm {' '.join(path)}" in _docs(), \
        f"`cbm {' '.join(path)}` is not in README.md"
