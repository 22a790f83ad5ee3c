"""A command's help paragraphs joined into lines, so the terminal wraps them, not the source file.

Typer 0.28 keeps every line break of a docstring after its first paragraph, and Rich then wraps each source line
on its own: at 80 columns a paragraph written as ~110-column lines comes out as a long line, a short one, a long
line, a short one. :func:`reflow` joins the lines of each prose paragraph; it keeps the line breaks a reader
needs: an ``Example`` paragraph as written (its continuation lines, ``\\`` at the end, are copied into shells:
docs/adr/0266), a paragraph starting with click's ``\\b`` (no rewrapping), a line that starts with whitespace or
a list marker (``-``, ``*``, ``1.``, ``1)``), and the line after one ending in ``\\``.
"""

from __future__ import annotations

import inspect  # loaded by Typer already: this module serves the Typer app only, never the fast path

_MARKERS = ("- ", "* ", "\u2022 ")


def _kept_apart(line: str, previous: str) -> bool:
    """Whether ``line`` starts a line of its own rather than continuing ``previous``."""
    if not line or line[:1].isspace() or line.startswith(_MARKERS) or previous.endswith("\\"):
        return True
    number, dot, rest = line.partition(". ") if ". " in line[:5] else line.partition(") ")
    return bool(dot) and number.isdigit() and len(number) <= 2 and bool(rest)


def _paragraph(text: str) -> str:
    if text.startswith(("Example", "\b")):
        return text
    lines = text.split("\n")
    joined = [lines[0]]
    for line in lines[1:]:
        if _kept_apart(line, joined[-1]):
            joined.append(line)
        else:
            joined[-1] = f"{joined[-1].rstrip()} {line.strip()}"
    return "\n".join(joined)


def reflow(text: str | None) -> str | None:
    """``text`` (a docstring or a help string) with each prose paragraph on one line (see the module)."""
    if not text or "\n" not in text:
        return text
    paragraphs = [_paragraph(p) for p in inspect.cleandoc(text).split("\n\n")]
    if len(paragraphs) > 1 and _dedented_by_typer("\n\n".join(paragraphs[1:])):
        paragraphs.insert(1, "")
    return "\n\n".join(paragraphs)


def _dedented_by_typer(rest: str) -> bool:
    """Whether Typer would strip the indentation of ``rest``, the help after its first paragraph.

    Typer renders that rest through ``inspect.cleandoc``, which leaves the first line alone and takes away the
    indentation the other lines share: when every line after an unindented first one is indented (a single
    ``Example:`` whose continuation lines are indented under it), they all came out flush left. An empty
    paragraph put before the rest makes the first line blank, so the ``Example:`` line counts with indentation
    0 and nothing is taken away; cleandoc then drops the blank lines it leads with, so nothing is shown for it.
    """
    return inspect.cleandoc(rest) != rest


def reflow_tree(command: object) -> None:
    """Reflow the help of ``command`` and, if it is a group whose commands are all made, of each of them: a lazy
    group's commands are reflowed as they are made (:mod:`cbm.cli.root`)."""
    if getattr(command, "help", None):
        command.help = reflow(command.help)  # type: ignore[attr-defined]
    commands = getattr(command, "commands", None)
    if type(commands) is dict:  # not a LazyCommands table: that one reflows each command as it makes it
        for sub in commands.values():
            reflow_tree(sub)
