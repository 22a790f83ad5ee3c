"""The normal form of an indicator value: the form every writer of cbm signs, and the one a peer's batch row is
held to when it lands (docs/adr/0269-a-peer-rows-values-at-landing.md, 0271).

:func:`is_normal` is the rule, one value at a time, built on ``model.normalise`` itself; :func:`all_normal`
judges a whole column of one type at once in C-level passes, for the common shapes (a peer's batch brings up to
5,000 values a record and a feed a million).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat
from typing import cast

from cbm.measures.indicators import model


def is_normal(kind: str, value: object) -> bool:
    """Whether ``value`` is exactly the normal form of a ``kind`` indicator (a simple type), what every writer of
    cbm signs: the rule a peer's batch row is held to at landing (docs/adr/0269-a-peer-rows-values-at-landing.md).
    False for anything else (no text, an unknown or the pattern type, a value ``model.normalise`` refuses or
    changes)."""
    if type(value) is not str or kind not in model.SIMPLE_TYPES:
        return False
    try:
        return model.normalise(kind, value) == (kind, value)
    except model.BadValue:
        return False


# A peer's batch brings up to 5,000 values a record and a feed a million: landing holds each to is_normal. A
# column of one type in a common shape is judged by one regex over its values joined by newlines (a column whose
# values hold a newline of their own is refused first: it is left to is_normal), each value an atomic group so a
# failing column costs no backtracking across values.


def _column_of(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?>(?:{text})\n)*+")


_COLUMN_IPV4 = _column_of(model._COMMON_IPV4_TEXT)
_COLUMN_DOMAIN = _column_of(model._COMMON_DOMAIN_TEXT)
_COLUMN_URL = _column_of(model._COMMON_URL.pattern)
_LOWER_HEX_BYTES = b"0123456789abcdef"
_IPV6_BYTES = b"0123456789abcdef:."
_STR_ONLY = {str}


def all_normal(kind: str, values: Sequence[object]) -> bool:
    """Whether every one of ``values`` is in normal form for ``kind`` (:func:`is_normal` of each) *and* in one of
    the common shapes, judged in C-level passes over the column. False means only that some value needs
    :func:`is_normal` of its own (a CIDR range, an e-mail address, anything the fast path leaves to the full
    one, or a value that is not normal)."""
    if not values:
        return True
    if set(map(type, values)) != _STR_ONLY:
        return False
    texts = cast(Sequence[str], values)
    if kind in model._HASH_LENGTHS:  # lowercase hex digits only, each of its type's length
        joined = "".join(texts)
        return set(map(len, texts)) == {model._HASH_LENGTHS[kind]} and joined.isascii() \
            and not joined.encode("ascii").translate(None, _LOWER_HEX_BYTES)
    if kind == "ipv6-addr":  # what inet_ntop writes back (lowercase, shortest): as they are
        joined = "".join(texts)
        if not (joined.isascii() and not joined.encode("ascii").translate(None, _IPV6_BYTES)):
            return False
        import socket  # only for IPv6 values (see _ip)

        try:
            return list(map(socket.inet_ntop, repeat(socket.AF_INET6),
                            map(socket.inet_pton, repeat(socket.AF_INET6), texts))) == list(texts)
        except (OSError, ValueError):
            return False
    column = _COLUMNS.get(kind)
    if column is None:
        return False
    joined = "\n".join(texts) + "\n"  # a value with a newline of its own would pass as two good lines
    if joined.count("\n") != len(texts) or column.fullmatch(joined) is None:
        return False
    longest = max(map(len, texts))
    if kind == "domain-name":
        return longest <= 253
    return longest <= 253 or all(map(model._common_url, texts))  # a URL's host is at most 253 characters


_COLUMNS = {"ipv4-addr": _COLUMN_IPV4, "domain-name": _COLUMN_DOMAIN, "url": _COLUMN_URL}
