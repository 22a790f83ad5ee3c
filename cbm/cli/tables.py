"""Tables for people: whole values when piped, the terminal's width when not, never a word or an id broken.

Rules (docs/adr/0150-tables-and-widths.md):
- stdout is not a terminal, or ``--wide``: every value in full, columns as wide as their widest cell;
- on a terminal: the table takes the terminal's width (``$COLUMNS`` if set); when it does not fit, only the
  columns marked ``cut`` (free text, indicator values, names) give up width, each cell cut in the middle with
  "…" so both ends stay readable; ids, codes, counts and times are never cut or wrapped;
- cells are peer text: shown literally on one line (control characters, line breaks included, escaped;
  never markup).

This module imports nothing heavy (no Rich): ``cbm status`` renders through it and must start fast.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from cbm.cli.context import state
from cbm.cli.output import one_line
from cbm.core.stdio import write_out

GAP = "  "
ELLIPSIS = "…"
_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "bold red": "1;31"}


class Styled(NamedTuple):
    """A cell with a style (shown only on a colour terminal): ``Styled("revoked", "red")``."""

    text: object
    style: str | None = None


Cell = object  # a value (shown with str()), None (empty) or a Styled


# Column and Table are plain classes, not dataclasses: every table command (status, search, list) imports this
# module, and making a dataclass costs about a millisecond of start-up each (issue 20).
class Column(NamedTuple):
    """One column of a :class:`Table`: its header and how it may give up width."""

    header: str
    cut: bool = False  # may lose width on a terminal (free text, values); everything else is never cut
    min_width: int = 8  # a cut column keeps at least this much (or its header, if longer)
    right: bool = False  # numbers
    optional: bool = False  # left out whole on a terminal too narrow for it (after cutting); --wide shows it


def display_width(text: str) -> int:
    """Terminal cells ``text`` takes (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def cut_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: whole if it fits, else its start and end around "…"."""
    if display_width(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    keep = width - 1
    head, tail = _take(text, (keep + 1) // 2), _take(text[::-1], keep // 2)[::-1]
    return head + ELLIPSIS + tail


def _take(text: str, width: int) -> str:
    taken, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width:
            break
        taken.append(ch)
        used += w
    return "".join(taken)


def terminal_width(wide: bool = False) -> int | None:
    """The width tables must fit on stdout, or None for "no limit" (piped, redirected, or ``--wide``)."""
    if wide or state.wide or not _is_terminal():
        return None
    import shutil  # only on a terminal: piped, `cbm status` and `cbm indicators search` do without it

    return shutil.get_terminal_size().columns  # $COLUMNS first, then the terminal's own size


def stderr_width() -> int | None:
    """The width status lines and errors must fit on stderr, or None when it is no terminal (or ``--wide``)."""
    if state.wide or not _isatty(sys.stderr):
        return None
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or shutil.get_terminal_size().columns
    except (OSError, ValueError, AttributeError):
        return shutil.get_terminal_size().columns


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def _is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _colour() -> bool:
    return _is_terminal() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


class Table:
    """Rows of cells under ``columns``, drawn by :meth:`lines`."""

    __slots__ = ("columns", "rows")

    def __init__(self, columns: Sequence[Column], rows: list[list[Cell]] | None = None) -> None:
        self.columns = columns
        self.rows: list[list[Cell]] = [] if rows is None else rows

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(list(cells))

    def lines(self, width: int | None) -> Iterator[str]:
        """The table as lines (no trailing spaces), fitted to ``width`` (None: no limit)."""
        texts = [[_text(c) for c in row] for row in self.rows]
        sizes = [[display_width(t) for t in row] for row in texts]
        shown = list(range(len(self.columns)))
        widths = fit(self.columns, sizes, width)
        # still too wide: leave out optional columns, the last first, rather than break a word or an id
        while width is not None and _total(widths) > width and any(self.columns[i].optional for i in shown):
            shown.remove(max(i for i in shown if self.columns[i].optional))
            widths = fit([self.columns[i] for i in shown], [[row[i] for i in shown] for row in sizes], width)
        columns = [self.columns[i] for i in shown]
        colour = _colour()
        yield _line([c.header for c in columns], widths, columns)
        for row, cells in zip(texts, self.rows, strict=True):
            styles = [_style(cells[i]) if colour else None for i in shown]
            yield _line([row[i] for i in shown], widths, columns, styles)

    def write(self, *, wide: bool = False) -> None:
        """Print to stdout at the terminal's width (no limit when piped or ``wide``)."""
        write_out("".join(line + "\n" for line in self.lines(terminal_width(wide))))


def _style(value: Cell) -> str | None:
    return value.style if isinstance(value, Styled) else None


def _text(value: Cell) -> str:
    if isinstance(value, Styled):
        value = value.text
    return "" if value is None else one_line(value)


def fit(columns: Sequence[Column], cell_widths: Iterable[Sequence[int]], width: int | None) -> list[int]:
    """Column widths: each as wide as its widest cell; then, if ``width`` is given and the table is wider,
    the ``cut`` columns shrink (widest first, never below their minimum) until it fits or none can give."""
    widths = [display_width(c.header) for c in columns]
    for row in cell_widths:
        widths = [max(a, b) for a, b in zip(widths, row, strict=True)]
    if width is None:
        return widths
    floor = [max(c.min_width, display_width(c.header)) if c.cut else w for c, w in zip(columns, widths, strict=True)]
    excess = _total(widths) - width
    while excess > 0:
        shrinkable = [i for i, w in enumerate(widths) if w > floor[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        others = [widths[i] for i in shrinkable if i != widest]
        step = min(excess, widths[widest] - floor[widest], max(1, widths[widest] - max(others, default=0)))
        widths[widest] -= step
        excess -= step
    return widths


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + len(GAP) * (len(widths) - 1)


def _line(cells: Sequence[str], widths: Sequence[int], columns: Sequence[Column],
          styles: Sequence[str | None] | None = None) -> str:
    parts = []
    last = len(cells) - 1
    for i, (text, w, column) in enumerate(zip(cells, widths, columns, strict=True)):
        shown = cut_middle(text, w) if column.cut else text
        pad = " " * max(0, w - display_width(shown))
        if i == last and not column.right:
            pad = ""
        style = styles[i] if styles else None
        if style in _ANSI:
            shown = f"\x1b[{_ANSI[style]}m{shown}\x1b[0m"
        parts.append(pad + shown if column.right else shown + pad)
    return GAP.join(parts).rstrip()


def stream(columns: Sequence[Column], fixed: Sequence[int], rows: Iterable[Sequence[Cell]],
           width: int | None) -> Iterator[str]:
    """A table too long to hold (a million indicators): every column but the last has a fixed width, the
    last (the one ``cut`` column) takes what the terminal leaves, or is whole when there is no limit."""
    room = None if width is None else max(columns[-1].min_width,
                                          width - sum(fixed) - len(GAP) * (len(fixed)))
    widths = [*fixed, room if room is not None else 0]
    cols = [*columns[:-1], Column(columns[-1].header, cut=room is not None)]
    yield _line([c.header for c in columns], widths, cols)
    for row in rows:
        yield _line([_text(c) for c in row], widths, cols)
