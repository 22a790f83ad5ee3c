"""Standard input and output as cbm uses them: ``-`` for a file name, or a message piped in; a command's result.
cbm may be started with either closed (``cbm ... <&-``, ``>&-``, some schedulers): Python then has no
``sys.stdin`` or ``sys.stdout`` at all. And standard output may refuse what is written (a full disk)."""

from __future__ import annotations

import sys

from cbm.core.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the root help loads this module)
if TYPE_CHECKING:
    from typing import Any, BinaryIO


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
    """Write ``text`` to standard output, as guarded by :func:`guarded_stdio` for the whole run (both the fast
    path and the Typer app): a full disk or a closed stdout is a UsageError (exit 2), a broken pipe
    :class:`ReaderGone` (exit 0). Empty text writes nothing, so a command with nothing to say runs with its
    standard output closed."""
    if text:
        sys.stdout.write(text)


class ReaderGone(Exception):
    """Standard output is a pipe whose reader has gone (``cbm ... | head``): the result is not wanted any more.
    Not an OSError, so neither Rich (which exits 1 on a BrokenPipeError) nor click (likewise) turns it into an
    exit code of their own: cbm's handler ends the process with 0 (``cbm.cli.failures``,
    docs/adr/0262-every-output-path-guarded.md)."""


class _Guarded:
    """A stream standing in for standard output (its text side, or its ``buffer``) for a whole run of cbm: what
    cbm writes, and what click, Typer and Rich write themselves (help, ``--version``, usage, completion scripts),
    meets the same rules. A write or flush that standard output refuses (a full disk, an I/O error) is
    the UsageError of :func:`write_out`; a broken pipe is :class:`ReaderGone`. The first refusal stays: every
    later write or flush raises it again (click probes a stream with writes whose errors it ignores, and the
    dropped output must not pass for written). Everything else is the stream's own."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._buffer: _Guarded | None = None
        self._refusal: OSError | None = None

    def write(self, data: Any) -> int:
        if self._refusal is not None:
            raise _failure(self._refusal)
        try:
            return int(self._stream.write(data))
        except OSError as e:
            self._refusal = e
            raise _failure(e) from e

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._refusal is not None:
            raise _failure(self._refusal)
        try:
            self._stream.flush()
        except OSError as e:
            self._refusal = e
            raise _failure(e) from e

    @property
    def buffer(self) -> Any:
        if self._buffer is None:
            self._buffer = _Guarded(self._stream.buffer)  # ClosedOutput's raises its UsageError here
        return self._buffer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Unheard:
    """A stream standing in for standard error for a whole run of cbm: what it refuses (a full disk, a closed
    descriptor) is dropped, for there is nowhere left to tell anyone, and the command goes on to end with the
    exit code it would have had, which still tells (docs/adr/0276-standard-error-full-or-closed.md). Standard
    error closed when cbm started (Python then has no ``sys.stderr``) drops everything the same way."""

    encoding = "utf-8"

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: Any) -> int:
        if self._stream is not None:
            try:
                return int(self._stream.write(text))
            except (OSError, ValueError):
                self._drop()
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._drop()

    def isatty(self) -> bool:
        return self._stream is not None and bool(self._stream.isatty())

    def _drop(self) -> None:
        """From now on nothing is written, and the descriptor is the null device: what Python still holds
        buffered is dropped at exit without a second failure (which would change the exit code)."""
        stream, self._stream = self._stream, None
        try:
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def fileno(self) -> int:
        if self._stream is None:
            import io

            raise io.UnsupportedOperation("standard error is closed or refused: no descriptor")
        return int(self._stream.fileno())

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:  # buffer, errors...: what a dropped stream no longer has
            raise AttributeError(name)
        return getattr(self._stream, name)


class guarded_stdio:  # noqa: N801  (used as a function: ``with guarded_stdio():``)
    """Standard output guarded (see :class:`_Guarded`) and standard error made unrefusing (see :class:`_Unheard`)
    while the ``with`` block runs, as they were after. (A class, not contextlib's decorator: the fast path loads
    this module and contextlib is not otherwise loaded.)"""

    def __enter__(self) -> None:
        self._original = sys.stdout, sys.stderr
        sys.stdout = _Guarded(ClosedOutput() if sys.stdout is None else sys.stdout)
        sys.stderr = _Unheard(sys.stderr)

    def __exit__(self, *exc: object) -> None:
        sys.stderr.flush()  # what is left, while a refusal is still dropped
        sys.stdout, sys.stderr = self._original


def reserve_standard_descriptors() -> None:
    """Point descriptors 0, 1 and 2 at the null device when cbm was started with any of them closed (``2>&-``).
    Else the first file cbm opens (an output file, a bundle) would get that number, and whatever writes to
    "standard error" below Python (a library's C code, a child process) would write into it. Python's own
    ``sys.stdin``/``sys.stdout``/``sys.stderr`` stay None, as Python decided at start: a result with nowhere to
    go is still the error of :class:`ClosedOutput`."""
    import os

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: fd itself (the lower ones are open by now)


def _failure(e: OSError) -> Exception:
    """What a refused write to standard output (``e``) is: :class:`ReaderGone` for a broken pipe, else the
    UsageError of :func:`_refused`. Either way the output still buffered is dropped (:func:`_to_null`)."""
    if isinstance(e, BrokenPipeError):
        _to_null()
        return ReaderGone()
    return _refused(e)


def _to_null() -> None:
    """Standard output now writes to the null device, so Python's own flush at exit does not fail a second time
    over the output still buffered."""
    try:
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _refused(e: OSError) -> UsageError:
    """The error for standard output refusing what was written (``e``); the output still buffered is dropped."""
    _to_null()
    return UsageError(f"cannot write to standard output: {e.strerror or e}", hint=_DONE_HINT)
