"""Rendering: results to stdout, everything else to stderr; ``--json`` documents; peer text kept literal."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cbm.cli.context import state
from cbm.core.stdio import write_out

if TYPE_CHECKING:  # Rich loads on first use: `cbm status` renders without it and starts faster
    from rich.console import Console
    from rich.text import Text as RichText

PIPE_WIDTH = 100_000  # "no limit" for a Rich console writing to a pipe
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def stdout() -> Console:
    from rich.console import Console

    # soft_wrap: a long line stays one line (a pipe is not 80 columns wide; scripts grep whole lines); and
    # tables drawn by Rich take their natural width there (or with --wide): a value is never cut or folded
    from cbm.cli.tables import terminal_width

    width = None if terminal_width() is not None else PIPE_WIDTH
    # sys.stdout as guarded for the run (cbm.core.stdio.guarded_stdio): a full disk or a closed stdout is one
    # error line here too
    return Console(file=sys.stdout, markup=False, highlight=False, emoji=False, soft_wrap=True, width=width)


def stderr() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, markup=False, highlight=False, emoji=False, soft_wrap=True)


def literal(value: object) -> str:
    """Multi-line text from a peer (a message, a reply) made safe for a terminal: line breaks and tabs kept,
    every other control character, escape and bidi control shown as ``\\x1b`` / ``\\u202e``, never obeyed."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in "\n\t" else _escaped(ch) for ch in text)


def one_line(value: object) -> str:
    """Single-line text from a peer (a name, a title, a subject, a file name) as exactly one line: like
    :func:`literal`, and line breaks and tabs escaped too, so it can never add a line or a row that looks like
    ours (docs/adr/0115-control-characters-in-single-line-fields.md). Every table and single-line field uses it."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


_COMMAND = re.compile(r"`[^`]*`")


def fold(line: str, *, indent: int = 2, wide: bool = False) -> list[str]:
    """A line of prose (already literal: :func:`one_line`) as lines that fit the terminal, broken at spaces only,
    each continuation indented by ``indent``: a word longer than what is left (a hash, a URL, a file name) moves
    to the next line whole, and a `command` in backquotes is never broken, so both can still be copied. Piped,
    redirected or ``--wide``: the one line as it is (scripts read whole lines)."""
    from cbm.cli.tables import terminal_width

    return fold_to(line, terminal_width(wide), indent=indent)


def fold_to(line: str, width: int | None, *, indent: int = 2) -> list[str]:
    """:func:`fold` for a given ``width`` (None: no limit), e.g. stderr's (:func:`cbm.cli.tables.stderr_width`)."""
    if width is None or len(line) <= width:
        return [line]
    import textwrap

    # a command's spaces are no break points: a character one_line never leaves in text stands in for them
    kept = _COMMAND.sub(lambda m: m.group().replace(" ", "\x00"), line)
    lines = textwrap.wrap(kept, width=max(width, indent + 20), subsequent_indent=" " * indent,
                          break_long_words=False, break_on_hyphens=False)
    return [text.replace("\x00", " ") for text in lines] or [line]


def print_folded(out: Console, text: RichText, *, indent: int = 2) -> None:
    """Print a line of prose (``text``, its peer parts already literal) folded as :func:`fold` says, each part
    in its own style on whichever line it lands (``FILE MISSING`` stays red on the continuation line)."""
    for line in folded(text, indent=indent):
        out.print(line, soft_wrap=True)


def folded(text: RichText, *, indent: int = 2) -> list[RichText]:
    """``text`` as the lines :func:`fold` makes of its characters, each a slice of ``text`` (so with the styles
    of its parts) behind the continuation indent."""
    from rich.text import Text  # noqa: F811 (rich's own, not the lazy stand-in)

    plain = text.plain
    lines = fold(plain, indent=indent)
    if len(lines) == 1:
        return [text]
    # each folded line is the original's characters from some point on (fold breaks at spaces, keeping every
    # other character, and only adds the indent): find each in turn and slice the styled text there
    found: list[RichText] = []
    at = 0
    for n, line in enumerate(lines):
        words = line[indent:] if n else line
        start = plain.find(words, at)
        if start < 0:  # not expected; never lose the text for its style
            return [Text(line, style=text.style) for line in lines]
        piece = text[start:start + len(words)]
        found.append(Text(" " * indent, style=text.style) + piece if n else piece)
        at = start + len(words)
    return found


