"""A key the store trusts: whose it is, what it verifies and encrypts with, and for which seqs it signs.

Its own module, apart from :mod:`cbm.core.records` (which re-exports it), so that commands that only read the
store's key table (``cbm status``) load no record codec (docs/adr/0256-reading-commands-load-no-record-codec.md).
"""

from __future__ import annotations

from typing import NamedTuple


class TrustedKey(NamedTuple):
    party: str
    keyid: str
    verify_key: bytes
    enc_key: bytes
    first_seq: int
    last_seq: int | None  # set when rotated out or revoked: the key signs no record after it
    status: str  # active | rotated | revoked
    reason: str | None = None
