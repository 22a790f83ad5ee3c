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

import itertools
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click import core, exceptions  # Typer's own copy of click: its classes, not the click package's

from cbm.cli.main import app
from tests.cli.test_tables import on_terminal
from tests.conftest import Party, Result, at, run_cli

ROOT = Path(__file__).resolve().parents[2]
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

def help_examples(path: tuple[str, ...], columns: int = 200) -> list[str]:
    """The examples of ``cbm PATH --help`` as the user sees them, one string per example. A block starts at a
    line ``Example:``/``Examples:`` (or ``Example (what it shows):``); in it a line starting ``cbm `` begins an
    example, a line ending ``\\`` is continued by the next, a line starting ``-`` continues the one before, blank
    lines are skipped, any other line ends the block."""
    shown = run_cli(*path, "--help", env={"COLUMNS": str(columns)}).stdout
    examples: list[str] = []
    inside = False
    for raw in shown.splitlines():
        line = raw.strip()
        head = re.match(r"^Examples?(?: \([^)]*\))?:\s*(.*)$", line)
        if head:
            inside, line = True, head.group(1)
        if not inside or not line:
            continue
        if examples and examples[-1].endswith("\\"):  # a shell line continuation
            examples[-1] = examples[-1][:-1].rstrip() + " " + line
        elif line.startswith("cbm "):
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


def test_help_example_continuation_lines_stay_indented():
    """A continued example's next line is shown indented under it, as written: Typer dedents the help after its
    first paragraph, which put the continuation of a command's only example flush left (cbm/cli/reflow.py)."""
    flush_left = []
    for path in COMMANDS:
        lines = run_cli(*path, "--help", env={"COLUMNS": "80"}).stdout.splitlines()
        for before, line in itertools.pairwise(lines):
            if before.rstrip().endswith("\\") and line.strip() and not line.startswith("   "):
                flush_left.append(f"cbm {' '.join(path)}: {line.strip()}")
    assert flush_left == []


def test_help_examples_are_whole_on_an_80_column_terminal():
    """An example folded by the terminal cannot be copied: each line of it fits 80 columns (long ones are
    continued with ``\\``), so the examples read at 80 columns are those read at 200."""
    folded = [f"cbm {' '.join(path)}" for path in COMMANDS
              if help_examples(path, columns=80) != help_examples(path)]
    assert folded == [], "examples folded at 80 columns (continue long ones with \\): " + ", ".join(folded)


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


# --- a chosen set run end to end, as a new user would, against two real stores ----------------------------------
# Each step runs the example exactly as its command's --help shows it, with only the placeholders a user must
# replace (an id, a file, a fingerprint) replaced: an example that stops working fails here.

def example(path: str, n: int = 0, **subs: str) -> list[str]:
    """The ``n``-th example of ``cbm PATH --help`` as arguments (after ``cbm``), each placeholder ``old`` of
    ``subs`` (given as ``**{"old": "new"}``) replaced; a placeholder the example no longer shows fails."""
    shown = [e for p, e in HELP_EXAMPLES if p == tuple(path.split())]
    text = shown[n]
    for old, new in subs.items():
        assert old in text, f"`cbm {path} --help` example {text!r} no longer shows {old!r}"
        text = text.replace(old, new)
    return shlex.split(text, comments=True)[1:]


def run(party: Party, path: str, n: int = 0, *extra: str, code: int = 0, **subs: str) -> Result:
    """Run an example of ``cbm PATH --help`` at ``party``'s store; it must exit ``code`` without a traceback."""
    argv = example(path, n, **subs)
    r = party.cli(*argv, *extra)
    shown = f"`cbm {shlex.join([*argv, *extra])}` at {party.code}: exit {r.exit_code}\n{r.stderr}"
    assert r.exit_code == code, shown
    assert "Traceback" not in r.stdout + r.stderr, shown
    return r


def send(sender: Party, recipient: Party, tmp_path: Path) -> None:
    """One bundle from sender to recipient, through a real file."""
    bundle = tmp_path / f"{sender.code}-{recipient.code}.cbm"
    assert sender.cli("bundle", "export", "--to", recipient.code, "-o", str(bundle)).exit_code == 0
    r = recipient.cli("bundle", "import", str(bundle))
    assert r.exit_code == 0, r.stderr


def _json(r: Result) -> Any:
    return json.loads(r.stdout)


@pytest.fixture
def pair(make_party, tmp_path, monkeypatch) -> tuple[Party, Party]:
    """US and RU, each trusting the other through the card exchange `cbm --help` shows; the walk runs in
    tmp_path/desk, where the examples' relative file names land."""
    us, ru = make_party("US", name="US-CERT"), make_party("RU", name="RU-CERT")
    desk = tmp_path / "desk"
    desk.mkdir()
    monkeypatch.chdir(desk)
    run(us, "", 1)  # cbm keys export -o us.card
    run(ru, "", 1, **{"us.card": "ru.card"})
    run(us, "", 2, **{"3F2A 9C1B ...": ru.fingerprint()})  # cbm keys import ru.card --fingerprint ...
    run(ru, "", 2, **{"ru.card": "us.card", "3F2A 9C1B ...": us.fingerprint()})
    return us, ru