def print_body(out: Console, text: object, *, indent: str = "", style: str | None = None) -> None:
    """Multi-line text from a peer (an inquiry's text, a hotline body, an agenda, minutes) made literal
    (:func:`literal`) and printed line by line behind ``indent``, each line wider than the terminal folded at
    spaces as prose is (:func:`fold`): a word longer than what is left (a URL, a hash) moves to the next line
    whole, the continuation under the line's own indentation. Piped, redirected or ``--wide``: as written."""
    from rich.text import Text  # noqa: F811 (rich's own, not the lazy stand-in)

    from cbm.cli.tables import terminal_width

    width = terminal_width()
    for line in literal(text).split("\n"):
        shown = indent + line
        lead = len(shown) - len(shown.lstrip(" "))
        for part in fold_to(shown, width, indent=lead):
            out.print(Text(part, style=style or ""), soft_wrap=True)


def _escaped(ch: str) -> str:
    return f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"


def cell(value: object, style: str | None = None, *, multiline: bool = False) -> RichText:
    """Peer text as a Rich Text, never parsed as markup: one line (:func:`one_line`) unless ``multiline``
    (:func:`literal`, for message bodies)."""
    from rich.text import Text  # noqa: F811 (rich's own, not the lazy stand-in)

    show = literal if multiline else one_line
    return Text("" if value is None else show(value), style=style or "")


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data: a result object (a dataclass, or a named tuple such as ``StatusReport``)
    becomes an object of its fields in their order, bytes become hex, tuples and sets become lists."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a named tuple: an object, as a dataclass is
        return {k: to_jsonable(v) for k, v in value._asdict().items()}
    if hasattr(type(value), "__dataclass_fields__"):  # dataclasses is loaded where one exists (not for status)
        import dataclasses

        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def Text(*parts: Any, **style: Any) -> RichText:  # noqa: N802  (stands in for rich's Text)
    """rich's ``Text``, imported on first use: commands that answer in JSON or plain lines (``search``,
    ``list`` piped, ``status --json``) never load Rich, which is a quarter of their start-up."""
    from rich.text import Text as _Text

    return _Text(*parts, **style)


def emit(schema: str, data: Any, human: Callable[[Console], None], *, json_flag: bool = False) -> None:
    """Print a result: one JSON document (``{"schema": ..., ...}``) or the human rendering."""
    if json_flag or state.json:
        import json  # only for a JSON answer (docs/adr/0256)

        doc = {"schema": f"cbm.{schema}/1", **to_jsonable(data)}
        text = json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False)
        # json leaves DEL, C1 controls (U+009B is a CSI to some terminals) and bidi/format characters raw: peer
        # text could still drive a terminal showing the JSON. They can only occur inside strings: escape them.
        write_out(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
        return
    human(stdout())


def emit_lines(schema: str, data: Any, lines: Callable[[], Iterable[str]], *, json_flag: bool = False) -> None:
    """Like :func:`emit`, for a human rendering that is plain lines (already literal): no Rich console."""
    if json_flag or state.json:
        emit(schema, data, lambda out: None, json_flag=True)
        return
    write_out("".join(line + "\n" for line in lines()))


def note(message: str) -> None:
    """A status line on stderr (hidden by -q), folded to the terminal's width when stderr is one (piped or
    redirected, each line stays whole: scripts grep them)."""
    if not state.quiet:
        # messages quote peer text (names): never obey escapes
        sys.stderr.write("".join(line + "\n" for line in folded_for_stderr(literal(message))))


def note_on_success(message: str) -> None:
    """A status line said once the command has succeeded (:func:`say_held_notes`), dropped if it fails: so that
    a refusal comes first and alone (docs/adr/0301)."""
    state.said_on_success.append(message)


def say_held_notes(succeeded: bool) -> None:
    """Say the lines :func:`note_on_success` held back when the command ``succeeded``; forget them either way.
    Called once a command has ended, by the Typer app and the fast path."""
    held, state.said_on_success = state.said_on_success, []
    for message in held if succeeded else ():
        note(message)


def warn(message: str) -> None:
    """A warning on stderr (-q does not hide it), folded as :func:`note` folds."""
    from rich.text import Text

    out = stderr()
    for line in folded_for_stderr("warning: " + literal(message)):
        out.print(Text(line, style="yellow"), soft_wrap=True)


def folded_for_stderr(text: str, *, indent: int = 2) -> list[str]:
    """Each line of ``text`` (already literal) folded to stderr's terminal width, as :func:`fold` folds prose."""
    from cbm.cli.tables import stderr_width

    width = stderr_width()
    return [part for line in text.split("\n") for part in fold_to(line, width, indent=indent)]
