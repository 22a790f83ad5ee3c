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


#: What a single-line field may not hold (docs/adr/0115-control-characters-in-single-line-fields.md): C0
#: controls (line breaks and tab included), DEL, C1 controls, the Unicode line and paragraph separators, and the
#: bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) that reorder what a terminal shows.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def control_character(text: str) -> str | None:
    """The first character of :data:`CONTROL_CHARACTERS` in ``text``, or None."""
    found = CONTROL_CHARACTERS.search(text)
    return None if found is None else found.group()


def is_single_line_text(value: Any) -> bool:
    """Whether ``value`` is a string without any of :data:`CONTROL_CHARACTERS` (what a peer's single-line field
    must be: a party's name, a title, a subject, an issuer, an action's text, a file name)."""
    return isinstance(value, str) and CONTROL_CHARACTERS.search(value) is None


def check_single_line(text: str, what: str) -> str:
    """Return ``text`` if it holds no control character; else raise UsageError naming ``what`` and the
    character (as ``U+000A``)."""
    found = control_character(text)
    if found is not None:
        raise UsageError(f"{what} holds a control character (U+{ord(found):04X})",
                         hint="single-line fields take no line breaks, tabs, escapes or bidi controls")
    return text


def single_line(text: str, what: str = "the text") -> str:
    """``text`` as one line: runs of spaces become one space, ends trimmed. Raises UsageError if it holds a
    control character (a line break, a tab, ESC, a bidi override; see :data:`CONTROL_CHARACTERS`): the one
    place a single-line field a user types is checked (an inquiry's subject, titles, names)."""
    return " ".join(check_single_line(text, what).split())


def is_bounded_text(value: Any, limit: int, *, required: bool = True) -> bool:
    """Whether ``value`` is a string of at most ``limit`` characters, and not blank when ``required``."""
    return isinstance(value, str) and len(value) <= limit and (not required or bool(value.strip()))


def is_iso_time(value: Any) -> bool:
    """Whether ``value`` is an ISO 8601 UTC time to the second, as records carry it (``...T05:00:00Z``)."""
    return isinstance(value, str) and ISO_TIME.fullmatch(value) is not None
