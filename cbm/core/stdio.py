"""Standard input and output as cbm uses them: ``-`` for a file name, or a message piped in; a command's result.
cbm may be started with either closed (``cbm ... <&-``, ``>&-``, some schedulers): Python then has no
``sys.stdin`` or ``sys.stdout`` at all. And standard output may refuse what is written (a full disk)."""

from __future__ import annotations

import sys

from cbm.core.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the root help loads this module)
if TYPE_CHECKING:
    from typing import BinaryIO


def stdin() -> BinaryIO:
    """Standard input, as bytes. Raises UsageError when cbm was started with it closed."""
    if sys.stdin is None:
        raise UsageError("standard input is closed: there is nothing to read", hint="give a file name, or pipe the "
                                                                                   "input in")
    return sys.stdin.buffer


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal (False when it is closed)."""
    return sys.stdin is not None and sys.stdin.isatty()


class ClosedOutput:
    """Standard output when cbm was started with it closed (``cbm ... >&-``): Python then has no ``sys.stdout``.
    A command that writes its result gets a UsageError (exit 2) where it writes, instead of a traceback; a
    command that writes nothing to stdout runs as usual."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise _closed()

    @property
    def buffer(self) -> BinaryIO:
        raise _closed()

    def flush(self) -> None:
        """Nothing to flush (also at the interpreter's exit)."""

    def isatty(self) -> bool:
        return False


#: A command writes its result after its work: what it did (a record added, a bundle written) is done.
_DONE_HINT = "what the command did is done, only its output is lost; run it with standard output open"


def _closed() -> UsageError:
    return UsageError("standard output is closed: the result has nowhere to go", hint=_DONE_HINT)


def write_out(text: str) -> None:
    """Write ``text`` to standard output. Raises UsageError (exit 2) when standard output refuses it (``cbm status
    > /dev/full``: disk full, an I/O error). A broken pipe (``cbm ... | head``) stays a BrokenPipeError (exit 0)."""
    if not text:  # nothing to say (a command whose human output is all on stderr): a closed stdout is fine
        return
    try:
        sys.stdout.write(text)
    except BrokenPipeError:
        raise
    except OSError as e:
        raise _refused(e) from e


class GuardedStdout:
    """Standard output for a writer that takes a file (Rich's console): each write goes through
    :func:`write_out`, so a full disk or a closed stdout is a UsageError there too. Everything else is
    standard output's own (terminal or not, its encoding)."""

    def write(self, text: str) -> int:
        write_out(text)
        return len(text)

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _refused(e) from e

    def isatty(self) -> bool:
        return sys.stdout.isatty()

    def fileno(self) -> int:
        return sys.stdout.fileno()

    @property
    def encoding(self) -> str:
        return getattr(sys.stdout, "encoding", None) or "utf-8"


def _refused(e: OSError) -> UsageError:
    """The error for standard output refusing what was written (``e``). The output still buffered is dropped
    (standard output now writes to the null device), so Python's own flush at exit does not fail a second time."""
    try:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return UsageError(f"cannot write to standard output: {e.strerror or e}", hint=_DONE_HINT)
