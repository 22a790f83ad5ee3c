"""What the ``cbm workgroup`` command modules share: option types, reading a document, rendering ids and
action rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cbm.cli.output import print_body
from cbm.cli.tables import Column, Styled, Table
from cbm.core.errors import NotFound
from cbm.core.stdio import stdin
from cbm.measures.workgroup.model import Action

JsonFlag = Annotated[bool, typer.Option("--json", help="JSON output.")]
WideFlag = Annotated[bool, typer.Option("--wide", help="Show every title whole, however wide.")]
TlpOption = Annotated[str | None, typer.Option(
    "--tlp", help="TLP label (default: tlp in the workgroup section of config.toml, else GREEN).")]


def read_document(path: str, what: str) -> bytes:
    if path == "-":
        return stdin().read()
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise NotFound(f"cannot read the {what} {path}: {e.strerror}") from e


def short_id(record_id: str | None) -> str:
    return record_id[:12] if record_id else ""


def indent(out: Console, text: str) -> None:
    print_body(out, "\n".join(text.splitlines()), indent="    ")


def action_row(table: Table, a: Action) -> None:
    status = "overdue" if a.overdue else a.status
    style = "red" if a.overdue else "green" if a.status == "done" else None
    table.add_row(short_id(a.id), a.title, a.owner, a.due, Styled(status, style))


def action_table() -> Table:
    """Action items: ids, owners, dates and states whole; the title gives way on a narrow terminal."""
    return Table([Column("id"), Column("title", cut=True, min_width=16), Column("owner"), Column("due"),
                  Column("status")])


def print_table(out: Console, table: Table, *, wide: bool = False) -> None:
    """``table`` on stdout after whatever ``out`` printed before it (docs/adr/0150-tables-and-widths.md)."""
    out.file.flush()
    table.write(wide=wide)
