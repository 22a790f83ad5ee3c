"""Helpers for the hotline tests (no tests here): a direct transport between two real stores.

``carry(src, dst)`` lands in ``dst`` every record of ``src``'s log that ``dst`` may see (the rest as withheld
ranges; tests/measures/transport.py), then runs the hotline's import hook as ``cbm bundle import`` does. It
writes no receipt, so the tests can count exactly what the hook appended; tests/e2e/test_hotline_e2e.py goes
through real bundle files.
"""

from __future__ import annotations

from cbm.core.records import Record
from cbm.measures.hotline import service as hotline
from tests.conftest import Party, at  # noqa: F401  (re-exported for the tests)
from tests.measures.transport import deliver


def carry(src: Party, dst: Party, *, everything: bool = False) -> list[Record]:
    """Deliver ``src``'s log to ``dst`` (``everything``: ignore the audience, as a hostile forwarder would),
    run the hotline import hook, and return the records the hook appended in ``dst``."""
    with src.open() as s, dst.open() as d:
        return hotline.on_import(d, deliver(s, d, everything=everything).landed)


def exchange(a: Party, b: Party) -> None:
    """a -> b, then b -> a."""
    carry(a, b)
    carry(b, a)


def send(party: Party, to: str, text: str, precedence: str = "ROUTINE", lang: str = "en") -> str:
    with party.open() as store:
        return hotline.send(store, to, text, precedence=precedence, lang=lang).id


def record_count(party: Party) -> int:
    with party.open() as store:
        return sum(store.counts()["by_author"].values())


def store_bytes(party: Party) -> bytes:
    """Every byte of every file in the store directory (SQLite database, write-ahead log, blobs, keys)."""
    return b"".join(p.read_bytes() for p in sorted(party.root.rglob("*")) if p.is_file())
