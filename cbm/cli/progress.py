"""A progress bar on stderr, shown only on a terminal and never with -q or --json.

Determinate whenever the size of the work is known (issue 16): records with their rate, or bytes with the
transfer rate, and the time left. Rich loads only when a bar is really drawn.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from cbm.cli.context import state

REDRAW_SECONDS = 0.1  # at most ~10 redraws a second: a bar must cost next to nothing


def shown() -> bool:
    """Whether a bar would be drawn: stderr is a terminal, and neither -q nor --json."""
    try:
        return sys.stderr.isatty() and not state.quiet and not state.json
    except (AttributeError, ValueError):
        return False


class Progress:
    """A bar on stderr for one command; each stage of the work (reading, then landing ...) gets its own
    description, unit and total. Does nothing at all when :func:`shown` is false."""

    def __init__(self, description: str, total: int | None = None, *, unit: str = "records") -> None:
        self.description = description
        self.total = total
        self.unit = unit  # "records" or "bytes"
        self._bar: Any = None
        self._task: Any = None
        self._drawn = 0.0  # monotonic time of the last redraw request

    def __enter__(self) -> Progress:
        if shown():
            from rich.console import Console
            from rich.progress import BarColumn, TaskProgressColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            count, rate = _columns()
            self._bar = RichProgress("{task.description}", BarColumn(), TaskProgressColumn(), count(), rate(),
                                     TimeRemainingColumn(), console=Console(file=sys.stderr), transient=True,
                                     auto_refresh=False,  # redrawn by update() only: no thread waking 10 times a second
                                     speed_estimate_period=120)  # a batch may take a while on a loaded machine
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total, unit=self.unit)
        return self

    @property
    def drawn(self) -> bool:
        """Whether a bar is on the screen (pass callbacks that cost something only then)."""
        return self._bar is not None

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` units of ``total`` (or of the total given before). Redrawn at most 10 times a second, so a
        caller may report as often as it likes."""
        if self._bar is None:
            return
        if total is not None:
            self.total = total
        now = time.monotonic()
        if now - self._drawn < REDRAW_SECONDS and (self.total is None or done < self.total):
            return
        self._drawn = now
        # an estimated total (records in a file) may prove short: never show more than 100 %
        if self.total is not None and done > self.total:
            self.total = done
        self._bar.update(self._task, completed=done, total=self.total)
        self._bar.refresh()

    def stage(self, description: str, *, unit: str = "records") -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback for the next stage of the work: the bar starts again under
        ``description`` (counting ``unit``) the first time the callback is called."""

        def progress(done: int, total: int) -> None:
            if self._bar is not None and self.description != description:
                self.description, self.unit, self.total, self._drawn = description, unit, total, 0.0
                self._bar.reset(self._task, total=total, completed=0, description=description, unit=unit)
            self.update(done, total)

        return progress

    def say(self, message: str) -> None:
        """A status line above the bar (from any thread: Rich's console holds its lock while it prints)."""
        from rich.text import Text

        from cbm.cli.output import folded_for_stderr, literal

        if self._bar is not None and not state.quiet:
            for line in folded_for_stderr(literal(message)):
                self._bar.console.print(Text(line), soft_wrap=True)

    def reader(self, source: BinaryIO) -> BinaryIO:
        """``source``, counting the bytes read into this bar (``source`` itself when no bar is drawn)."""
        if self._bar is None:
            return source
        return io.BufferedReader(_Counting(source, self), buffer_size=1024 * 1024)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _count_text(done: float, total: float | None, unit: str) -> str:
    if unit == "bytes":
        from rich.filesize import decimal

        return decimal(int(done)) + ("" if total is None else f"/{decimal(int(total))}")
    return f"{int(done):,}" + ("" if total is None else f"/{int(total):,}") + f" {unit}"


def _columns() -> tuple[type, type]:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Count(ProgressColumn):
        """``3,000/10,000 records`` or ``12.3 MB/30.0 MB``."""

        def render(self, task: Any) -> Text:
            return Text(_count_text(task.completed, task.total, task.fields.get("unit", "records")))

    class Rate(ProgressColumn):
        """``12,345/s`` or ``4.2 MB/s``."""

        def render(self, task: Any) -> Text:
            if not task.speed:
                return Text("")
            if task.fields.get("unit") == "bytes":
                from rich.filesize import decimal

                return Text(f"{decimal(int(task.speed))}/s")
            return Text(f"{task.speed:,.0f}/s")

    return Count, Rate


class _Counting(io.RawIOBase):
    def __init__(self, source: BinaryIO, bar: Progress) -> None:
        self.source, self.bar, self.done = source, bar, 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self.source.read(len(target))
        n = len(data)
        target[:n] = data
        self.done += n
        self.bar.update(self.done)
        return n


def file_size(path: str) -> int | None:
    """The size of a regular file, or None (stdin, a pipe, a missing file)."""
    try:
        return os.stat(path).st_size if path != "-" and os.path.isfile(path) else None
    except OSError:
        return None


def estimated_lines(path: str, sample: int = 256 * 1024) -> int | None:
    """About how many lines a text file holds, from its size and its first ``sample`` bytes."""
    size = file_size(path)
    if not size:
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(sample)
    except OSError:
        return None
    lines = head.count(b"\n")
    if len(head) >= size or not lines:
        return max(lines, 1)
    return max(1, round(size * lines / len(head)))


#: A refold still running after this many seconds says so while it runs; a shorter one once the command is done
NOTICE_AFTER_SECONDS = 2.0


@contextmanager
def refolding(names: tuple[str, ...]) -> Iterator[Callable[[int, int], None] | None]:
    """Around the store's records folded again into indexes an older (or newer) cbm built: once after an upgrade,
    about a minute for a million indicators. A refold still running after two seconds says so (a status line,
    hidden by -q), so the first command does not seem to hang, with a bar over the records (on a terminal).
    A shorter one is said once the command has succeeded, and not at all when it refuses: a refusal comes first
    and alone (docs/adr/0301)."""
    import threading

    from cbm.cli.output import note, note_on_success

    which = ", ".join(names)
    lock = threading.Lock()
    said = [False]
    with Progress("rebuilding indexes") as bar:

        def say() -> None:
            with lock:
                if said[0]:
                    return
                said[0] = True
            message = (f"this version of cbm rebuilds the store's {which} index from its records, once "
                       "(a store of a million indicators takes about a minute)")
            if bar.drawn:
                bar.say(message)
            else:
                note(message)

        timer = threading.Timer(NOTICE_AFTER_SECONDS, say)
        timer.daemon = True
        timer.start()
        try:
            yield bar.update if bar.drawn else None
        finally:
            timer.cancel()
    with lock:
        if said[0]:
            return
        said[0] = True
    note_on_success(f"this version of cbm rebuilt the store's {which} index from its records, once")
