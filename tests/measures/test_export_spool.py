"""The export's writer thread (cbm/measures/indicators/spool.py): everything arrives in order, and an error
writing the output (here a pipe whose reader is gone) reaches the caller as it was, not lost on the thread."""

from __future__ import annotations

import io
import os

import pytest

from cbm.measures.indicators.spool import ThreadedWriter


def test_small_and_large_writes_arrive_whole_and_in_order():
    out = io.BytesIO()
    parts = [str(i).encode() * (i % 7) for i in range(20000)] + [b"x" * (3 << 20)]
    with ThreadedWriter(out, chunk=4096, depth=2) as w:
        for part in parts:
            w.write(part)
    assert out.getvalue() == b"".join(parts)


def test_large_writes_between_small_ones_are_queued_whole_and_keep_their_place():
    """A write of a chunk or more (an export's encoded run, a bytearray) goes to the thread as it is, after
    what was gathered before it."""
    out = io.BytesIO()
    parts: list[bytes | bytearray] = []
    for i in range(40):
        parts.append(b"small %d;" % i)
        if i % 3 == 0:
            parts.append(bytearray(b"%d" % i) * (5000 + i))
    expected = b"".join(parts)
    with ThreadedWriter(out, chunk=8192, depth=2) as w:
        for part in parts:
            w.write(part)
    assert out.getvalue() == expected


def test_an_error_writing_the_output_is_raised_to_the_caller():
    read_end, write_end = os.pipe()
    os.close(read_end)
    out = os.fdopen(write_end, "wb", buffering=0)
    try:
        with pytest.raises(BrokenPipeError), ThreadedWriter(out, chunk=1024) as w:  # noqa: PT012
            for _ in range(10_000):
                w.write(b"y" * 100)
    finally:
        out.close()
