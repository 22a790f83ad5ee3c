"""The landing checks over a whole batch column (``Checker.check_many``, docs/adr/0222-screened-landing-checks.md)
give exactly the flags of checking each indicator on its own: the C-level screens may send a value to the exact
check needlessly, but never clear one the exact check would flag. Real package warninglists, read offline."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.measures.indicators import checks, warninglists
from tests.measures.test_indicators_compiled import samples


@pytest.fixture(scope="module")
def lists() -> list[warninglists.WarningList]:
    return list(warninglists.load(warninglists.package_dir(), warninglists.DEFAULT_LISTS).values())


def _variants(kind: str, value: str) -> list[tuple[str, str]]:
    """A listed value and the shapes a feed may give it or its neighbours (case, URLs, subdomains, ports)."""
    out = [(kind, value), (kind, value.upper())]
    if kind == "domain-name":
        out += [("domain-name", "x." + value), ("domain-name", value + "."), ("domain-name", "x" + value),
                ("url", f"http://{value}"), ("url", f"https://user@{value}:8443/"), ("url", f"https://{value}/a/b"),
                ("url", f"{value}/x"), ("file-sha256", value)]
    if kind == "ipv4-addr" and "/" not in value:
        out += [("url", f"http://{value}/x"), ("url", f"https://{value}:443/"), ("ipv4-addr", value + "/32"),
                ("ipv4-addr", " " + value), ("ipv4-addr", value + ".1")]
    if kind == "ipv6-addr":
        out += [("url", f"http://[{value}]/x")]
    return out


ODD: list[tuple[str, Any]] = [
    ("ipv4-addr", None), ("ipv4-addr", ""), ("ipv4-addr", "1.2.3"), ("ipv4-addr", "01.2.3.4"),
    ("ipv4-addr", "255.255.255.255"), ("ipv4-addr", "0.0.0.0"), ("ipv4-addr", "::ffff:10.0.0.1"),
    ("ipv4-addr", "0.0.0.0/0"), ("ipv4-addr", "10.0.0.0/7"), ("domain-name", None), ("domain-name", ""),
    ("domain-name", "."), ("domain-name", "a..b"), ("domain-name", "EXAMPLE.ORG"), ("domain-name", "localhost"),
    ("domain-name", "printer.local"), ("domain-name", "co.uk"), ("url", None), ("url", ""), ("url", "://"),
    ("url", "https://"), ("url", "https://[::1]/x"), ("url", "https://1.1.1.1"), ("url", "ftp://a@b@8.8.8.8/"),
    ("url", "https://example.org"), ("url", "https://evil.example/x"), ("url", "https://٣.example/x"),
    ("file-md5", None), ("file-md5", "D41D8CD98F00B204E9800998ECF8427E"), ("pattern", "[x]"),
    ("ipv6-addr", "::1"), ("ipv6-addr", None), ("ipv6-addr", "2001:db8::/32"), ("ipv6-addr", "::/0"),
    ("ipv6-addr", "8.8.8.8"), ("ipv6-addr", "2001:4860:4860::8888"), ("ipv6-addr", "fe80::1%eth0"),
    ("email-addr", "a@b.test"),
]


@pytest.mark.parametrize("own", [[], ["8.8.4.0/24", "google.com", "203.0.113.7"]])
def test_a_column_is_flagged_as_each_indicator_is(lists, own) -> None:
    """Every sampled list entry, range edge and neighbour, in many shapes and mixed in one column as a feed's
    batch mixes them, with and without our own infrastructure configured."""
    settings_ = checks.Settings.of({"indicators": {"checks": {"own_infrastructure": own}}})
    checker = checks.Checker(settings_, lists)
    column = list(ODD) + [variant for kind, value in samples(lists) for variant in _variants(kind, value)]
    random.Random(20).shuffle(column)
    kinds, values = [k for k, _ in column], [v for _, v in column]
    expected = list(map(checker.check, kinds, values))
    assert checker.check_many(kinds, values) == expected
    assert sum(map(bool, expected)) > len(column) // 10  # the sample hits the lists, or it proves nothing


HOSTS = st.sampled_from(["google.com", "a.example.org", "8.8.8.8", "10.0.0.1", "[2001:db8::1]", "evil.test",
                         "co.uk", "x.amazonaws.com", "1.2.3.4.5", "@", ""])
ADDRESSES_6 = st.one_of(
    st.sampled_from(["::1", "::", "2001:db8::1", "2001:4860:4860::8888", "2606:4700:4700::1111", "fe80::1",
                     "::ffff:10.0.0.1", "8.8.8.8", " ::1", "fe80::1%eth0", "2001:db8::1/", "64:ff9b:1::"]),
    st.integers(0, (1 << 128) - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    st.integers(0, 65535).map(lambda n: f"2001:4860:{n:x}::"))
COLUMN = st.lists(st.one_of(
    st.tuples(st.just("ipv4-addr"), st.one_of(
        st.none(), st.text(max_size=6),
        st.tuples(*[st.integers(0, 255)] * 4).map(lambda q: ".".join(map(str, q))))),
    st.tuples(st.just("domain-name"), st.one_of(st.none(), st.text(max_size=8), HOSTS)),
    st.tuples(st.just("url"), st.one_of(st.none(), st.text(max_size=8), st.builds(
        lambda scheme, host, path: scheme + host + path, st.sampled_from(["", "https://", "http://u@"]), HOSTS,
        st.sampled_from(["", "/", "/x", ":80/", "/a/b?c"])))),
    st.tuples(st.just("ipv6-addr"), st.one_of(
        st.none(), st.text(max_size=6), ADDRESSES_6,
        st.builds(lambda address, length: f"{address}/{length}", ADDRESSES_6, st.integers(-1, 129)))),
    st.tuples(st.sampled_from(["file-md5", "file-sha256", "pattern", "ipv6-addr"]),
              st.one_of(st.none(), st.text(max_size=8), st.just("d41d8cd98f00b204e9800998ecf8427e"))),
), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(COLUMN)
def test_odd_columns_are_flagged_as_each_indicator_is(column: list[tuple[str, Any]]) -> None:
    checker = _checker()
    column = column * (checks._SCREEN_FROM // len(column) + 1)  # long enough for the screens to run
    kinds, values = [k for k, _ in column], [v for _, v in column]
    assert checker.check_many(kinds, values) == list(map(checker.check, kinds, values))


_CHECKERS: list[checks.Checker] = []


def _checker() -> checks.Checker:
    if not _CHECKERS:
        settings_ = checks.Settings.of({})
        _CHECKERS.append(checks.Checker(settings_, warninglists.load(warninglists.package_dir(),
                                                                     settings_.lists).values()))
    return _CHECKERS[0]


def test_the_ipv4_screen_marks_every_block_a_rule_or_a_list_touches(lists) -> None:
    """The screen's table (one byte a /20 block) against one made segment by segment: a block left unmarked would
    clear an address the exact check flags."""
    settings_ = checks.Settings.of({"indicators": {"checks": {"own_infrastructure": ["8.8.4.0/22", "1.0.0.0/9"]}}})
    checker = checks.Checker(settings_, lists)
    expected = bytearray(1 << (32 - checks._BLOCK))
    starts, ends, _labels = checker.ranges.built()[4]
    first, last, _found = checker.lists.segments(4)
    for low, high in (*zip(starts, ends, strict=True), *zip(first, last, strict=True)):
        expected[low >> checks._BLOCK:(high >> checks._BLOCK) + 1] = b"\x01" * ((high >> checks._BLOCK) + 1 -
                                                                               (low >> checks._BLOCK))
    assert checker._ipv4_blocks() == expected
    assert 0 < expected.count(1) < len(expected)
