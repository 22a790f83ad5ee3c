"""Standard input as cbm reads it: ``-`` for a file name, or a message piped in. cbm may be started with its
standard input closed (``cbm ... <&-``, some schedulers): Python then has no ``sys.stdin`` at all."""

from __future__ import annotations

import sys
from typing import BinaryIO

from cbm.core.errors import UsageError


def stdin() -> BinaryIO:
    """Standard input, as bytes. Raises UsageError when cbm was started with it closed."""
    if sys.stdin is None:
        raise UsageError("standard input is closed: there is nothing to read", hint="give a file name, or pipe the "
                                                                                   "input in")
    return sys.stdin.buffer


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal (False when it is closed)."""
    return sys.stdin is not None and sys.stdin.isatty()
