"""The bundle reader's LineReader (docs/adr/0240-bundle-lines-found-by-memchr.md) reads lines and bytes exactly as
a file object does: same lines, same limits, same end — whatever the chunk size against the line lengths."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.bundle.format import read_line
from cbm.bundle.streams import LineReader, stream_of
from cbm.core.errors import OversizedInput, TamperedContent

calls = st.lists(st.tuples(st.sampled_from(["readline", "read"]), st.integers(-1, 40)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200) | st.lists(st.binary(max_size=30), max_size=12).map(b"\n".join),
       chunk=st.integers(1, 17), script=calls)
def test_reads_as_a_file_object_does(data, chunk, script):
    ours, theirs = LineReader(io.BytesIO(data), chunk=chunk), io.BytesIO(data)
    for method, size in script:
        assert getattr(ours, method)(size) == getattr(theirs, method)(size)
    assert ours.read() == theirs.read()
    assert ours.readline() == b"" and ours.read(1) == b""


def test_long_lines_across_many_chunks_from_a_chunked_stream():
    lines = [b"x" * 5000, b"", b"y" * 3, b"z" * 70_000]
    data = b"\n".join(lines) + b"\ntail"
    reader = LineReader(stream_of(iter([data[i:i + 999] for i in range(0, len(data), 999)])), chunk=64)
    assert [reader.readline() for _ in lines] == [line + b"\n" for line in lines]
    assert reader.readline(2) == b"ta" and reader.readline(100) == b"il" and reader.readline() == b""


def test_a_line_past_the_limit_stops_at_the_limit():
    reader = LineReader(io.BytesIO(b"a" * 100 + b"\nb\n"), chunk=8)
    assert reader.readline(42) == b"a" * 42
    assert reader.readline() == b"a" * 58 + b"\n"
    assert reader.read(5) == b"b\n"


def _lines(stream, limit: int) -> list[object]:
    """What read_line gives, line after line, up to its first refusal (class and message)."""
    out: list[object] = []
    while True:
        try:
            out.append(read_line(stream, limit, "an item"))
        except (OversizedInput, TamperedContent) as e:
            return [*out, (type(e), str(e))]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.binary(max_size=12).filter(lambda b: b"\n" not in b), max_size=8),
       end=st.sampled_from([b"", b"\n", b"x"]), limit=st.integers(0, 13), chunk=st.integers(1, 9))
def test_read_line_refuses_and_returns_as_on_a_file_object(parts, end, limit, chunk):
    # the reader's lines come without their newline and without a second copy (readline_split); the limits and
    # the refusals (too long, cut short) stay those read_line gives on a file object
    data = b"\n".join(parts) + end
    assert _lines(LineReader(io.BytesIO(data), chunk=chunk), limit) == _lines(io.BytesIO(data), limit)
