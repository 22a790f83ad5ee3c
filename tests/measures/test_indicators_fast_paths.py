"""The text feeds' fast paths give what the full paths give: the same rows, the same errors, for every input.

The CSV and plain-list readers split plain lines themselves, take the common value shapes at once
(``model.normalise``'s shortcut), parse each distinct cell text once (``formats.feed_rows``) and hand rows to
the writer process as marshal blobs (``pipeline``). Each is held here to the path it shortcuts: the exact
normalisation, ``csv.reader`` with the full row builder for every line (the reader as it was), and the
in-process reader.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.measures.indicators import model, pipeline
from cbm.measures.indicators.formats import Defaults, EmptyFeed, LineError, ReadNotes, build_row, plain, undecodable
from cbm.measures.indicators.formats import csv as csv_format
from cbm.measures.indicators.formats.feed_rows import LineRows
from cbm.measures.indicators.rows import trim
from tests.conftest import DATA

KINDS = ("", *model.SIMPLE_TYPES)

VALUES = [
    # IPv4, plain and not
    "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", " 1.2.3.4 ", "1.2.3.4\n",
    "1[.]2[.]3[.]4", "1(.)2(.)3(.)4", "10.0.0.0/8", "10.0.0.1/32", "10.0.0.1/33", "١.2.3.4", "1.2.3.4:80",
    # IPv6 forms
    "::1", "::", "2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "::ffff:1.2.3.4",
    "fe80::1%eth0", "2001:db8::/32", "2001:db8::1/128", "2001:db8:::1", "[2001:db8::1]", "2001:db8::g",
    # domains
    "example.com", "EXAMPLE.COM", "Example.Com", "example.com.", "a.b.c.example.co.uk", "1example.com", "x.y",
    "ex-ample.com", "-example.com", "example-.com", "ex_ample.com", "_dmarc.example.com", "example", "example.c",
    "example.123", "xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai-", "пример.рф", "ПРИМЕР.РФ", "bücher.de",
    "example[.]com", "example(.)com", "example{.}com", "example[dot]com", "a..com", ".example.com",
    "a" * 63 + ".com", "a" * 64 + ".com", ".".join(["a" * 63] * 3) + "." + "b" * 60 + ".com",
    ".".join(["a" * 63] * 3) + "." + "b" * 61 + ".com", "ex ample.com", "example.com\t", "K.com", "ｅxample.com",
    "hxxp.com", "fxp.example.com", "meow.example.com",
    # URLs
    "http://example.com", "http://example.com/", "https://example.com/a/b?c=d#e", "ftp://files.example.com/x",
    "HTTP://EXAMPLE.COM/Path", "http://Example.com/", "hxxp://example[.]com/x", "hxxps://example.com/x",
    "hXXp://example.com", "meow://example.com", "fxp://example.com", "http[:]//example.com", "http[://]example.com",
    "http://example.com:8080/x", "http://example.com:/x", "http://example.com:80a/x", "http://1.2.3.4/x",
    "http://1.2.3.4:8080", "http://[2001:db8::1]/x", "http://user:pw@example.com/x", "http://user@1.2.3.4/x",
    "http://example.com/it's", "http://example.com/a\\b", "http://example.com/a(b)", "http://example.com/a[.]b",
    "http://example.com/{x}", "http://example.com/%20x", "http://example.com/ x", "http://exa mple.com/",
    "http://пример.рф/путь", "http://example.com/путь", "gopher://example.com/", "http://", "http:///x",
    "example.com/path", "1.2.3.4/path", "http://a" + "b" * 250 + ".com/", "http://" + "a" * 64 + ".com/",
    "https://example.com/\x7f", "https://example.com/\x00",
    # ports: 0-65535 in at most five digits
    "http://example.com:0/", "http://example.com:65535/", "http://example.com:65536/", "http://example.com:99999/",
    "http://example.com:08080/", "http://example.com:008080/", "http://example.com:\u00b2/", "http://1.2.3.4:70000",
    "http://[2001:db8::1]:443/x", "http://[2001:db8::1]:99999/x", "http://[zzz]/x", "http://[::1]x/",
    # e-mail
    "user@example.com", "User@Example.COM", "user[@]example[.]com", "user(at)example.com", "a@b@example.com",
    "user@", "@example.com", "user@1.2.3.4",
    # hashes
    "d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "d41d8cd98f00b204e9800998ecf8427",
    "g41d8cd98f00b204e9800998ecf8427e", " d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e0",
    "０41d8cd98f00b204e9800998ecf8427e",
    # odd
    "", " ", "#", "'", "\\", "a'b.com", "[.]", "1", "a", "0", "x" * 300,
]


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except model.BadValue as e:
        return ("BadValue", str(e))


@pytest.mark.parametrize("kind", KINDS)
def test_normalise_matches_the_exact_path_on_every_shape(kind: str) -> None:
    for value in VALUES:
        assert _outcome(model.normalise, kind, value) == _outcome(model.exact_normalise, kind, value), (kind, value)


_ALPHABET = st.sampled_from(list("0123456789abcdefxABCDEFX.:-/_@[](){}' \\#%?=\t") + ["hxxp", "http://", "[.]",
                                                                                     "١", "é", "xn--", "com"])


@settings(max_examples=3000, deadline=None)
@given(kind=st.sampled_from(KINDS), parts=st.lists(_ALPHABET, max_size=24))
def test_normalise_matches_the_exact_path_on_any_text(kind: str, parts: list[str]) -> None:
    value = "".join(parts)
    assert _outcome(model.normalise, kind, value) == _outcome(model.exact_normalise, kind, value)


def test_the_common_shapes_are_taken_at_once() -> None:
    """The shortcut is taken for what a feed is made of (else it would not fail without it)."""
    for kind, value in (("ipv4-addr", "1.2.3.4"), ("domain-name", "example.com"), ("domain-name", "EXAMPLE.COM"),
                        ("url", "https://example.com/a?b#c"), ("url", "http://1.2.3.4:8080/x"),
                        ("file-sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
                        ("ipv6-addr", "2001:DB8::1"), ("", "d41d8cd98f00b204e9800998ecf8427e"), ("", "1.2.3.4"),
                        ("", "example.com"), ("", "http://example.com/")):
        assert model._common(kind, value) == model.exact_normalise(kind, value), (kind, value)


def test_the_url_path_characters_exclude_what_refanging_or_quoting_would_touch() -> None:
    allowed = {chr(c) for c in range(0x21, 0x7F) if model._COMMON_URL.fullmatch("http://a.com/" + chr(c))}
    assert allowed == {chr(c) for c in range(0x21, 0x7F)} - set("'([\\{")


def test_simple_indicator_id_is_the_id_of_the_pattern() -> None:
    for kind in model.SIMPLE_TYPES:
        for value in ("1.2.3.4", "it's", "a\\b", "пример.рф", "x"):
            assert model.simple_indicator_id("US", kind, value) == \
                model.indicator_id("US", model.pattern_for(kind, value))
    assert model.simple_indicator_id("RU", "ipv4-addr", "1.2.3.4") != \
        model.simple_indicator_id("US", "ipv4-addr", "1.2.3.4")


# -- whole feeds: the readers as they were (csv.reader, the full row builder for every line) ------------------


def _reference_csv(stream: Any, d: Defaults, notes: ReadNotes) -> list[Any]:
    """formats.csv.read before the fast paths: csv.reader, and formats.csv._row for every data line."""
    out: list[Any] = []
    reader = csv.reader(stream)
    columns: dict[str, int] | None = None
    where: list[int] | None = None
    comments = False
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if columns is None:
                if cells[0].lstrip().startswith("#"):
                    comments = True
                    candidate = csv_format._header([cells[0].lstrip().lstrip("#")] + cells[1:])
                    if "value" in candidate:
                        if undecodable(cells):
                            return [*out, LineError(line, "not UTF-8 text (an undecodable byte on this line) in "
                                                          "the header")]
                        columns = candidate
                        notes.ignored_columns = csv_format._unused(cells, columns)
                    continue
                if undecodable(cells):
                    return [*out, LineError(line, "not UTF-8 text (an undecodable byte on this line) in the header")]
                columns = csv_format._header(cells)
                if "value" not in columns:
                    return [*out, LineError(line, "no value column in the CSV header (expected e.g. "
                                                  "'type,value,tlp,...'; 'indicator' and 'ioc' also work)")]
                notes.ignored_columns = csv_format._unused(cells, columns)
                continue
            if cells[0].lstrip().startswith("#"):
                continue
            if undecodable(cells):
                out.append(LineError(line, "not UTF-8 text (an undecodable byte on this line)"))
                continue
            if where is None:
                where = [columns.get(k, -1) for k in csv_format._KEYS]
            item = csv_format._row(cells, where, line, d, notes)
            if item is not None:
                out.append(item)
    except csv.Error as e:
        return [*out, LineError(reader.line_num, f"not valid CSV: {e}")]
    if columns is None:
        return [*out, ("EmptyFeed", comments)]
    return out


def _reference_plain(stream: Any, d: Defaults, notes: ReadNotes, kind: str) -> list[Any]:
    """formats.plain.read with build_row for every value."""
    real = LineRows.plain
    LineRows.plain = lambda self, kind, value: build_row(self.d, kind, value)  # type: ignore[method-assign]
    try:
        return _read_all(plain.read(stream, d, notes, kind))
    finally:
        LineRows.plain = real  # type: ignore[method-assign]


@contextmanager
def _exact_values() -> Iterator[None]:
    """model.normalise without its shortcut for the common shapes, while a reference reader runs."""
    real = model.normalise
    model.normalise = model.exact_normalise
    try:
        yield
    finally:
        model.normalise = real


def _read_all(items: Any) -> list[Any]:
    out: list[Any] = []
    try:
        out.extend(items)
    except EmptyFeed as e:
        out.append(("EmptyFeed", "comments" in str(e)))
    return out


def _csv_text(stream: Any) -> Any:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _same_csv(data: bytes, d: Defaults) -> list[Any]:
    notes_new, notes_old = ReadNotes(), ReadNotes()
    new = _read_all(csv_format.read(_csv_text(io.BytesIO(data)), d, notes_new))
    with _exact_values():
        old = _reference_csv(_csv_text(io.BytesIO(data)), d, notes_old)
    if old and old[-1][0] == "EmptyFeed":
        old[-1] = ("EmptyFeed", old[-1][1])
    assert new == old
    assert [type(x) for x in new] == [type(x) for x in old]
    assert notes_new == notes_old
    return new


DEFAULTS = [
    Defaults(author="US", tlp="GREEN", now="2026-12-06T13:00:00Z"),
    Defaults(author="RU", tlp="AMBER", tlp_forced=True, confidence=70, valid_until="2027-06-01T00:00:00Z",
             sectors=("finance", "energy"), labels=("apt",), indicator_types=("malicious-activity",),
             now="2026-12-06T13:00:00Z", origin="RU", asn=64500),
    Defaults(author="US", tlp="GREEN", valid_until="2020-01-01T00:00:00Z", now="2026-12-06T13:00:00Z"),
    Defaults(author="US", tlp="GREEN", sectors=("no-such-sector",), now="2026-12-06T13:00:00Z"),
]

_CSV_HEADER = "type,value,tlp,confidence,valid_from,valid_until,sectors,labels,indicator_types,name,description," \
              "origin,asn,revoked\r\n"

_METADATA = [
    ",GREEN,80,2026-02-14T21:00:00Z,,,apt;ransomware,malicious-activity,,dropper hash,,,",
    ",AMBER,50,2026-01-21T09:00:00Z,2027-01-21T00:00:00Z,,,anomalous-activity,,credential harvesting,,,",
    ",,,,,finance;energy,,,LockBit,C2 server,RU,AS64500,",
    ",red,100,2026-01-21,2027-01-21,Finance|Health,a;a;b,x;x,Emotet,,ru,64500,false",
    ",,,,,,,,,,,,",
    ",PURPLE,,,,,,,,,,,",  # bad TLP
    ",GREEN,101,,,,,,,,,,",  # bad confidence
    ",GREEN,x,,,,,,,,,,",
    ",GREEN,,yesterday,,,,,,,,,",  # bad time
    ",GREEN,,2026-05-01T00:00:00Z,2026-04-01T00:00:00Z,,,,,,,,",  # until before from
    ",GREEN,,,2020-01-01T00:00:00Z,,,,,,,,",  # already past
    ",GREEN,,,,no-such-sector,,,,,,,",
    ",GREEN,,,,,,,,,XX,,",  # bad origin
    ",GREEN,,,,,,,,,,AS0,",  # bad asn
    ",GREEN,,,,,,,,,,,true",  # revoked: skipped
    ",GREEN,,,,,,,,,,,revoked",
    ", GREEN , 80 , 2026-02-14T21:00:00Z ,, energy , apt , , name , description , US , 1 , ",
]


def _corpus_csv() -> bytes:
    """Every type and value shape with every kind of metadata cell, quoted and not, with odd lines between."""
    lines = [_CSV_HEADER]
    kinds = ["", "ip", "ipv4-addr", "ipv6", "domain", "hostname", "url", "uri", "email", "md5", "sha1", "sha256",
             "hash", "cidr", "pattern", "stix", "no-such-type", " IPv4 "]
    for i, (kind, value) in enumerate(itertools.product(kinds, VALUES)):
        meta = _METADATA[i % 5] if i % 3 else _METADATA[i % len(_METADATA)]  # mostly good metadata
        if '"' in value or "," in value or "\n" in value or "\r" in value or i % 7 == 0:
            cell = '"' + value.replace('"', '""') + '"'
        else:
            cell = value
        lines.append(f"{kind},{cell}{meta}\r\n" if i % 3 else f"{kind},{cell}{meta}\n")
        if i % 97 == 0:
            lines.append("\n# a comment line\n  # an indented one\n   \n,\n")
        if i % 89 == 0:
            lines.append("ipv4-addr,1.2.3.4\n")  # a short row
            lines.append("ipv4-addr,1.2.3.5,GREEN,,,,,,,,,,,,extra,cells\n")  # a long one
    lines.append("pattern,\"[ipv4-addr:value = '1.2.3.4']\",GREEN\n")
    lines.append("pattern,\"[domain-name:value = 'a.com' OR url:value = 'http://b.com/']\",GREEN\n")
    lines.append('url,"http://example.com/a,b",GREEN,,,,,,,"a ""quoted"" name","multi\nline\r\ndescription"\n')
    lines.append("domain-name,bad\x00nul.com,GREEN\n")
    lines.append("domain-name,example.com\r,GREEN\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


@pytest.mark.parametrize("d", DEFAULTS, ids=["plain", "defaults", "past-default", "bad-default-sector"])
def test_the_csv_reader_gives_the_rows_and_errors_of_csv_reader_and_the_full_path(d: Defaults) -> None:
    items = _same_csv(b"\xef\xbb\xbf" + _corpus_csv(), d)
    good = [x for x in items if not isinstance(x, LineError)]
    bad = [x for x in items if isinstance(x, LineError)]
    if d.sectors != ("no-such-sector",) and d.valid_until != "2020-01-01T00:00:00Z":
        assert len(good) > 400 and len(bad) > 1000, (len(good), len(bad))  # the corpus exercises both


@pytest.mark.parametrize("data", [
    b"", b"\n\n", b"# only\n# comments\n", b"\xef\xbb\xbftype,value\n", b"value\n1.2.3.4\n \n5.6.7.8\n",
    b"# id,dateadded,url,url_status\n1,2026-01-01,http://example.com/x,online\n",
    b"type,value\nipv4-addr,1.2.3.4\nipv4-addr,\"5.6.7.8\n", b"type,value\nipv4-addr,\"1.2.3.4\"x,\n",
    b"type,value\nipv4-addr,1.2.3.4\xff\nipv4-addr,5.6.7.8\n", b"ty\xffpe,value\nipv4-addr,1.2.3.4\n",
    b"name,comment\nx,y\n", b"type,value\ripv4-addr,1.2.3.4\ripv4-addr,5.6.7.8\r",
    b"type,value\nipv4-addr,1.2.3.4\r\r\nipv4-addr,5.6.7.8\n",
    b"type,value\nipv4-addr," + b"1" * 140000 + b"\nipv4-addr,1.2.3.4\n",
    b"type,value\nipv4-addr,\"" + b"1" * 140000 + b"\"\nipv4-addr,1.2.3.4\n",
    b"type,value\nipv4-addr,1.2.3.4\n\"ipv4-addr\",\"5.6.7.8\"\n\"never,closed\n1.2.3.4\n",
], ids=range(16))
def test_odd_csv_files_read_the_same(data: bytes) -> None:
    _same_csv(data, DEFAULTS[0])


@pytest.mark.parametrize("name", ["network.csv"])
def test_a_real_feed_reads_the_same(name: str) -> None:
    data = (DATA / "feeds" / "stalkerware-indicators" / name).read_bytes()
    items = _same_csv(data, DEFAULTS[0])
    assert len(items) > 500


@pytest.mark.parametrize("d", DEFAULTS[:3], ids=["plain", "defaults", "past-default"])
@pytest.mark.parametrize("kind", ["", "ipv4-addr", "domain-name", "url", "file-sha256", "pattern"])
def test_the_plain_reader_gives_the_rows_and_errors_of_the_full_path(d: Defaults, kind: str) -> None:
    text = "\n".join([*VALUES, "# comment", "0.0.0.0 example.com", "a b", "x.com # tail"]) + "\n"
    for data in (text, (DATA / "feeds" / "stalkerware-indicators" / "quad9_blocklist.txt").read_text("utf-8")):
        new = _read_all(plain.read(io.StringIO(data), d, ReadNotes(), kind))
        with _exact_values():
            old = _reference_plain(io.StringIO(data), d, ReadNotes(), kind)
        assert new == old


# -- the reader process: what the writer receives is what the in-process reader gives -----------------------


def _pipeline_items(path: Path, fmt: str, d: Defaults, kind: str = "") -> tuple[list[Any], ReadNotes]:
    notes = ReadNotes()
    return list(pipeline.read(str(path), fmt, d, kind, notes)), notes


@pytest.mark.parametrize("fmt", ["csv", "txt"])
def test_the_reader_process_hands_over_what_the_reader_gives(tmp_path: Path, fmt: str) -> None:
    if fmt == "csv":
        data = b"\xef\xbb\xbf" + _corpus_csv()
    else:
        data = ("\n".join(VALUES) + "\n").encode()
    path = tmp_path / f"feed.{fmt}"
    path.write_bytes(data)
    d = DEFAULTS[1]
    got, notes = _pipeline_items(path, fmt, d)
    in_process = ReadNotes()
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="" if fmt == "csv" else None) as text:
        items = list(csv_format.read(text, d, in_process) if fmt == "csv" else plain.read(text, d, in_process, ""))
    want = [x if isinstance(x, LineError) else (trim(list(x.row)), x.tlp) for x in items]
    assert [tuple(x) for x in got] == [tuple(x) for x in want]
    assert [type(x) is LineError for x in got] == [isinstance(x, LineError) for x in want]
    assert notes == in_process
    assert len(got) > 100


def test_a_carriage_return_inside_a_line_is_read_as_csv_reader_reads_it() -> None:
    """A text stream that does not split lines at a lone CR (StringIO) hands one over inside a line."""
    text = "type,value\nipv4-addr,1.2.3.4\rx\nipv4-addr,5.6.7.8\n"
    new = _read_all(csv_format.read(io.StringIO(text), DEFAULTS[0], ReadNotes()))
    with _exact_values():
        old = _reference_csv(io.StringIO(text), DEFAULTS[0], ReadNotes())
    assert new == old
    assert len(new) == 1 and new[0].line == 2 and new[0].message.startswith("not valid CSV: new-line character")
