"""``cbm``: the Typer app — the root command, its global options and its lazily loaded subcommands.

This is the one definition of the command line. ``cbm.cli.main`` runs it for every invocation but the few read-only
shapes the fast path knows (``cbm.cli.fast``, docs/adr/0246-a-fast-path-without-typer.md); the errors of both
become messages and exit codes in one place, ``cbm.cli.failures``."""

# No ``from __future__ import annotations`` here or in cli/status.py: Typer reads the options from the
# annotations, and string annotations cost a compile() each at every start (about 3 % of `cbm --help`).
import gc

# Start-up makes tens of thousands of objects (modules, classes, functions) that live as long as the process; the
# cyclic collector would walk them again and again while they load (a tenth of `cbm --help`). It pauses until this
# module has loaded, then they are frozen out of every later collection (the end of this module).
_COLLECTING = gc.isenabled()
gc.disable()

import copy  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterator, Mapping  # noqa: E402
from functools import partial  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import typer  # noqa: E402
from typer._click.exceptions import ClickException, NoArgsIsHelpError, NoSuchOption  # noqa: E402
from typer.core import TyperGroup  # noqa: E402
from typer.exceptions import Abort  # noqa: E402

from cbm import __version__  # noqa: E402
from cbm.cli.context import state  # noqa: E402
from cbm.cli.failures import echo_error, exit_code_for  # noqa: E402
from cbm.cli.reflow import reflow, reflow_tree  # noqa: E402
from cbm.core.errors import CbmError  # noqa: E402
from cbm.core.stdio import ReaderGone, guarded_stdio  # noqa: E402
from cbm.measures.registry import MEASURES  # noqa: E402

# Subcommands load on first use, so `cbm --help` and `cbm status` do not import every measure (and stix2).
# name -> (module under cbm.cli, one-line help shown by `cbm --help`); the measures' come from the registry,
# which names them as strings and imports no measure.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Create a new store with fresh keys for one party."),
    "status": ("status", "Who we are, peers, record counts, and what needs attention."),
    "handover": ("handover", "Hand the watch over: what changed since the last handover, signed locally."),
    "keys": ("keys", "Party cards and keys: show, export, import, list, rotate, revoke."),
    "store": ("store", "The local store: verify every signature and chain; rebuild."),
    "bundle": ("bundle", "Signed bundles: export for a peer, import, verify, inspect."),
    **{measure.name: (measure.cli, measure.help) for measure in MEASURES},
    "taxii": ("taxii", "TAXII 2.1: sources to pull from and push to; a read-only TAXII server."),
}


def _load(name: str) -> Any:
    # as while this module loaded (its top): the collector pauses while the subcommand's modules load, and what
    # they made is frozen out of later collections
    paused = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(f"cbm.cli.{SUBCOMMANDS[name][0]}")
        command = _command(module.app)
        reflow_tree(command)
    finally:
        gc.freeze()
        if paused:
            gc.enable()
    command.name = name
    # shell completion is offered (or not) by the root alone
    command.params = [p for p in command.params if p.name not in ("install_completion", "show_completion")]
    if _COMPLETING[0]:  # completers matter only while a shell asks; `cbm --help` never loads them
        from cbm.cli.complete import attach

        attach(command, name)
    return command


_COMPLETING = [False]


