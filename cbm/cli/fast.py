"""The fast path: the few hottest read-only invocations, run without importing Typer.

``import typer`` costs more than everything else ``cbm --help`` does, and about half of ``cbm status``
(docs/adr/0246-a-fast-path-without-typer.md). :func:`recognise` knows EXACTLY these shapes of the command line:

- ``cbm``, ``cbm --help``, ``cbm -h`` (the root help, where click would wrap it at 78 columns) and
  ``cbm --version``;
- ``cbm [GLOBALS] status [--json] [--wide] [--check]``;
- ``cbm [GLOBALS] indicators search VALUE [--substring] [--limit N] [--origin CC]... [--asn AS]... [--json]
  [--wide]``;

where GLOBALS are the root's own options (``--store DIR``, ``--passphrase-file FILE``, each at most once, as
``--opt VALUE`` or ``--opt=VALUE``; ``--json``, ``-q``/``--quiet``, ``--wide``, ``-v``/``--verbose``) and
``$CBM_STORE`` stands in for ``--store`` as it does for the Typer app. Anything else — an unknown or repeated
option, a value that looks like an option or is empty, a limit that is not plain digits, ``--help`` after a
command, combined short flags, ``--``, shell completion, ``$CBM_NO_FAST_PATH`` set — is not recognised, and
``cbm.cli.main`` runs the Typer app (``cbm.cli.root``), which owns every usage message. The commands' bodies are
the same functions the Typer commands call; their failures are reported by the same handler
(``cbm.cli.failures``). tests/cli/test_fast_path.py runs both ways over a corpus of command lines and compares
stdout, stderr and exit codes.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cbm.cli.main)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

HELP_COLUMNS = 80  # click wraps help at min(terminal width, 80) - 2: the kept text is right from 80 columns up
USAGE = 2  # `cbm` alone prints the help on stderr and exits 2, as click's NoArgsIsHelpError does

_GLOBAL_FLAGS = {"--json": "json", "-q": "quiet", "--quiet": "quiet", "--wide": "wide", "-v": "verbose",
                 "--verbose": "verbose"}
_GLOBAL_VALUES = {"--store": "store", "--passphrase-file": "passphrase_file"}
_STATUS_FLAGS = {"--json": "json_flag", "--wide": "wide", "--check": "check"}
_SEARCH_FLAGS = {"--substring": "substring", "--json": "json_flag", "--wide": "wide"}
_SEARCH_VALUES = {"--limit": "limit", "--origin": "origins", "--asn": "asns"}
_REPEATABLE = ("origins", "asns")
_LIMIT_DIGITS = 18  # a limit SQLite takes as a 64-bit integer; longer ones go to the Typer app


class Invocation:
    """A recognised command line: which command, the root's global options, the command's own options."""

    __slots__ = ("command", "globals", "options")

    def __init__(self, command: str, globals_: dict[str, object] | None = None,
                 options: dict[str, object] | None = None) -> None:
        self.command = command  # "help", "usage", "version", "status" or "search"
        self.globals = globals_ or {}
        self.options = options or {}

    def __repr__(self) -> str:
        return f"Invocation({self.command!r}, {self.globals!r}, {self.options!r})"


def recognise(argv: Sequence[str], environ: Mapping[str, str] = os.environ,
              program: str | None = None) -> Invocation | None:
    """The invocation ``argv`` (``sys.argv``: the program, then its arguments) stands for, if it is exactly one
    of the shapes this module knows; None for anything else (the Typer app then runs it). ``program`` is the
    name click would show in the help's usage line (default: as click finds it, :func:`program_name`)."""
    if environ.get("CBM_NO_FAST_PATH") or "_CBM_COMPLETE" in environ:
        return None
    args = list(argv[1:])
    if args in ([], ["--help"], ["-h"]):
        if (program or program_name(argv)) != "cbm" or help_columns(environ) < HELP_COLUMNS:
            return None  # another program name or a narrower wrap: click says it
        return Invocation("help" if args else "usage")
    if args == ["--version"]:
        return Invocation("version")
    parsed = _options(args, _GLOBAL_FLAGS, _GLOBAL_VALUES, until_positional=True)
    if parsed is None:
        return None
    globals_, rest = parsed
    globals_.setdefault("store", environ.get("CBM_STORE") or None)  # click: an empty variable is no value
    if rest[:1] == ["status"]:
        status = _options(rest[1:], _STATUS_FLAGS, {})
        if status is None or status[1]:
            return None
        return Invocation("status", globals_, status[0])
    if rest[:2] == ["indicators", "search"]:
        search = _options(rest[2:], _SEARCH_FLAGS, _SEARCH_VALUES)
        if search is None or len(search[1]) != 1:
            return None
        options, (value,) = search
        limit = options.get("limit")
        if limit is not None:
            if not (isinstance(limit, str) and limit.isascii() and limit.isdigit() and len(limit) <= _LIMIT_DIGITS):
                return None  # "-1", "1_000", " 5", "x": the Typer app converts or refuses them
            options["limit"] = int(limit)
        return Invocation("search", globals_, {"value": value, **options})
    return None