def test_walk_identity_store_and_status(pair, tmp_path, monkeypatch):
    us, ru = pair
    monkeypatch.setenv("CBM_PASSPHRASE", "correct horse battery staple")
    new = tmp_path / "srv-cbm"
    run(us, "init", **{"/srv/cbm": str(new)})  # its own --store wins over the fixture's
    assert (new / "config.toml").exists()
    monkeypatch.delenv("CBM_PASSPHRASE")
    for path in ("keys show", "keys list", "store verify", "store rebuild", "status", "handover"):
        run(us, path)
    assert "records read per index: " in run(us, "store rebuild").stdout
    run(us, "keys export", 1)  # --format minisign
    Path("ci/keyring").mkdir(parents=True)
    run(us, "keys export", 2)  # RU's card history, for a CI keyring
    assert Path("ci/keyring/ru.cards").read_bytes()
    run(us, "keys rotate")
    run(us, "keys roster policy", 0)
    run(us, "keys roster policy", 1)
    run(us, "keys roster policy", 2)
    run(us, "keys revoke", 1)  # stop trusting RU's key
    run(us, "keys revoke", 0)  # ours: a new key, its card written
    assert Path("us-new.card").exists()


def test_walk_indicators_and_bundles(pair, tmp_path):
    us, ru = pair
    added = _json(run(us, "indicators add", 0, "--json"))["id"]
    run(us, "indicators add", 1)
    Path("feed.csv").write_text("type,value,tlp\nipv4-addr,198.51.100.8,GREEN\ndomain-name,c2.example.net,AMBER\n")
    run(us, "indicators import")
    Path("cards").mkdir()
    Path("cards/us.card").write_bytes(us.card())
    run(us, "bundle export", 0)
    run(ru, "bundle verify", **{"993E D843 ... DD76": us.fingerprint()})
    run(ru, "bundle inspect")
    run(ru, "bundle import", 0)
    run(us, "bundle export", 1)
    assert Path("outbox/us-to-ru.cbm").exists()
    run(ru, "bundle import", 1, **{"inbox/": "outbox/"})
    run(us, "bundle status")
    short = added.removeprefix("indicator--")[:8]
    for path, n in (("indicators list", 0), ("indicators list", 1), ("indicators list", 2), ("indicators search", 0),
                    ("indicators search", 1), ("indicators stats", 0), ("indicators stats", 1),
                    ("indicators recheck", 0), ("indicators export", 0), ("indicators export", 1)):
        run(ru, path, n)
    assert "203.0.113.5" in run(ru, "indicators search", 0).stdout
    run(ru, "indicators show", **{"1a2b3c4d": short})
    run(ru, "indicators sighting", **{"1a2b3c4d": short})  # a sighting goes back to the author
    run(us, "indicators revoke", **{"1a2b3c4d": short})  # only the author revokes


def test_walk_inquiry(pair, tmp_path):
    us, ru = pair
    Path("incident.md").write_text("Scans of SCADA from AS12345.\n")
    Path("answer.md").write_text("Source found and stopped.\n")
    ref = _json(run(us, "inquiry open", 0, "--json"))["number"]
    draft = _json(run(us, "inquiry open", 0, "--draft", "--json"))["number"]
    run(us, "inquiry send", **{"US-RU/2026/0007": draft})
    send(us, ru, tmp_path)
    run(ru, "inquiry ack", **{"US-RU/2026/0007": ref, "RU-US/2026/0031": "RU-US/2026/0001"})
    run(ru, "inquiry clarify", **{"US-RU/2026/0007": ref})
    run(ru, "inquiry reply", **{"US-RU/2026/0007": ref})
    send(ru, us, tmp_path)
    run(us, "inquiry list")
    run(us, "inquiry show", **{"US-RU/2026/0007": ref})
    run(us, "inquiry close", **{"US-RU/2026/0007": ref})
    run(us, "inquiry withdraw", **{"US-RU/2026/0007": draft})
    run(us, "inquiry export", **{"US-RU/2026/0007": ref})
    assert ref in Path("inquiry-0007.md").read_text()


def test_inquiry_list_with_a_filter_that_matches_none_does_not_say_none_are_open(pair):
    us, _ = pair
    Path("incident.md").write_text("Scans.\n")
    run(us, "inquiry open")
    shown = run(us, "inquiry list").stdout  # --overdue: this one is not overdue
    assert shown.strip() == "no inquiries match (use --all to include closed ones)"
    assert us.cli("inquiry", "list").stdout.startswith("ref ")


