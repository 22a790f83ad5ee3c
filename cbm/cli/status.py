"""``cbm status``: who we are, peers, record counts, what needs attention (the Typer command; the work and the
rendering are :func:`cbm.cli.status_view.show_status`, which the fast path calls too)."""

# no ``from __future__ import annotations``: Typer would compile each string annotation at every start (root.py)
from typing import Annotated

import typer

from cbm.cli.status_view import show_status
from cbm.core.errors import NEEDS_ATTENTION


def status(json_flag: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
           wide: Annotated[bool, typer.Option("--wide", help="Show every value whole.")] = False,
           check: Annotated[bool, typer.Option(
               "--check",
               help=f"Exit {NEEDS_ATTENTION} when anything is overdue or waits on us (for monitoring).")] = False,
           ) -> None:
    """One screen: who we are, our peers, what waits to be sent to each, record counts, and what needs attention
    (most urgent first, the oldest overdue item first).

    Example:  cbm status --check --json   # exit 8 when anything needs attention
    """
    code = show_status(json_flag=json_flag, wide=wide, check=check)
    if code:
        raise typer.Exit(code)


app = typer.Typer(add_completion=False)
app.command("status")(status)
