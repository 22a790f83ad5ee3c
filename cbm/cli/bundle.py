"""``cbm bundle``: not available yet (issue #3)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Not available yet: this measure lands with issue #3. It has no commands in this version.",
    no_args_is_help=True,
)