def test_walk_hotline(pair, tmp_path):
    us, ru = pair
    message = _json(run(us, "hotline send", 0, "--json"))["id"][:12]
    run(us, "hotline test")
    Path("call.md").write_text("Both sides agreed to keep the line open.\n")
    call = _json(run(us, "hotline call", 0, "--json"))["id"][:12]
    send(us, ru, tmp_path)
    run(ru, "hotline inbox")
    assert "Call me on the secure line now." in run(ru, "hotline read", **{"3f2a9c1b0d4e": message}).stdout
    run(ru, "hotline translate", **{"3f2a9c1b0d4e": message})
    run(ru, "hotline confirm", **{"7be21f04c9aa": call})
    send(ru, us, tmp_path)
    run(us, "hotline calls")
    run(us, "hotline status")
    run(us, "hotline transcript")
    run(ru, "hotline check-export")  # the other side checks what we exported


def test_walk_whitepaper(pair, tmp_path):
    us, ru = pair
    Path("s.pdf").write_bytes(b"%PDF-1.4\n% strategy, version 1\n")
    Path("strategy-en.pdf").write_bytes(b"%PDF-1.4\n% strategy, English\n")
    doc = run(ru, "whitepaper publish").stdout.strip()[:6]
    run(ru, "whitepaper translate", **{"3fa9c2": doc, "strategy-en.pdf": "strategy-en.pdf"})
    Path("s2.pdf").write_bytes(b"%PDF-1.4\n% strategy, version 2\n")
    assert ru.cli("whitepaper", "publish", "s2.pdf", "--supersedes", doc).exit_code == 0
    send(ru, us, tmp_path)
    run(us, "whitepaper list")
    run(us, "whitepaper show", **{"3fa9c2": doc})
    run(us, "whitepaper get", **{"3fa9c2": doc})
    assert Path("strategy-v1.pdf").read_bytes() == Path("s.pdf").read_bytes()
    run(us, "whitepaper diff", **{"3fa9c2": doc})
    run(ru, "whitepaper withdraw", **{"3fa9c2": doc})


def test_walk_workgroup(pair, tmp_path):
    us, ru = pair
    Path("agenda.md").write_text("1. Opening\n")
    Path("minutes.md").write_text("The group met.\n")
    Path("proposal.md").write_text("# Template\n")
    Path("proposal-v2.md").write_text("# Template, 24h deadline\n")
    run(us, "workgroup members")
    with at("2026-12-01T00:00:00Z"):
        meeting = _json(run(us, "workgroup meeting new", 0, "--json"))["meeting"]["id"][:6]
        run(us, "workgroup meeting list")
        run(us, "workgroup meeting attend", **{"3fa9c2": meeting})
        run(us, "workgroup action add")
        proposal = _json(run(us, "workgroup proposal new", 0, "--json"))["id"][:6]
        withdrawn = _json(run(us, "workgroup proposal new", 0, "--json"))["id"][:6]
        run(us, "workgroup proposal withdraw", **{"3fa9c2": withdrawn})
        rejected = _json(run(us, "workgroup proposal new", 0, "--json", "--draft"))["id"][:6]
        run(us, "workgroup proposal submit", **{"3fa9c2": rejected})
        run(us, "workgroup proposal show", **{"3fa9c2": proposal})
        run(us, "workgroup proposal sign", **{"3fa9c2": proposal})
    with at("2026-12-11T00:00:00Z"):  # after the meeting: minutes
        run(us, "workgroup meeting show", **{"3fa9c2": meeting})
        run(us, "workgroup minutes", 0, **{"3fa9c2": meeting})
        run(us, "workgroup minutes", 1, **{"3fa9c2": meeting})
        send(us, ru, tmp_path)
        run(ru, "workgroup minutes", 1, **{"3fa9c2": meeting})
        run(ru, "workgroup proposal object", **{"3fa9c2": proposal})
        run(ru, "workgroup proposal reject", **{"3fa9c2": rejected})
        action = _json(ru.cli("workgroup", "action", "list", "--json"))["actions"][0]["id"][:6]
        run(ru, "workgroup action done", **{"9c1b2a": action})
        run(ru, "workgroup action list")
        send(ru, us, tmp_path)
        run(us, "workgroup proposal revise", **{"3fa9c2": proposal})
        run(us, "workgroup proposal list")
        run(us, "workgroup report")
    assert "Working group report" in Path("report.md").read_text()


def test_walk_taxii_configuration(pair):
    us, _ = pair
    Path("pw.txt").write_text("secret\n")
    Path("opencti.pw").write_text("correct horse\n")
    Path("ca.pem").write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    run(us, "taxii add")
    run(us, "taxii list")
    assert _json(run(us, "taxii show"))["collection"] == "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
    run(us, "taxii remove")
    run(us, "taxii user add")
    run(us, "taxii user remove")


def test_taxii_list_fits_80_columns_on_a_terminal(pair):
    us, _ = pair
    Path("pw.txt").write_text("secret\n")
    Path("ca.pem").write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
    run(us, "taxii add")
    shown = on_terminal(us, "taxii", "list")
    assert shown.splitlines()[0].split() == ["name", "url", "collection", "auth"]
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert "91a7b528-80eb-42ed-a74d-c6fbd5a26116  password-file" in shown  # ids and words whole
