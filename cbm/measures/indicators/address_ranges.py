"""Address ranges with labels, and the one look-up that finds the labels of every range holding an address.

The landing checks (:mod:`cbm.measures.indicators.checks`) hold the special-purpose ranges and our own; the
compiled warninglists (:mod:`cbm.measures.indicators.compiled`) the ranges of the lists (70k of them with the
public resolvers), built once per store into disjoint segments (docs/adr/0295).
"""

from __future__ import annotations

import socket
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate, chain, compress, repeat
from operator import and_, gt, itemgetter
from operator import not_ as _not
from typing import Literal


def parse_range(text: str) -> tuple[int, int, int] | None:
    """``(version, number, prefix length)`` of an address or CIDR range, or None."""
    address, _, length = text.strip().partition("/")
    for version, family, bits in ((4, socket.AF_INET, 32), (6, socket.AF_INET6, 128)):
        try:
            packed = socket.inet_pton(family, address)
        except (OSError, ValueError):
            continue
        try:
            prefix = int(length) if length else bits
        except ValueError:
            return None
        if not 0 <= prefix <= bits:
            return None
        number = int.from_bytes(packed, "big")
        return version, number >> (bits - prefix) << (bits - prefix), prefix
    return None


class Ranges:
    """Address ranges with a label each; ``find`` gives the labels of every range holding an address.

    Built once into sorted, non-overlapping segments per IP version, each with the labels of the ranges that
    cover it: a lookup is one binary search, whatever the number of ranges (70k with the public resolvers)."""

    def __init__(self) -> None:
        self.ranges: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
        self.segments: dict[int, tuple[list[int], list[int], list[tuple[str, ...]]]] | None = None

    def add(self, text: str, label: str) -> bool:
        parsed = parse_range(text)
        if parsed is None:
            return False
        version, number, prefix = parsed
        bits = 32 if version == 4 else 128
        self.ranges[version].append((number, number | ((1 << (bits - prefix)) - 1), label))
        self.segments = None
        return True

    def add_all(self, texts: Sequence[str], label: str) -> None:
        """:meth:`add` each of ``texts`` (those it refuses left out); a list of single IPv4 addresses (the
        public resolvers': 60k) in C-level passes."""
        try:
            numbers: list[int] | None = list(map(_from_bytes, map(socket.inet_pton, repeat(socket.AF_INET),
                                                                   map(str.strip, texts)), repeat(_BIG)))
        except (OSError, ValueError, TypeError):  # another shape among them (a range, IPv6): each as add takes it
            numbers = None
        if numbers is None:
            for text in texts:
                self.add(text, label)
            return
        self.ranges[4].extend(zip(numbers, numbers, repeat(label)))
        self.segments = None

    def _build(self) -> dict[int, tuple[list[int], list[int], list[tuple[str, ...]]]]:
        """The segments of each version's ranges. Most ranges touch no other (the public resolvers' 60k single
        addresses): sorted, each such range is a segment of its own, its one label the segment's, found in
        C-level passes; only a run of ranges that overlap takes the sweep (:func:`swept`), whose segments
        there are the same a sweep over every range would make (a sweep's points outside such a run are only
        its own ranges' ends)."""
        built = {}
        for version, ranges in self.ranges.items():
            ordered = sorted(ranges, key=itemgetter(0))  # a run (below) may hold its ranges in any order
            n = len(ordered)
            if n < 2:
                built[version] = swept(ordered)
                continue
            firsts = list(map(itemgetter(0), ordered))
            reach = list(accumulate(map(itemgetter(1), ordered), max))  # the last address of the ranges so far
            # a run of overlapping ranges starts where a range begins after every earlier one ended
            apart = [True, *map(gt, firsts[1:], reach), True]  # [k]: range k starts a run; [n]: the end
            alone = list(compress(ordered, map(and_, apart, apart[1:])))  # the ranges of a run of their own
            segments: list[tuple[int, int, tuple[str, ...]]] = list(zip(
                map(itemgetter(0), alone), map(itemgetter(1), alone), zip(map(itemgetter(2), alone), strict=True),
                strict=True))
            if len(alone) < n:  # the runs of more: swept, and merged in (their starts differ from every other)
                overlapping: list[tuple[int, int, tuple[str, ...]]] = []
                for begin in compress(range(n), map(and_, apart, map(_not, apart[1:]))):
                    overlapping.extend(zip(*swept(ordered[begin:apart.index(True, begin + 1)]), strict=True))
                segments = sorted(chain(segments, overlapping), key=itemgetter(0))
            built[version] = (list(map(itemgetter(0), segments)), list(map(itemgetter(1), segments)),
                              list(map(itemgetter(2), segments)))
        return built

    def built(self) -> dict[int, tuple[list[int], list[int], list[tuple[str, ...]]]]:
        """The segments, built on first use."""
        if self.segments is None:
            self.segments = self._build()
        return self.segments

    def find(self, version: int, number: int) -> tuple[str, ...]:
        starts, ends, labels = (self.segments or self.built())[version]
        i = bisect_right(starts, number) - 1
        return labels[i] if i >= 0 and number <= ends[i] else ()


def swept(ranges: list[tuple[int, int, str]]) -> tuple[list[int], list[int], list[tuple[str, ...]]]:
    """The disjoint segments ``ranges`` cover, sorted, each with the sorted labels of the ranges holding it: a
    sweep over every range's ends (a label counted as often as its ranges overlap there)."""
    points = sorted({p for first, last, _ in ranges for p in (first, last + 1)})
    starts: list[int] = []
    ends: list[int] = []
    labels: list[tuple[str, ...]] = []
    events: dict[int, list[tuple[int, str]]] = {}
    for first, last, label in ranges:
        events.setdefault(first, []).append((1, label))
        events.setdefault(last + 1, []).append((-1, label))
    active: dict[str, int] = {}
    for i, point in enumerate(points):
        for delta, label in events.get(point, ()):
            active[label] = active.get(label, 0) + delta
            if not active[label]:
                del active[label]
        if active and i + 1 < len(points):
            starts.append(point)
            ends.append(points[i + 1] - 1)
            labels.append(tuple(sorted(active)))
    return starts, ends, labels


_from_bytes = int.from_bytes
_BIG: Literal["big"] = "big"