def _command(app: typer.Typer) -> Any:
    """The click command Typer makes of a subcommand module's ``app`` (``typer.main.get_command``), except that a
    group makes each of its commands on first use: ``cbm indicators search`` reads the parameters of ``search``
    alone, where Typer would evaluate the annotations of every indicators command (a third of the search)."""
    is_group = (app.registered_callback or app.info.callback or app.registered_groups
                or len(app.registered_commands) > 1)
    if not is_group:
        return typer.main.get_command(app)
    options: dict[str, Any] = {"pretty_exceptions_short": app.pretty_exceptions_short,
                               "rich_markup_mode": app.rich_markup_mode}
    makers: dict[str, Callable[[], Any]] = {}
    for info in app.registered_commands:  # Typer's own order and naming (get_group_from_info)
        assert info.callback is not None
        name = info.name or typer.main.get_command_name(info.callback.__name__)
        makers[name] = partial(_reflowed, partial(typer.main.get_command_from_info, info, **options))
    for group_info in app.registered_groups:
        group_name = typer.main.solve_typer_info_defaults(group_info).name
        if not group_name:  # a nameless sub-app merges its commands into this group: only Typer knows them
            return typer.main.get_command(app)
        makers[group_name] = partial(_reflowed, partial(typer.main.get_group_from_info, group_info, **options,
                                                        suggest_commands=app.suggest_commands))
    bare = copy.copy(app)  # the group itself (callback, help, options) without its commands
    bare.registered_commands, bare.registered_groups = [], []
    group = typer.main.get_group(bare)
    group.commands = LazyCommands(group.commands, makers)
    return group


def _reflowed(make: Callable[[], Any]) -> Any:
    """The command ``make`` makes, its help paragraphs reflowed (:mod:`cbm.cli.reflow`)."""
    command = make()
    reflow_tree(command)
    return command


class LazyCommands(dict[str, Any]):
    """A group's command table: every name is known up front, in order; a command is made on first use."""

    def __init__(self, eager: Mapping[str, Any], makers: Mapping[str, Callable[[], Any]]) -> None:
        super().__init__(eager)
        self._makers = dict(makers)
        for name in makers:
            super().setdefault(name, None)

    def __getitem__(self, name: str) -> Any:
        value = super().__getitem__(name)
        if value is None:
            value = self._makers[name]()
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        return (self[name] for name in self)

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        return ((name, self[name]) for name in self)


class CbmGroup(TyperGroup):
    """The root command: lazy subcommands, and the handler that turns every CbmError raised below into a
    one-line message on stderr and its exit code (``cbm.cli.failures``, shared with the fast path)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.commands, {name: partial(_load, name) for name in SUBCOMMANDS})

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, text) for name, (_, text) in SUBCOMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: Any) -> Any:
        from cbm.cli.output import say_held_notes

        try:
            done = super().invoke(ctx)
        except (Exception, KeyboardInterrupt) as e:
            say_held_notes(succeeded=isinstance(e, typer.Exit) and e.exit_code == 0)
            code = exit_code_for(e)
            if code is None:
                raise
            raise typer.Exit(code) from None
        say_held_notes(succeeded=True)
        return done

    def _main_shell_completion(self, ctx_args: Any, prog_name: str, complete_var: str | None = None) -> None:
        """Answer the shell's completion protocol (``_CBM_COMPLETE=bash_source`` or Typer's ``source_bash``)."""
        import os

        var = complete_var or "_CBM_COMPLETE"
        if not os.environ.get(var):
            return
        from typer.completion import completion_init, shell_complete

        from cbm.cli.complete import normalised_instruction

        _COMPLETING[0] = True
        completion_init()
        sys.exit(shell_complete(self, ctx_args, "cbm", var, normalised_instruction(os.environ[var])))

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,  # type: ignore[override]
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Usage errors from argument parsing follow the error contract too: one ``cbm: error:`` line, exit 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        # What click, Typer and Rich write themselves (help, --version, usage, completion scripts) goes through the
        # guard too: a full or closed stdout is one error line and exit 2, a reader gone is exit 0, as for ours
        with guarded_stdio():
            self._standalone(args, prog_name, complete_var, **extra)

    def _hint_for(self, error: ClickException, command: str) -> str:
        """What to do about a usage error: an option of cbm itself (``-q``, ``--store``...) given after a command
        that has no such option belongs before the command; anything else, the command's help."""
        option = getattr(error, "option_name", None)
        own = {name: param for param in self.params for name in getattr(param, "opts", [])}
        if isinstance(error, NoSuchOption) and command != "cbm" and option in own:
            param = own[option]
            value = "" if getattr(param, "is_flag", False) else f" {param.metavar or (param.name or 'value').upper()}"
            return f"{option} is an option of cbm itself: put it before the command (`cbm {option}{value} " \
                   f"{command.removeprefix('cbm ')} ...`)"
        ctx = getattr(error, "ctx", None)
        if ctx is not None and error.format_message().startswith("Got unexpected extra argument"):
            return extra_argument_hint(ctx.command, command, error.format_message(), ctx.params)
        if ctx is not None and error.format_message().startswith("No such command") and \
                "Did you mean" not in error.format_message():
            return unknown_command_hint(ctx, command, error.format_message())
        return f"see `{command} --help`"

    def _standalone(self, args: Any, prog_name: Any, complete_var: Any, **extra: Any) -> None:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (CbmError, ReaderGone) as e:  # raised by a write outside invoke: the root's help, --version...
            code = exit_code_for(e)
            assert code is not None
            sys.exit(code)
        except NoArgsIsHelpError as e:
            e.show()
            sys.exit(e.exit_code)
        except ClickException as e:
            from cbm.cli.output import literal

            ctx = getattr(e, "ctx", None)
            command = " ".join(["cbm", *ctx.command_path.split()[1:]]) if ctx is not None else "cbm"
            echo_error(f"cbm: error: {literal(e.format_message())}")
            echo_error(f"  hint: {self._hint_for(e, command)}")
            sys.exit(e.exit_code)
        except Abort:
            echo_error("cbm: aborted")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


