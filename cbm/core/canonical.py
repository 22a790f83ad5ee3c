"""Canonical JSON for content ids.

Compact JSON with sorted keys, ASCII-only keys, no floats and UTF-8 text (escaping only what JSON must). Under
those rules the output is byte-identical to RFC 8785 (JCS); ``tests/core/test_canonical.py`` checks that against
the ``rfc8785`` package and against the standard library's ``json``. Floats are refused because their textual
form is where JSON encoders disagree. orjson does the encoding, and the fast path of the strict parser
(docs/adr/0074-orjson.md).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from cbm.core.errors import MalformedInput

SORTED = orjson.OPT_SORT_KEYS
FAST_PARSE_MIN = 4096  # below this the standard parser is as fast, and a round trip would not pay


def _check(value: Any, path: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:  # JCS (I-JSON) integers must round-trip through IEEE doubles
            raise MalformedInput(f"integer out of the interoperable range at {path}")
        return
    if isinstance(value, float):
        raise MalformedInput(f"floats are not allowed in signed content (at {path}); use an integer")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise MalformedInput(f"object keys must be ASCII strings (at {path})")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    raise MalformedInput(f"value of type {type(value).__name__} cannot be signed (at {path})")


def canonical_bytes(value: Any) -> bytes:
    """Encode ``value`` canonically as UTF-8. Raises MalformedInput for floats, non-ASCII keys, odd types."""
    _check(value, "$")
    return encode_plain(value)


def encode_plain(value: Any) -> bytes:
    """Canonical bytes of a value already known to hold only str, int (within ±2**53), bool, None, and lists and
    dicts of them with ASCII keys (what :func:`canonical_bytes` checks first). Raises MalformedInput for text
    that is not valid Unicode."""
    try:
        return orjson.dumps(value, option=SORTED)
    except orjson.JSONEncodeError:
        pass  # past orjson's 254 levels of nesting, a lone surrogate: the standard library decides and names it
    try:
        return _stdlib_encode(value).encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, e.g. from undecodable bytes in a file name
        raise MalformedInput("text is not valid Unicode (a lone surrogate cannot be signed)") from e
    except RecursionError as e:
        raise MalformedInput("the value is nested too deeply to be signed") from e


# the reference encoding (the same bytes as orjson's: tests/core/test_canonical.py), for what orjson refuses
_stdlib_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedInput(f"duplicate JSON key {key!r}")
            seen.add(key)
    return result


def _no_constants(name: str) -> Any:
    raise MalformedInput(f"JSON constant {name} is not allowed")


# one decoder for every call: json.loads(..., object_pairs_hook=...) builds a new one each time (slow on
# the verify path, which parses every stored envelope)
_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def loads(data: bytes | str, *, maybe_canonical: bool = True) -> Any:
    """Parse JSON from outside (UTF-8 only), refusing duplicate keys and NaN/Infinity. Raises MalformedInput.

    Fast path for large canonical input (every record payload cbm writes): orjson parses it and, if encoding
    the result canonically gives back exactly the same bytes, that is the answer; it cannot hold a duplicate
    key, since re-encoding would have dropped one. Anything else goes to the strict standard-library parser.
    ``maybe_canonical=False`` (a format cbm never writes canonically: a MISP event) goes to it at once: the round
    trip would build a whole tree and a re-encoding of it first, only to drop them (a MISP event of 100,000
    attributes: 37 MB of file, ~150 MB of tree; docs/adr/0254).
    """
    # a raw line break never occurs in canonical JSON (it is escaped inside strings): a pretty-printed file (a MISP
    # export, a STIX bundle) goes straight to the strict parser, without the orjson parse and re-encode
    if maybe_canonical and type(data) is bytes and len(data) >= FAST_PARSE_MIN and data.find(b"\n", 0, 65536) < 0:
        try:
            value = orjson.loads(data)
            if orjson.dumps(value, option=SORTED) == data:
                return value
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
        value = None  # not canonical (a MISP export, a STIX file): free its tree before the strict parse builds one
    try:
        text = bytes(data).decode("utf-8") if isinstance(data, bytes | bytearray) else data
        return _decoder.decode(text)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise MalformedInput(f"not valid JSON: {e}") from e
