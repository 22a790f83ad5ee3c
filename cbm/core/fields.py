"""The field rules every measure shares, in one place: party code, SHA-256 hex digest, language tag, message
precedence, bounded single-line text, ISO 8601 UTC time.

Each rule is a predicate (``is_...``: for a peer's record body, where the caller decides what a bad value means)
and, where the CLI takes the value from a user, a checker that normalises it or raises the documented error.
The accepted sets are exactly those the measures had before they shared this module
(docs/adr/0101-shared-field-rules.md); where two measures differed, the difference is a named keyword here, so a
later tightening is one change in one place.
"""

from __future__ import annotations

import re
from typing import Any

from cbm.core.errors import UsageError

#: ``US``, ``RU``, ``OSCE-SEC``: a capital letter, then 1-15 capitals, digits or '-'.
PARTY_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,15}\Z")  # \Z, not $: "US\n" is not a code
SHA256_HEX = re.compile(r"^[0-9a-f]{64}\Z")
#: A BCP 47 language tag as cbm reads it: a 2-3 letter primary language, then subtags of 2-8 letters or digits.
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")
#: Message precedence, most urgent first (inquiry and hotline).
PRECEDENCES = ("FLASH", "IMMEDIATE", "PRIORITY", "ROUTINE")
#: ``2026-11-23T05:00:00Z``: the one time format in records ([0-9], not \\d: \\d takes digits of any script).
ISO_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _final_newline_dropped(value: str, allow_final_newline: bool) -> str:
    # The hotline and working-group folds matched with ``$``, which also accepts one final "\n"; kept so that
    # sharing these rules changed nothing (ADR 0101 asks whether to drop it).
    return value[:-1] if allow_final_newline and value.endswith("\n") else value


def is_party_code(value: Any, *, allow_final_newline: bool = False) -> bool:
    """Whether ``value`` is a party code string (see :data:`PARTY_CODE`)."""
    return isinstance(value, str) and PARTY_CODE.match(_final_newline_dropped(value, allow_final_newline)) is not None


def check_party_code(code: str) -> str:
    """Return ``code`` if it is a valid party code (``US``, ``RU``, ``OSCE-SEC``), else raise UsageError."""
    if not is_party_code(code):
        raise UsageError(
            f"{code!r} is not a party code", hint="2-16 characters: capital letters, digits, '-', e.g. US"
        )
    return code


def is_sha256_hex(value: Any, *, allow_final_newline: bool = False) -> bool:
    """Whether ``value`` is a SHA-256 digest as 64 lowercase hex digits."""
    return isinstance(value, str) and SHA256_HEX.match(_final_newline_dropped(value, allow_final_newline)) is not None


def is_language_tag(value: Any, *, max_subtags: int | None = None, allow_final_newline: bool = False) -> bool:
    """Whether ``value`` is a language tag (``en``, ``ru``, ``en-US``) with at most ``max_subtags`` subtags after
    the primary language (None: any number; the hotline allows 4)."""
    if not isinstance(value, str):
        return False
    tag = _final_newline_dropped(value, allow_final_newline)
    if LANGUAGE_TAG.match(tag) is None:
        return False
    return max_subtags is None or tag.count("-") <= max_subtags


def is_precedence(value: Any) -> bool:
    """Whether ``value`` is one of :data:`PRECEDENCES`, exactly (a peer's record is not normalised)."""
    return isinstance(value, str) and value in PRECEDENCES


def check_precedence(value: str) -> str:
    """``flash`` -> ``FLASH``; UsageError for anything else."""
    name = value.strip().upper()
    if name not in PRECEDENCES:
        raise UsageError(f"{value!r} is not a precedence", hint="one of " + ", ".join(PRECEDENCES))
    return name


def precedence_rank(value: str) -> int:
    """0 for FLASH ... 3 for ROUTINE; 4 for anything else (shown last)."""
    return PRECEDENCES.index(value) if value in PRECEDENCES else len(PRECEDENCES)


def single_line(text: str) -> str:
    """``text`` as one line: every run of whitespace (line breaks included) becomes one space, ends trimmed.

    The one place single-line fields (an inquiry's subject, titles) are made single-line; a later rule that
    also refuses control characters belongs here."""
    return " ".join(text.split())


def is_bounded_text(value: Any, limit: int, *, required: bool = True) -> bool:
    """Whether ``value`` is a string of at most ``limit`` characters, and not blank when ``required``."""
    return isinstance(value, str) and len(value) <= limit and (not required or bool(value.strip()))


def is_iso_time(value: Any) -> bool:
    """Whether ``value`` is an ISO 8601 UTC time to the second, as records carry it (``...T05:00:00Z``)."""
    return isinstance(value, str) and ISO_TIME.fullmatch(value) is not None
