"""How a failure below the CLI becomes ``cbm: error: ...`` lines on stderr and an exit code.

One handler for the whole CLI: the Typer app's root group (``cbm.cli.root.CbmGroup.invoke``) and the fast path
(``cbm.cli.fast``) both call :func:`exit_code_for`, so a command says the same thing, with the same exit code,
whichever way it ran. This module imports nothing heavy (no Typer, no store): the fast path loads it at every
``cbm status`` (docs/adr/0246-a-fast-path-without-typer.md).
"""

from __future__ import annotations

import sys

from cbm.cli.context import state
from cbm.core.errors import CbmError
from cbm.core.stdio import ReaderGone

INTERRUPTED = 130  # the shell's code for a process stopped by SIGINT


def echo_error(line: str) -> None:
    """Write one line to stderr as ``typer.echo(line, err=True)`` does: ANSI styles removed when stderr is not
    a terminal, flushed at once. On a terminal, a line wider than it is folded at spaces (a `command` in
    backquotes kept whole), continued under its text; piped, it stays one line (scripts grep ``cbm: error:``)."""
    if not _isatty(sys.stderr):
        if "\x1b" in line:
            import re

            line = re.sub(r"\033\[[;?0-9]*[a-zA-Z]", "", line)  # click's strip_ansi
        sys.stderr.write(line + "\n")
    else:
        from cbm.cli.output import fold_to
        from cbm.cli.tables import stderr_width

        lead = len(line) - len(line.lstrip(" "))
        sys.stderr.write("".join(part + "\n" for part in fold_to(line, stderr_width(), indent=lead + 2)))
    sys.stderr.flush()


def report(error: CbmError) -> None:
    """``cbm: error: <what happened>`` and the error's hint lines on stderr (with the traceback first under
    ``--verbose``)."""
    if state.verbose:
        import traceback

        traceback.print_exc(file=sys.stderr)
    lines = error.diagnostics().splitlines()
    echo_error(f"cbm: error: {lines[0]}")
    for line in lines[1:]:
        echo_error(line)


def exit_code_for(failure: BaseException) -> int | None:
    """Report ``failure`` (raised while a command ran) the way the error contract says, and return the exit
    code the process must end with; None when it is not ours to report (a bug: the caller re-raises it).

    - a :class:`CbmError`: its message and hint, its own exit code;
    - Ctrl-C: ``cbm: interrupted``, 130;
    - stdout closed early (``cbm ... | head``): nothing, 0 (docs/adr/0262-every-output-path-guarded.md);
    - a damaged database, wherever it was first touched: the store error it stands for.
    """
    if isinstance(failure, CbmError):
        report(failure)
        return failure.exit_code
    if isinstance(failure, KeyboardInterrupt):
        echo_error("cbm: interrupted")
        return INTERRUPTED
    if isinstance(failure, (BrokenPipeError, ReaderGone)):
        return 0
    if not isinstance(failure, Exception):
        return None
    from cbm.store.connection import database_error  # a damaged database surfaces as sqlite3's own errors

    error = database_error(failure)
    if error is None:
        return None
    report(error)
    return error.exit_code


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
