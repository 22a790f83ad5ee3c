"""Armor: a text-only form of any bundle, for transports that carry only text (docs/adr/0013-armor.md).

::

    -----BEGIN CBM BUNDLE-----
    <base64, 76 characters a line>
    -----END CBM BUNDLE-----

The END line (with its newline) is required, so a cut message is detected; nothing but whitespace may follow
it. Lines may end in CRLF (mail transports); the base64 must be canonical, so no character can change without
changing the bytes it carries.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from cbm.core.errors import MalformedInput, OversizedInput, TamperedContent

BEGIN = b"-----BEGIN CBM BUNDLE-----"
END = b"-----END CBM BUNDLE-----"
WIDTH = 76
_READ = WIDTH // 4 * 3 * 1024  # a whole number of lines of input per read


def armor(source: IO[bytes], out: Any) -> None:
    """Write ``source`` (read to its end) to ``out`` in armored form."""
    out.write(BEGIN + b"\n")
    while chunk := source.read(_READ):
        text = base64.b64encode(chunk)
        for i in range(0, len(text), WIDTH):
            out.write(text[i : i + WIDTH] + b"\n")
    out.write(END + b"\n")


def dearmor(stream: BinaryIO) -> Iterator[bytes]:
    """The bytes an armored stream carries. MalformedInput / TamperedContent (truncated) / OversizedInput."""
    first = stream.readline(len(BEGIN) + 3)
    if first.rstrip(b"\r\n") != BEGIN:
        raise MalformedInput("not an armored cbm bundle")
    pending = b""
    while True:
        line = stream.readline(WIDTH + 3)
        if not line:
            raise TamperedContent("the armored bundle is truncated (no END line)")
        if len(line) > WIDTH + 2 and not line.endswith(b"\n"):
            raise OversizedInput("an armor line is too long")
        if not line.endswith(b"\n"):
            raise TamperedContent("the armored bundle is truncated (a line without its end)")
        text = line.rstrip(b"\r\n")
        if text == END:
            break
        pending += text
        whole = len(pending) // 4 * 4
        if whole:
            yield _decode(pending[:whole])
            pending = pending[whole:]
    if pending:
        raise TamperedContent("the armored bundle's base64 is cut short")
    if stream.read(4096).strip():
        raise MalformedInput("text follows the END line of the armored bundle")


def _decode(text: bytes) -> bytes:
    """Strict base64: the text must be the one canonical encoding of the bytes it decodes to."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise TamperedContent("the armored bundle's base64 is damaged") from e
    if base64.b64encode(data) != text:
        raise TamperedContent("the armored bundle's base64 is not in canonical form (altered)")
    return data
