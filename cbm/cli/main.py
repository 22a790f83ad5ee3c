"""``cbm``'s entry point (the console script ``cbm.cli.main:main``): the fast path when the command line is one
of the few read-only shapes it knows, else the Typer app.

This module imports no Typer: ``cbm --help``, ``cbm status`` and ``cbm indicators search`` run without it
(``cbm.cli.fast``, docs/adr/0246-a-fast-path-without-typer.md). The Typer app, the one definition of the command
line, is ``cbm.cli.root.app``; ``cbm.cli.main.app`` (and the root module's other names) still resolve here, on
first use.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a tenth of `cbm --help`)
if TYPE_CHECKING:
    from typing import Any


def main() -> None:
    """Run ``cbm`` with ``sys.argv`` and exit with its exit code. ``CBM_NO_FAST_PATH=1`` sends every command line
    to the Typer app (a debugging aid: the two must agree)."""
    from cbm.core.stdio import reserve_standard_descriptors

    reserve_standard_descriptors()  # before cbm opens any file (a closed stderr's number would be the file's)
    if not os.environ.get("CBM_NO_FAST_PATH"):
        from cbm.cli.fast import recognise, run

        invocation = recognise(sys.argv)
        if invocation is not None:
            sys.exit(run(invocation))
    from cbm.cli.root import app

    app()


def __getattr__(name: str) -> Any:
    """``cbm.cli.main.app``, ``SUBCOMMANDS``...: the Typer app's module, loaded on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    from cbm.cli import root

    try:
        return getattr(root, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
