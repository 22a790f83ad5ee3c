"""A direct transport between two real stores, for the measures' domain tests: the bundle's job without the file.

``deliver(s, d)`` lands in ``d`` every record of ``s``'s own log that ``d`` may see and the rest as withheld
ranges, as a bundle carries them, with the attachments the delivered records list. What a bundle import does
next (the measures' import hooks, a signed receipt) each measure's ``*_support.py`` adds as its tests need, so
the domain tests do not depend on the bundle format; tests/e2e go through real bundle files.
"""

from __future__ import annotations

from cbm.core.tlp import may_see
from cbm.store.db import Store
from cbm.store.ingest import IngestReport, WithheldRange, ingest


def deliver(s: Store, d: Store, *, everything: bool = False) -> IngestReport:
    """Land ``s``'s own log in ``d`` (``everything``: ignore the audience, as a hostile forwarder would)."""
    items: list[bytes | WithheldRange] = []
    for r in s.log(s.party):
        if everything or may_see(d.party, r.author, r.to, r.tlp):
            items.append(r.envelope)
            for digest in r.body.get("blobs", []):
                if not d.blobs.has(digest):
                    with open(s.blobs.path(digest), "rb") as f:
                        d.blobs.put(f, expected=digest)
        else:
            items.append(WithheldRange(r.author, r.seq, r.seq, r.hash))
    return ingest(d, items)