#: Words a user may try for a command a group names otherwise, with the commands that do it, likeliest first
#: (`cbm hotline list` -> inbox; `cbm workgroup meeting convene` -> new; `cbm whitepaper add` -> publish).
_LIKELY: dict[str, tuple[str, ...]] = {
    word: commands
    for words, commands in ((("list", "ls", "messages", "received"), ("list", "inbox", "calls", "status")),
                            (("new", "create", "convene", "add", "start"), ("new", "open", "add", "publish", "send")),
                            (("show", "view", "get", "cat", "display"), ("show", "read", "get")),
                            (("delete", "remove", "rm", "cancel"), ("revoke", "withdraw")))
    for word in words}


def unknown_command_hint(ctx: Any, command: str, message: str) -> str:
    """For ``cbm GROUP WORD`` where GROUP has no command WORD (and click found no close spelling): the group's
    command that does what WORD usually means, if it has one, and its commands."""
    import re

    found = re.search(r"No such command '(.*)'", message)
    word = found.group(1).lower() if found else ""
    names = [name for name in ctx.command.list_commands(ctx)
             if not getattr(ctx.command.get_command(ctx, name), "hidden", False)]
    likely = next((name for name in _LIKELY.get(word, ()) if name in names and name != word), None)
    guess = f"did you mean `{command} {likely}`? " if likely else ""
    return f"{guess}`{command}` has: {', '.join(names)} (see `{command} --help`)"


