"""STIX patterns: recognise the simple ones cheaply, validate the others with ``stix2-patterns``.

A pattern that is one equality comparison on a path cbm knows (``[ipv4-addr:value = '…']``,
``[file:hashes.'SHA-256' = '…']``) is recognised by a regular expression and its value normalised; that is
the bulk path and needs no parser. Any other pattern from outside is checked by the OASIS pattern validator
(ANTLR grammar, about 0.5 ms each), so a malformed pattern never enters the store.
"""

from __future__ import annotations

import re

from cbm.core.fields import control_character
from cbm.measures.indicators.model import BadValue, normalise

_LITERAL = r"'((?:[^'\\]|\\.)*)'"
_PATH = r"([a-z0-9-]+):([A-Za-z0-9_.'-]+)"
SIMPLE = re.compile(r"^\[\s*" + _PATH + r"\s*=\s*" + _LITERAL + r"\s*\]$")
COMPARISON = re.compile(_PATH + r"\s*=\s*" + _LITERAL)

_PATH_TYPES = {
    ("ipv4-addr", "value"): "ipv4-addr", ("ipv6-addr", "value"): "ipv6-addr",
    ("domain-name", "value"): "domain-name", ("url", "value"): "url", ("email-addr", "value"): "email-addr",
    ("file", "hashes.md5"): "file-md5", ("file", "hashes.'md5'"): "file-md5",
    ("file", "hashes.'sha-1'"): "file-sha1", ("file", "hashes.sha1"): "file-sha1",
    ("file", "hashes.'sha1'"): "file-sha1",
    ("file", "hashes.'sha-256'"): "file-sha256", ("file", "hashes.sha256"): "file-sha256",
    ("file", "hashes.'sha256'"): "file-sha256",
}


def unquote(literal: str) -> str:
    return literal.replace("\\'", "'").replace("\\\\", "\\")


def simple(pattern: str) -> tuple[str, str] | None:
    """``(type, normalised value)`` if ``pattern`` is one equality on a known path with a valid value."""
    match = SIMPLE.match(pattern.strip())
    if not match:
        return None
    kind = _PATH_TYPES.get((match.group(1), match.group(2).lower()))
    if kind is None:
        return None
    try:
        return normalise(kind, unquote(match.group(3)))
    except BadValue:
        return None


def values(pattern: str) -> list[tuple[str, str]]:
    """Every ``(type, normalised value)`` compared for equality on a known path, in order, without repeats."""
    found: dict[tuple[str, str], None] = {}
    for obj, path, literal in COMPARISON.findall(pattern):
        kind = _PATH_TYPES.get((obj, path.lower()))
        if kind is None:
            continue
        try:
            found[normalise(kind, unquote(literal))] = None
        except BadValue:
            continue
    return list(found)


#: Whitespace the STIX pattern grammar allows between its terms; anywhere else a control character is refused.
_WHITESPACE = frozenset("\t\n\v\f\r")
_LITERALS = re.compile(_LITERAL)


def _refuse_controls(pattern: str) -> None:
    """Raise BadValue when ``pattern`` holds a control character (``cbm.core.fields.CONTROL_CHARACTERS``) inside a
    quoted value — the rule every value is held to, so ``'a\x00b.example'`` is not a domain's pattern — or
    anywhere else but as whitespace between terms. The OASIS validator takes any character in a quoted value
    (docs/adr/0264-hostile-values-in-and-out.md)."""
    for literal in _LITERALS.findall(pattern):
        found = control_character(literal)
        if found is not None:
            raise BadValue(f"a value in the STIX pattern holds a control character (U+{ord(found):04X})")
    for char in _LITERALS.sub("''", pattern):
        if char not in _WHITESPACE and control_character(char) is not None:
            raise BadValue(f"the STIX pattern holds a control character (U+{ord(char):04X})")


def validate(pattern: str) -> None:
    """Check a STIX 2.1 pattern with the OASIS validator. Raises BadValue with its first complaint."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise BadValue("empty STIX pattern")
    if len(pattern) > 65536:
        raise BadValue("STIX pattern longer than 64 KiB")
    if not pattern.isprintable() and control_character(pattern) is not None:  # the common pattern: one C call
        _refuse_controls(pattern)
    if simple(pattern) is not None:
        return
    from stix2patterns.validator import validate as oasis_validate

    try:
        ok, errors = oasis_validate(pattern, stix_version="2.1", ret_errs=True)
    except Exception as e:  # the ANTLR runtime raises assorted errors on hostile input
        raise BadValue(f"invalid STIX pattern: {e}") from e
    if not ok:
        message = errors[0] if errors else "rejected by the STIX pattern validator"
        raise BadValue(f"invalid STIX pattern: {message.removeprefix('FAIL: ')}")
