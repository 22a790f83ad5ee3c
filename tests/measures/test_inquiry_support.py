"""Helpers for the inquiry tests (no tests here): a direct transport between two real stores.

``carry(src, dst)`` lands in ``dst`` every record of ``src``'s log that ``dst`` may see (the rest as withheld
ranges), copies the blobs those records list, then has ``dst`` sign the receipt a bundle import writes. It is
the bundle's job without the file, so the domain tests do not depend on the bundle format; the end-to-end
test (tests/e2e/test_inquiry_e2e.py) goes through real bundle files.
"""

from __future__ import annotations

from cbm.core.tlp import may_see
from cbm.store.ingest import WithheldRange, ingest
from tests.conftest import Party, at  # noqa: F401  (re-exported for the tests)


def carry(src: Party, dst: Party, *, receipt: bool = True) -> int:
    """Deliver ``src``'s log to ``dst`` and (by default) sign ``dst``'s receipt for it. Returns records landed."""
    with src.open() as s, dst.open() as d:
        items: list[bytes | WithheldRange] = []
        head = None
        for r in s.log(src.code):
            if may_see(dst.code, r.author, r.to, r.tlp):
                items.append(r.envelope)
                for digest in r.body.get("blobs", []):
                    if not d.blobs.has(digest):
                        with open(s.blobs.path(digest), "rb") as f:
                            d.blobs.put(f, expected=digest)
            else:
                items.append(WithheldRange(r.author, r.seq, r.seq, r.hash))
            head = (r.seq, r.hash)
        report = ingest(d, items)
        if receipt and head is not None and report.changed:
            d.append("bundle.receipt", {"logs": {src.code: {"seq": head[0], "hash": head[1]}}}, to=[src.code])
        return len(report.landed)


def exchange(a: Party, b: Party) -> None:
    """a -> b, then b -> a (so a learns b's receipt and messages)."""
    carry(a, b)
    carry(b, a)
