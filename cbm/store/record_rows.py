"""Records rebuilt from the rows the store holds.

Its own module, not :mod:`cbm.store.db`'s, so that opening a store loads no record codec (DSSE, canonical JSON,
orjson): the commands that read records import this, and it imports the codec
(docs/adr/0256-reading-commands-load-no-record-codec.md).
"""

from __future__ import annotations

from cbm.core import dsse
from cbm.core.errors import MalformedInput, StoreCorrupt
from cbm.core.records import Record, parse_verified_payload


def record_from_row(envelope: bytes, keyid: str) -> Record:
    """Rebuild a Record from stored bytes (verified when they landed; ``store verify`` re-checks). Raises
    StoreCorrupt when the bytes no longer parse."""
    try:
        return parse_verified_payload(envelope, dsse.parse(envelope).payload, keyid)
    except MalformedInput as e:
        raise StoreCorrupt(f"a stored record no longer parses: {e}") from e