def _options(args: Sequence[str], flags: Mapping[str, str], values: Mapping[str, str],
             until_positional: bool = False) -> tuple[dict[str, object], list[str]] | None:
    """Options (by their destination names) and positional arguments of ``args``; None when an argument is
    doubtful. With ``until_positional`` the parse stops at the first positional argument (the command name)."""
    options: dict[str, object] = {}
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            if until_positional:
                return options, list(args[i:])
            positional.append(arg)
            i += 1
            continue
        if arg in flags:
            options[flags[arg]] = True
            i += 1
            continue
        name, equals, value = arg.partition("=")
        if name not in values:
            return None  # unknown, "--", "-qv", "--json=yes", "--help" after a command...
        if not equals:
            if i + 1 == len(args):
                return None
            value = args[i + 1]
            i += 1
        i += 1
        if not value or value.startswith("-"):
            return None
        dest = values[name]
        if dest in _REPEATABLE:
            repeated = options.setdefault(dest, [])
            assert isinstance(repeated, list)
            repeated.append(value)
        elif dest in options:
            return None  # given twice: click keeps the last, but the Typer app says so better than a guess
        else:
            options[dest] = value
    return options, positional


def program_name(argv: Sequence[str]) -> str | None:
    """The program name click shows in the help's usage line: ``argv[0]``'s file name, or None when Python runs
    a module (``python -m ...``: click names it differently, so the kept help does not apply)."""
    main = sys.modules.get("__main__")
    return os.path.basename(argv[0]) if getattr(main, "__package__", None) in (None, "") else None


def help_columns(environ: Mapping[str, str] = os.environ) -> int:
    """The terminal width click's help formatter sees: ``shutil.get_terminal_size().columns`` ($COLUMNS, else
    stdout's terminal, else 80), without importing shutil."""
    try:
        columns = int(environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    try:
        lines = int(environ["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if columns <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        if columns <= 0:
            columns = size.columns or 80
    return columns


def run(invocation: Invocation) -> int:
    """Run a recognised invocation as the Typer app would, and return its exit code. Failures are reported
    by ``cbm.cli.failures`` (the error contract: ``cbm: error: ...`` lines and the error's exit code); a bug
    still raises."""
    from cbm.core.stdio import guarded_stdio  # as the Typer app's run is (cbm.cli.root.CbmGroup.main)

    with guarded_stdio():  # the failure is reported inside too: a full or closed stderr drops it, and no more
        try:
            done = _run(invocation)
            _held_notes(succeeded=done == 0)
            return done
        except (Exception, KeyboardInterrupt) as e:
            _held_notes(succeeded=False)
            from cbm.cli.failures import exit_code_for  # the error contract, shared with the Typer app

            code = exit_code_for(e)
            if code is None:
                raise
            return code


def _held_notes(succeeded: bool) -> None:
    """The status lines held back until the command's end (a short refold's: docs/adr/0301), said or dropped;
    nothing more is imported when there are none (``cbm --help``)."""
    context = sys.modules.get("cbm.cli.context")  # not loaded (`cbm --help`): nothing was held
    if context is not None and context.state.said_on_success:
        from cbm.cli.output import say_held_notes

        say_held_notes(succeeded)


def _run(invocation: Invocation) -> int:
    if invocation.command in ("help", "usage"):
        from cbm.cli.root_help import TEXT

        if invocation.command == "usage":
            sys.stderr.write(TEXT)
            sys.stderr.flush()
            return USAGE
        from cbm.core.stdio import write_out

        write_out(TEXT)
        sys.stdout.flush()
        return 0
    if invocation.command == "version":
        from cbm import __version__
        from cbm.core.stdio import write_out

        write_out(f"cbm {__version__}\n")
        sys.stdout.flush()
        return 0
    import gc

    # as cbm.cli.root loads a subcommand: no cyclic collection while the command's modules load, and what they
    # made frozen out of later collections (a tenth of the start-up)
    collecting = gc.isenabled()
    gc.disable()
    from cbm.cli.context import state

    try:
        body = _body(invocation.command)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    state.reset()
    for name, value in invocation.globals.items():
        setattr(state, name, value)
    return body(**invocation.options)


def _body(command: str) -> Callable[..., int]:
    """The Typer-free function that does ``command``: the one its Typer command calls too."""
    if command == "status":
        from cbm.cli.status_view import show_status

        return show_status
    from cbm.cli.indicators_search import show_search

    return show_search
