"""A progress bar on stderr, shown only on a terminal and never with -q or --json.

Determinate whenever the size of the work is known (issue 16): records with their rate, or bytes with the
transfer rate, and the time left. Rich loads only when a bar is really drawn.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any, BinaryIO

from cbm.cli.context import state


def shown() -> bool:
    """Whether a bar would be drawn: stderr is a terminal, and neither -q nor --json."""
    try:
        return sys.stderr.isatty() and not state.quiet and not state.json
    except (AttributeError, ValueError):
        return False


class Progress:
    def __init__(self, description: str, total: int | None = None, *, unit: str = "records") -> None:
        self.description = description
        self.total = total
        self.unit = unit  # "records" or "bytes"
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if shown():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                MofNCompleteColumn,
                ProgressColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.progress import Progress as RichProgress
            from rich.text import Text

            class RecordRate(ProgressColumn):
                def render(self, task: Any) -> Text:
                    return Text(f"{task.speed:,.0f}/s" if task.speed else "")

            counts = [DownloadColumn(), TransferSpeedColumn()] if self.unit == "bytes" else \
                [MofNCompleteColumn(), RecordRate()]
            self._bar = RichProgress("{task.description}", BarColumn(), *counts, TimeRemainingColumn(),
                                     console=Console(file=sys.stderr), transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def update(self, done: int, total: int | None = None) -> None:
        if self._bar is not None:
            if total is not None:
                self.total = total
            # an estimated total (records in a file) may prove short: never show more than 100 %
            if self.total is not None and done > self.total:
                self.total = done
            self._bar.update(self._task, completed=done, total=self.total)

    def reader(self, source: BinaryIO) -> BinaryIO:
        """``source``, counting the bytes read into this bar (``source`` itself when no bar is drawn)."""
        if self._bar is None:
            return source
        return io.BufferedReader(_Counting(source, self), buffer_size=1024 * 1024)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


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
