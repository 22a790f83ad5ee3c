"""Every command a message names exists: hints are followed by people under pressure."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import typer.main

from cbm.cli.main import app

PACKAGE = Path(__file__).resolve().parents[2] / "cbm"
TREE = typer.main.get_command(app)
NAMED = re.compile(r"`cbm ([^`]+)`")


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's replacement fields become ``X``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
    return None


def _literals() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            text = _text(node)
            if text is not None:
                found.append((f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}", text))
    return found


def _allowed_lists() -> list[tuple[str, str]]:
    """The items of every ``_allowed([...])`` hint ("allowed now: ...", names of workgroup commands)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_allowed" and node.args:
                for inner in ast.walk(node.args[0]):  # a list, or lists inside a conditional expression
                    for item in inner.elts if isinstance(inner, ast.List) else []:
                        text = _text(item)
                        if text is not None:
                            found.append((f"{path.relative_to(PACKAGE.parent)}:{item.lineno}", text))
    return found


def _leaves(command: Any) -> set[str]:
    names: set[str] = set()
    for name, sub in getattr(command, "commands", {}).items():
        names |= {name} | _leaves(sub)
    return names


def _unknown_command(words: list[str]) -> str | None:
    """The first word that should name a command but does not, or None."""
    command = TREE
    for word in words:
        subcommands = getattr(command, "commands", None)
        if subcommands is None or word.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", word):
            return None  # arguments and options from here on
        if word not in subcommands:
            return word
        command = subcommands[word]
    return None


def test_the_check_catches_a_command_that_does_not_exist():
    assert _unknown_command("workgroup remind RU".split()) == "remind"
    assert _unknown_command("keys import CARD --fingerprint FPR".split()) is None
    assert _unknown_command("inquiry list --all".split()) is None


def test_every_command_named_in_a_message_exists():
    named = [(where, m.group(1)) for where, text in _literals() for m in NAMED.finditer(text)]
    assert len(named) > 40  # the scan sees the hints
    wrong = [f"{where}: `cbm {ref}`" for where, ref in named if _unknown_command(ref.split())]
    assert not wrong, "hints name commands that do not exist:\n" + "\n".join(wrong)


def test_every_allowed_action_names_a_workgroup_command():
    workgroup = TREE.commands["workgroup"]  # type: ignore[attr-defined]
    verbs = _leaves(workgroup) | set(workgroup.commands)
    items = _allowed_lists()
    assert items  # the scan sees the lists
    wrong = [f"{where}: {text!r}" for where, text in items
             if text.split()[0] not in verbs
             or text.split()[0] in workgroup.commands and _unknown_command(["workgroup", *text.split()[:2]])]
    assert not wrong, "'allowed now' hints name commands that do not exist:\n" + "\n".join(wrong)


def test_an_option_of_cbm_itself_after_a_command_says_where_it_goes(make_party):
    """``-q``, ``-v``, ``--store`` and ``--passphrase-file`` are options of ``cbm`` itself (``--json`` and
    ``--wide`` are taken after commands too): given after a command, the hint says where they go, with the value
    the option takes, and the corrected line runs."""
    us = make_party("US")
    cases = [(["bundle", "status", "-q"], "`cbm -q bundle status ...`"),
             (["keys", "list", "--store", str(us.root)], "`cbm --store DIR keys list ...`"),
             (["inquiry", "list", "--passphrase-file", "pw"], "`cbm --passphrase-file FILE inquiry list ...`")]
    for args, fix in cases:
        r = us.cli(*args)
        assert r.exit_code == 2 and r.stdout == "", (args, r.stderr)
        error, hint = r.stderr.splitlines()
        assert error.startswith(f"cbm: error: No such option: {args[2]}"), r.stderr
        assert hint == f"  hint: {args[2]} is an option of cbm itself: put it before the command ({fix})", hint
    assert us.cli("-q", "bundle", "status").exit_code == 0
    other = us.cli("bundle", "status", "--bogus")
    assert other.exit_code == 2 and other.stderr.splitlines()[1] == "  hint: see `cbm bundle status --help`"


def test_a_command_a_group_lacks_gets_the_one_that_does_it_and_the_groups_commands(make_party):
    """``cbm hotline list`` (the messages are its inbox) and other likely words for a command a group names
    otherwise: the hint names the group's command that does it, and lists the group's commands, each real."""
    us = make_party("US")
    cases = [(["hotline", "list"], "cbm hotline inbox"),
             (["workgroup", "meeting", "convene"], "cbm workgroup meeting new"),
             (["whitepaper", "add"], "cbm whitepaper publish"),
             (["inquiry", "create"], "cbm inquiry open"),
             (["indicators", "delete"], "cbm indicators revoke"),
             (["frobnicate"], None), (["hotline", "lst"], None)]
    for args, likely in cases:
        r = us.cli(*args)
        assert r.exit_code == 2 and r.stdout == "", (args, r.stderr)
        error, hint = r.stderr.splitlines()
        assert error == f"cbm: error: No such command '{args[-1]}'.", r.stderr
        group = " ".join(["cbm", *args[:-1]])
        listed = re.search(rf"`{group}` has: ([a-z, -]+) \(see `{group} --help`\)$", hint)
        assert listed, hint
        names = listed.group(1).split(", ")
        assert len(names) >= 4 and not [n for n in names if _unknown_command([*args[:-1], n])], hint
        if likely is None:
            assert "did you mean" not in hint, hint
        else:
            assert hint.startswith(f"  hint: did you mean `{likely}`? "), hint
            assert not _unknown_command(likely.split()[1:])
    # a close spelling keeps click's own suggestion and the plain hint
    r = us.cli("hotlne")
    assert "Did you mean 'hotline'?" in r.stderr and r.stderr.splitlines()[1] == "  hint: see `cbm --help`"
