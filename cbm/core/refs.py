"""Short ids: the one rule for every command that takes an id (a record hash, an indicator, a paper ...).

A user may give any unique prefix of at least ``MIN_DIGITS`` hex digits (``7471f94a``). A prefix that is too
short or names several things is a usage error (exit 2) that lists the candidates, so the user can pick one;
a well-formed prefix that names nothing is "not found" (exit 5). docs/adr/0151-short-ids.md.

The lookups themselves (SQLite range queries) live with the data they search; this module only decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from cbm.core.errors import NotFound, UsageError

MIN_DIGITS = 6
SHOWN = 5  # candidates listed in a message
HEX = frozenset("0123456789abcdef")


class Candidate(NamedTuple):
    """Something a prefix may name: its full id, and a few words that tell candidates apart."""

    id: str
    label: str = ""


Lookup = Callable[[str, int], Sequence[Candidate]]
"""``lookup(prefix, limit)``: up to ``limit`` distinct things whose id starts with ``prefix`` (lower-case)."""


def is_hex_prefix(text: str, digits: frozenset[str] = HEX) -> bool:
    """Whether ``text`` could be a (short) id: hex digits only (or ``digits``), any case."""
    return bool(text) and set(text.lower()) <= digits


def resolve(ref: str, what: str, lookup: Lookup, *, full_length: int = 64, hint: str = "",
            digits: frozenset[str] = HEX) -> Candidate:
    """The one thing ``ref`` (a full id or a unique prefix of hex digits) names.

    Raises UsageError (exit 2) for text that is not hex, a prefix shorter than MIN_DIGITS or one that names
    several things (both listing the candidates), NotFound (exit 5) when nothing has that id. ``hint`` says
    where to look ids up (e.g. "see `cbm inquiry list`").
    """
    text = ref.strip().lower()
    if not is_hex_prefix(text, digits) or len(text) > full_length:
        raise UsageError(f"{ref.strip()!r} is not {_article(what)} id",
                         hint=f"give its id, or at least {MIN_DIGITS} of its first hex digits" +
                              (f"; {hint}" if hint else ""))
    found = list(lookup(text, SHOWN + 1))
    if len(text) < MIN_DIGITS:
        raise UsageError(f"{what} id {text} is too short: give at least {MIN_DIGITS} hex digits",
                         hint=_listing(found, what, hint))
    if not found:
        raise NotFound(f"no {what} {text}", hint=hint or None)
    if len(found) > 1:
        many = f"{len(found)}" if len(found) <= SHOWN else f"more than {SHOWN}"
        raise UsageError(f"{what} id {text} is ambiguous: it starts {many} {what} ids",
                         hint=_listing(found, what, hint))
    return found[0]


def _listing(found: Sequence[Candidate], what: str, hint: str) -> str:
    if not found:
        return f"no {what} id starts with that" + (f"; {hint}" if hint else "")
    shown = [(c.id[:16] if len(c.id) == 64 else c.id) + (f" ({c.label})" if c.label else "") for c in found[:SHOWN]]
    more = ", ..." if len(found) > SHOWN else ""
    return "candidates: " + ", ".join(shown) + more


def _article(what: str) -> str:
    return ("an " if what[:1] in "aeiou" else "a ") + what
