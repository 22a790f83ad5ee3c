"""Shared result types for the measures."""

from __future__ import annotations

from typing import NamedTuple


class Attention(NamedTuple):
    """One thing an operator should look at, shown by ``cbm status``.

    ``rank``: 0 overdue/critical, 1 due soon or waiting on us, 2 informational.
    """

    measure: str
    rank: int
    text: str
    ref: str | None = None
    due: str | None = None  # ISO 8601 UTC deadline, if any
