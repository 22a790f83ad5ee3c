"""A Bloom filter of strings seen in one process: "certainly new" or "maybe seen"."""

from __future__ import annotations

from collections.abc import Iterable


class SeenFilter:
    """2 MiB, three probes of Python's string hash (stable within one process). A negative answer is certain,
    so a bulk load of a fresh feed can tell the rows that certainly carry a new id from the few (false positives
    of about 0.5 % at a million, and true repeats) that must be checked against what was already written."""

    BITS = 1 << 24

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)

    def check_and_add(self, text: str) -> bool:
        """Whether ``text`` may have been added before (False: certainly not); adds it."""
        return self.seen_before((text,))[0]

    def seen_before(self, texts: Iterable[str]) -> list[bool]:
        """:meth:`check_and_add` for each of ``texts`` in order, in one loop (a batch of 5,000 ids at a time)."""
        bits = self.bits
        out: list[bool] = []
        append = out.append
        for text in texts:
            h = hash(text) & 0xFFFFFFFFFFFFFFFF
            a, b, c = h & 0xFFFFFF, (h >> 24) & 0xFFFFFF, (h >> 40) & 0xFFFFFF
            ma, mb, mc = 1 << (a & 7), 1 << (b & 7), 1 << (c & 7)
            a, b, c = a >> 3, b >> 3, c >> 3
            found = bool(bits[a] & ma) and bool(bits[b] & mb) and bool(bits[c] & mc)
            bits[a] |= ma
            bits[b] |= mb
            bits[c] |= mc
            append(found)
        return out
