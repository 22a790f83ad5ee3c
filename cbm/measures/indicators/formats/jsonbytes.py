"""Compact JSON as UTF-8 bytes, the form every export writes: orjson, with the standard library behind it.

For what cbm's signed content can hold (no floats, no lone surrogates: cbm/core/canonical.py refuses both)
orjson gives exactly the bytes of ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`` encoded in
UTF-8; what orjson cannot encode at all (an integer past 64 bits, nesting past 254 levels) goes to the
standard library, so every input still gets the one form.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import orjson


class ByteSink(Protocol):
    """Where an export writes: a binary file, stdout's buffer, or the export's writer thread."""

    def write(self, data: bytes | bytearray, /) -> int: ...


_std_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
EncodeError = orjson.JSONEncodeError


def dumps(obj: Any) -> bytes:
    """``obj`` as compact JSON in UTF-8, key order kept."""
    try:
        return orjson.dumps(obj)
    except orjson.JSONEncodeError:
        return _std_encode(obj).encode("utf-8")
