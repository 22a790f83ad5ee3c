"""Helpers for the inquiry tests (no tests here): a direct transport between two real stores.

``carry(src, dst)`` lands in ``dst`` every record of ``src``'s log that ``dst`` may see (the rest as withheld
ranges) with the blobs those records list (tests/measures/transport.py), then has ``dst`` sign the receipt a
bundle import writes. The end-to-end test (tests/e2e/test_inquiry_e2e.py) goes through real bundle files.
"""

from __future__ import annotations

from tests.conftest import Party, at  # noqa: F401  (re-exported for the tests)
from tests.measures.transport import deliver


def carry(src: Party, dst: Party, *, receipt: bool = True) -> int:
    """Deliver ``src``'s log to ``dst`` and (by default) sign ``dst``'s receipt for it. Returns records landed."""
    with src.open() as s, dst.open() as d:
        report = deliver(s, d)
        head = s.head(src.code)
        if receipt and head is not None and report.changed:
            d.append("bundle.receipt", {"logs": {src.code: {"seq": head[0], "hash": head[1]}}}, to=[src.code])
        return len(report.landed)


def exchange(a: Party, b: Party) -> None:
    """a -> b, then b -> a (so a learns b's receipt and messages)."""
    carry(a, b)
    carry(b, a)
