"""A Bloom filter of strings seen in one process: "certainly new" or "maybe seen"."""

from __future__ import annotations


class SeenFilter:
    """2 MiB, three probes of Python's string hash (stable within one process). A negative answer is certain,
    so a bulk load of a fresh feed can tell the rows that certainly carry a new id from the few (false positives
    of about 0.5 % at a million, and true repeats) that must be checked against what was already written."""

    BITS = 1 << 24

    def __init__(self) -> None:
        self.bits = bytearray(self.BITS // 8)

    def check_and_add(self, text: str) -> bool:
        """Whether ``text`` may have been added before (False: certainly not); adds it."""
        h = hash(text) & 0xFFFFFFFFFFFFFFFF
        bits = self.bits
        found = True
        for bit in (h & 0xFFFFFF, (h >> 24) & 0xFFFFFF, (h >> 40) & 0xFFFFFF):
            byte, mask = bit >> 3, 1 << (bit & 7)
            if not bits[byte] & mask:
                found = False
                bits[byte] |= mask
        return found