def extra_argument_hint(cmd: Any, command: str, message: str, given: dict[str, Any] | None = None) -> str:
    """What ``command`` wants instead of the extra arguments ``message`` names: the arguments it takes, and a line
    that works: the value given with ``--value`` where the command has one (``cbm indicators add 1.2.3.4``), the
    words given as ``--body`` where it has that (``cbm inquiry reply REF please confirm``), its own arguments as
    given (``given``: the parsed parameters); else the shortest example of its help."""
    import re
    import shlex

    from cbm.cli.output import one_line

    found = re.search(r"extra argument(?:\(s\)|s)? \((.*)\)$", message)
    extra = shlex.split(found.group(1)) if found else []
    arguments = [p for p in cmd.params if p.param_type_name == "argument"]
    names = [p.human_readable_name.upper() for p in arguments]
    takes = f"takes {' '.join(names)} and options" if names else "takes options only, no argument"
    options = {o for p in cmd.params if p.param_type_name == "option" for o in p.opts}
    as_given = [given.get(p.name) for p in arguments] if given is not None else [None] * len(arguments)
    if len(extra) == 1 and not names and "--value" in options:
        takes = "takes its value as an option"
        example = f"{command} --value {shlex.quote(one_line(extra[0]))}"
    elif extra and arguments and "--body" in options and all(type(v) is str for v in as_given):  # a reply's text
        example = " ".join([command, *(shlex.quote(one_line(v)) for v in as_given), "--body",
                            shlex.quote(one_line(" ".join(extra)))])
    else:
        # the first example, its continuation lines (ending in a backslash) joined into one line
        joined = re.sub(r"\\\n\s*", "", cmd.help or "")
        examples = re.findall(r"^\s*Example:\s+(cbm [^\n]*)$", joined, re.M)
        example = min((" ".join(e.split()) for e in examples), key=len, default="")  # the shortest fits a line
    return f"`{command}` {takes}" + (f": e.g. `{example}`" if example else "") + f" (see `{command} --help`)"


HELP = """Confidence-building measures for ICT: a signed store, exchanged as signed bundles.

Covers the five measures of the 2013 US-Russia agreement: threat indicators between CERTs, formal
inquiries over the risk-reduction link, the crisis hotline, white papers, and the working group.

Example (a new party, then trust a peer):

  cbm init --party US --name "US-CERT"

  cbm keys export -o us.card

  cbm keys import ru.card --fingerprint "3F2A 9C1B ..."

Exit codes: 0 ok, 1 verification failed, 2 usage, 3 untrusted signer, 4 input rejected,
5 not found, 6 store error, 7 network error, 8 needs attention (status --check).
"""

app = typer.Typer(cls=CbmGroup, help=reflow(HELP), no_args_is_help=True, add_completion=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cbm {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    store_dir: Annotated[str | None, typer.Option("--store", metavar="DIR", envvar="CBM_STORE",
                                                  help="Store directory (else $CBM_STORE, ./.cbm, user data dir).")]
    = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON document on stdout, for scripts.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No status lines (errors still shown).")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Tables show every value whole, however wide.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show tracebacks for errors.")] = False,
    passphrase_file: Annotated[str | None, typer.Option("--passphrase-file", metavar="FILE",
                                                        help="Read the key passphrase from FILE.")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    state.reset()
    state.store, state.json, state.quiet, state.verbose, state.wide = store_dir, json_out, quiet, verbose, wide
    state.passphrase_file = passphrase_file


def help_text() -> str:
    """Exactly what ``cbm --help`` prints where click wraps its help at 78 columns: on a terminal at least 80
    columns wide, or into a pipe or a file with ``$COLUMNS`` unset or at least 80. The fast path prints a copy
    of it kept in ``cbm/cli/root_help.py`` (``make root-help`` writes it; a test fails when it is stale)."""
    command = typer.main.get_command(app)
    ctx = command.context_class(command, info_name="cbm", terminal_width=78, **command.context_settings)
    return command.get_help(ctx) + "\n"


def write_help() -> None:
    """Write :func:`help_text` as the module the fast path prints it from, cbm/cli/root_help.py
    (``make root-help``)."""
    from pathlib import Path

    path = Path(__file__).with_name("root_help.py")
    body = "".join(f"    {line!r}\n" for line in help_text().splitlines(keepends=True))
    with open(path, "w", encoding="utf-8") as out:
        out.write('"""What `cbm --help` prints at 78 columns, for the fast path (cbm/cli/fast.py).\n\n'
                  'Written by `make root-help` from the Typer app (cbm/cli/root.py): do not edit by hand; '
                  'tests/cli/test_fast_path.py\nfails when it is stale."""\n\n'
                  f"TEXT = (\n{body})\n")


gc.freeze()
if _COLLECTING:
    gc.enable()
