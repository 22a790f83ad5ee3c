"""Canonical JSON for content ids.

Compact ``json.dumps`` with sorted keys, ASCII-only keys and no floats. Under those rules the output is
byte-identical to RFC 8785 (JCS); ``tests/core/test_canonical.py`` checks that against the ``rfc8785``
package. Floats are refused because their textual form is where JSON encoders disagree.
"""

from __future__ import annotations

import json
from typing import Any

from cbm.core.errors import MalformedInput

_encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


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
    try:
        return _encoder.encode(value).encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, e.g. from undecodable bytes in a file name
        raise MalformedInput("text is not valid Unicode (a lone surrogate cannot be signed)") from e


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


def loads(data: bytes | str) -> Any:
    """Parse JSON from outside (UTF-8 only), refusing duplicate keys and NaN/Infinity. Raises MalformedInput."""
    try:
        text = bytes(data).decode("utf-8") if isinstance(data, bytes | bytearray) else data
        return _decoder.decode(text)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise MalformedInput(f"not valid JSON: {e}") from e
