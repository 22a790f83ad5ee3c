"""A Bloom filter of strings seen in one process: "certainly new" or "maybe seen"."""

from __future__ import annotations

import mmap
from collections.abc import Iterable


class SeenFilter:
    """One probe of Python's string hash (stable within one process) into a bit array sized for the ids expected:
    256 bits an id, between 128 KiB and 16 MiB (the size for a feed of half a million lines and more; also the
    size when the count is unknown). A negative answer is certain, so a bulk load of a fresh feed can tell the
    rows that certainly carry a new id from the few (false positives of under 1 % at the expected count, and true
    repeats) that must be checked against what was already written. An estimate that is low costs only more
    false positives: a filter is never wrong about an id it was given.

    One probe into 2^27 bits rather than three into 2^24: half the Python work per id (a bulk load asks once for
    every indicator), and fewer false positives past two million ids (1.5 % against 2.7 % at 2M). Sized by the
    count, a feed of 50,000 lines touches 2 MiB instead of 16 (every page of the array gets a bit).

    The bit array is a private anonymous memory map, not a ``bytearray``: its pages are the kernel's zero page
    until an id sets a bit in them, so a filter made and never used (the writer's, while the reader process makes
    a feed's batches) costs no memory, nor does a process forked after it was made (docs/adr/0252)."""

    MAX_BITS = 1 << 27
    MIN_BITS = 1 << 20
    BITS_PER_ID = 256

    def __init__(self, expected: int = 0) -> None:
        """A filter for about ``expected`` ids (0: unknown, the largest)."""
        size = self.MAX_BITS if expected <= 0 else \
            min(self.MAX_BITS, max(self.MIN_BITS, 1 << (expected * self.BITS_PER_ID - 1).bit_length()))
        self.bits = _zeroed(size // 8)
        self._mask = size - 1

    @classmethod
    def holding(cls, bits: bytes) -> SeenFilter:
        """The filter whose bit array is a copy of ``bits`` (another process's :attr:`bits`: the ids it met).
        Raises ValueError unless ``bits`` is a power of two bits long."""
        size = len(bits) * 8
        if size < 8 or size & (size - 1):
            raise ValueError("a filter's bit array is a power of two bits long")
        made = cls.__new__(cls)
        made.bits = _zeroed(len(bits))
        made.bits[:] = bits
        made._mask = size - 1
        return made

    def check_and_add(self, text: str) -> bool:
        """Whether ``text`` may have been added before (False: certainly not); adds it."""
        return self.seen_before((text,))[0]

    def seen_before(self, texts: Iterable[str]) -> list[bool]:
        """:meth:`check_and_add` for each of ``texts`` in order, in one loop (a batch of 5,000 ids at a time)."""
        bits, mask = self.bits, self._mask
        out: list[bool] = []
        append = out.append
        for text in texts:
            h = hash(text) & mask
            i, bit = h >> 3, 1 << (h & 7)
            byte = bits[i]
            append(byte & bit != 0)
            bits[i] = byte | bit
        return out

    def may_hold(self, texts: Iterable[str]) -> list[bool]:
        """Whether each of ``texts`` may have been added (False: certainly not), adding none of them: a filter
        seeded with what a store holds answers for a feed's rows without filling up with them."""
        bits, mask = self.bits, self._mask
        return [bits[(h := hash(text) & mask) >> 3] & (1 << (h & 7)) != 0 for text in texts]


class IndependentFilter(SeenFilter):
    """A :class:`SeenFilter` probing with other bits of the string's hash (the upper half), so that its false
    positives are not those of a ``SeenFilter`` of the same size: a text that collides with another in one does
    not in the other. The filter of the ids that went on to the exact path in a re-import is asked about the ids
    a seeded ``SeenFilter`` let through: with the same probe, each of that filter's false positives would mark
    the very id it collided with (docs/adr/0303). Its two loops are ``SeenFilter``'s with the shift written in:
    a shift variable in the shared loops cost every filter ~20 % per id (timeit, 5,000 ids)."""

    def seen_before(self, texts: Iterable[str]) -> list[bool]:
        bits, mask = self.bits, self._mask
        out: list[bool] = []
        append = out.append
        for text in texts:
            h = hash(text) >> 32 & mask
            i, bit = h >> 3, 1 << (h & 7)
            byte = bits[i]
            append(byte & bit != 0)
            bits[i] = byte | bit
        return out

    def may_hold(self, texts: Iterable[str]) -> list[bool]:
        bits, mask = self.bits, self._mask
        return [bits[(h := hash(text) >> 32 & mask) >> 3] & (1 << (h & 7)) != 0 for text in texts]


def _zeroed(size: int) -> mmap.mmap | bytearray:
    """``size`` zero bytes, writable, private to this process (copy-on-write in a forked child), resident only
    where written: as fast to index as a ``bytearray`` (``m[i]``, ``m[i] = byte``). A ``bytearray`` where the
    platform has no private anonymous maps."""
    if not hasattr(mmap, "MAP_PRIVATE"):
        return bytearray(size)
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
