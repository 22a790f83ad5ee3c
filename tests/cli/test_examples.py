"""Every example a user is shown parses against the real command tree: the ``Example:`` lines of every
command's ``--help`` and the ``cbm ...`` lines of README.md's code blocks (ADR 0266).

"Parses" means click's own parser accepts it without running the command: every option it names exists on
that command, an option that takes a value has one and a flag has none, a choice is one of the choices, the
arguments fit, nothing required is missing. Placeholders (ID, FILE, <m>, 3fa9c2) are fine as values. A help
example must also run the command whose help shows it.

README lines may use synopsis notation, read as follows: ``[...]`` is optional (its content is checked as if
given), ``a|b`` and ``[x | y]`` are alternatives (each one is checked), a group with ``...`` in it ("repeat")
is skipped, `` | `` between commands is a shell pipe (each ``cbm`` command of it is checked), ``# ...`` is a
comment, a trailing ``\\`` continues the line, a leading ``$ `` is a prompt. A code block whose fence says
```` ```text ```` holds no commands (the usage synopsis, sample output).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click import core, exceptions  # Typer's own copy of click: its classes, not the click package's

from cbm.cli.main import app
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"COLUMNS": "200"}  # as test_help.py: no example is folded across lines by the terminal's width
CLI = typer.main.get_command(app)


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _walk(sub, (*path, name))
    return found


LEAVES = [path for path, command in _walk(CLI, ()) if not hasattr(command, "commands")]
_PLACEHOLDER = re.compile(r"^(<[^>]+>|[A-Z][A-Z0-9_]*|\.\.\.|…)$")


# --- parsing an example against the command tree --------------------------------------------------------------

def parse(argv: list[str]) -> tuple[str, ...]:
    """Parse ``argv`` (after ``cbm``) down the real command tree without running anything; return the path of
    the command it reaches. Raises exceptions.UsageError (or a subclass) where click would refuse it."""
    ctx = CLI.make_context("cbm", list(argv), resilient_parsing=False)
    command: Any = CLI
    path: tuple[str, ...] = ()
    rest = [*ctx._protected_args, *ctx.args]  # click keeps the subcommand and its arguments here
    while hasattr(command, "commands"):
        if not rest:
            raise exceptions.UsageError(f"`cbm {' '.join(path)}` needs a subcommand")
        name, sub, rest = command.resolve_command(ctx, rest)
        assert name is not None and sub is not None
        path = (*path, name)
        ctx = sub.make_context(name, list(rest), parent=ctx, resilient_parsing=True)
        if hasattr(sub, "commands"):
            rest = [*ctx._protected_args, *ctx.args]
        command = sub
    _check_leaf(command, list(rest), path)
    return path


def _check_leaf(command: Any, argv: list[str], path: tuple[str, ...]) -> None:
    """Click's own parser over the leaf's arguments, then the checks it leaves to conversion (choices, counts,
    required) done here without converting placeholder values or running callbacks."""
    ctx = core.Context(command, info_name=path[-1] if path else "cbm", resilient_parsing=False)
    parser = command.make_parser(ctx)
    values, extra, _order = parser.parse_args(args=argv)
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    for param in command.params:
        got = values.get(param.name)  # type: ignore[arg-type]
        if got is None:
            if param.required and not param.param_type_name == "argument":
                raise exceptions.MissingParameter(ctx=ctx, param=param)
            continue
        choices = getattr(param.type, "choices", None)
        if choices is not None:
            for value in got if isinstance(got, (list, tuple)) else [got]:
                if not _PLACEHOLDER.match(str(value)) and str(value) not in [str(c) for c in choices]:
                    raise exceptions.BadParameter(f"{value!r} is not one of {list(choices)}", ctx=ctx, param=param)
    if extra:
        raise exceptions.UsageError(f"unexpected extra argument(s) {extra}", ctx=ctx)
    for param in arguments:
        if param.required and values.get(param.name) in (None, (), []):  # type: ignore[arg-type]
            raise exceptions.MissingParameter(ctx=ctx, param=param)


# --- the examples of every command's help ---------------------------------------------------------------------

def help_examples(path: tuple[str, ...]) -> list[str]:
    """The examples of ``cbm PATH --help`` as the user sees them, one string per example. A block starts at a
    line ``Example:``/``Examples:`` (or ``Example (what it shows):``); in it a line starting ``cbm `` begins an
    example, a line starting ``-`` continues the one before, blank lines are skipped, any other line ends it."""
    shown = run_cli(*path, "--help", env=WIDE).stdout
    examples: list[str] = []
    inside = False
    for raw in shown.splitlines():
        line = raw.strip()
        head = re.match(r"^Examples?(?: \([^)]*\))?:\s*(.*)$", line)
        if head:
            inside, line = True, head.group(1)
        if not inside or not line:
            continue
        if line.startswith("cbm "):
            examples.append(line)
        elif line.startswith("-") and examples:
            examples[-1] += " " + line
        else:
            inside = False
    return examples


COMMANDS = [path for path, _ in _walk(CLI, ())]
HELP_EXAMPLES = [(path, example) for path in COMMANDS for example in help_examples(path)]


def test_every_command_shows_an_example():
    shown = {path for path, _ in HELP_EXAMPLES}
    assert [p for p in LEAVES if p not in shown] == []
    assert len(HELP_EXAMPLES) >= 90


@pytest.mark.parametrize(("path", "example"), HELP_EXAMPLES, ids=[e for _, e in HELP_EXAMPLES])
def test_help_example_parses_and_runs_its_own_command(path, example):
    argv = shlex.split(example, comments=True)
    assert argv[0] == "cbm", f"`cbm {' '.join(path)} --help` shows an example that is not a cbm command"
    try:
        reached = parse(argv[1:])
    except exceptions.ClickException as e:
        pytest.fail(f"`cbm {' '.join(path)} --help` example {example!r} does not parse: {e.format_message()}")
    # a command's help shows that command; a group's help (`cbm --help`) any command of the group
    assert reached[:len(path)] == path, f"`cbm {' '.join(path)} --help` shows an example of `cbm {' '.join(reached)}`"


# --- the command lines of README.md ---------------------------------------------------------------------------

def readme_lines() -> list[str]:
    """Every command line of README.md's code blocks: lines that start with ``cbm `` or ``$ cbm ``, with their
    ``\\`` continuations joined, outside ```` ```text ```` blocks."""
    lines: list[str] = []
    fence: str | None = None
    pending = ""
    for raw in (ROOT / "README.md").read_text("utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else stripped[3:].strip()
            pending = ""
            continue
        if fence is None or fence == "text":
            continue
        if pending:
            pending += " " + stripped
        elif re.match(r"^(\$ )?cbm ", stripped):
            pending = stripped.removeprefix("$ ")
        else:
            continue
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        lines.append(pending)
        pending = ""
    return lines


def readme_commands(line: str) -> list[list[str]]:
    """The concrete argument lists (after ``cbm``) a README line stands for: each ``cbm`` command of a pipe, each
    alternative of ``a|b`` and ``[x | y]`` once, optional groups given, groups with ``...`` dropped, shell
    redirections dropped."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = _without_redirections(list(lexer))
    commands: list[list[str]] = []
    for segment in _split_pipe(tokens):
        if "cbm" not in segment:
            continue
        segment = segment[segment.index("cbm") + 1:]
        commands += [_expand(segment, pick) for pick in range(_alternatives(segment))]
    return commands


def _without_redirections(tokens: list[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for token in tokens:
        if skip:
            skip = False
        elif token in (">", ">>", "<", "2>"):
            skip = True
        else:
            kept.append(token)
    return kept


def _split_pipe(tokens: list[str]) -> list[list[str]]:
    """Split at a top-level ``|`` followed by a word (a shell pipe into another command); a ``|`` followed by an
    option (``--name X | --absent``) is an alternative, kept for _expand."""
    segments: list[list[str]] = [[]]
    for i, token in enumerate(tokens):
        if token == "|" and i + 1 < len(tokens) and not tokens[i + 1].startswith(("-", "[")):
            segments.append([])
        else:
            segments[-1].append(token)
    return segments


def _is_quoted_value(token: str) -> bool:
    """A token that can only have come from quotes (a value with a space or a quote in it): never notation."""
    return " " in token or "'" in token


def _alternatives(segment: list[str]) -> int:
    """How many variants a segment needs so that each alternative of its widest choice is checked once."""
    widest = 1
    for token in segment:
        if "|" in token and token != "|" and not _is_quoted_value(token):
            widest = max(widest, len(token.strip("[]").split("|")))
    return max(widest, 1 + segment.count("|"))


def _expand(segment: list[str], pick: int) -> list[str]:
    """One concrete argument list: alternative ``pick`` (or the last one there is) of each choice."""
    groups: list[list[list[str]]] = [[[]]]  # a stack of open groups; each a list of alternatives
    for token in segment:
        quoted = _is_quoted_value(token)
        opens = 0 if quoted else len(token) - len(token.lstrip("["))
        closes = 0 if quoted else len(token) - len(token.rstrip("]"))
        word = token if quoted else token.strip("[]")
        for _ in range(opens):
            groups.append([[]])
        if word == "|":
            # an alternative; at the top level it keeps the command's words (`attend <m> --name X | --absent`)
            first = groups[-1][0]
            lead = [] if len(groups) > 1 else first[:next((i for i, w in enumerate(first) if w.startswith("-")),
                                                              len(first))]
            groups[-1].append(list(lead))
        elif word:
            if "|" in word and not quoted:
                options = word.split("|")
                word = options[min(pick, len(options) - 1)]
            groups[-1][-1].append(word)
        for _ in range(closes):
            done = groups.pop()
            chosen = done[min(pick, len(done) - 1)]
            if "..." not in chosen and "…" not in chosen:
                groups[-1][-1].extend(chosen)
    while len(groups) > 1:  # an unclosed group: taken as given
        done = groups.pop()
        groups[-1][-1].extend(done[min(pick, len(done) - 1)])
    return groups[0][min(pick, len(groups[0]) - 1)]


README_COMMANDS = [(line, argv) for line in readme_lines() for argv in readme_commands(line)]


def test_the_readme_shows_commands():
    assert len(README_COMMANDS) >= 140


@pytest.mark.parametrize(("line", "argv"), README_COMMANDS, ids=[" ".join(a) for _, a in README_COMMANDS])
def test_readme_command_parses(line, argv):
    if argv[:1] in (["--install-completion"], ["--show-completion"]):
        return  # the root's completion flags: eager, they end parsing before any command is needed
    try:
        parse(argv)
    except exceptions.ClickException as e:
        pytest.fail(f"README line {line!r} (as `cbm {shlex.join(argv)}`) does not parse: {e.format_message()}")
