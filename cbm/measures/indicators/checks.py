"""Checks at landing: is this indicator safe to put in a firewall? (docs/adr/0190-landing-checks.md)

Every indicator is checked when it is indexed against built-in rules (special-purpose address ranges of
RFC 6890 and its successors, ranges broader than a configured prefix, the whole address space, our own
infrastructure from ``config.toml``, public suffixes) and against the MISP warninglists
(:mod:`cbm.measures.indicators.warninglists`). A hit is a *flag* naming the rule (``rule:loopback``) or the list
(``warninglist:tranco10k``); the record stays as signed, the flag lives in the rebuildable index.

The lookups run once per indicator of a million-line feed: addresses are integers looked up in one dict per
prefix length, names are looked up suffix by suffix in one dict; no ``ipaddress`` objects on the hot path.
"""

from __future__ import annotations

import socket
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import and_, eq, itemgetter, le, or_, rshift, sub
from operator import not_ as _not
from pathlib import Path
from typing import Any, Literal

from cbm.measures.indicators import warninglists
from cbm.measures.indicators.address_ranges import Ranges, parse_range
from cbm.measures.indicators.columns import positions_by_kind
from cbm.measures.indicators.compiled import CompiledLists, load, load_or_compile, start

ALL_ADDRESSES = "rule:all-addresses"
BROAD_CIDR = "rule:broad-cidr"
OWN = "rule:own-infrastructure"
PUBLIC_SUFFIX = "rule:public-suffix"

# IANA special-purpose address registries (RFC 6890, updated by RFC 8190 and later entries), plus multicast and
# the reserved class E space: none of these is a peer's attacker on the Internet.
SPECIAL_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this-network"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared-address-space"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "ietf-protocol-assignments"), ("192.0.2.0/24", "documentation"),
    ("192.31.196.0/24", "as112"), ("192.52.193.0/24", "amt"), ("192.88.99.0/24", "6to4-relay"),
    ("192.168.0.0/16", "private"), ("192.175.48.0/24", "as112"), ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"), ("203.0.113.0/24", "documentation"), ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"), ("255.255.255.255/32", "broadcast"),
    ("::/128", "unspecified"), ("::1/128", "loopback"), ("::ffff:0:0/96", "ipv4-mapped"),
    ("64:ff9b:1::/48", "local-translation"), ("100::/64", "discard-only"),
    ("2001::/23", "ietf-protocol-assignments"), ("2001:db8::/32", "documentation"), ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"), ("5f00::/16", "srv6-sids"), ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"), ("ff00::/8", "multicast"),
)

# Special-use domain names (RFC 2606, RFC 6761, RFC 6762, RFC 8375): a name under one of these is that rule's and
# nothing else's (the Tranco list ranks example.org among the top sites because documentation links to it).
SPECIAL_NAMES: dict[str, str] = {
    "example": "documentation", "example.com": "documentation", "example.net": "documentation",
    "example.org": "documentation", "test": "documentation", "invalid": "invalid-name", "localhost": "loopback",
    "local": "link-local", "home.arpa": "private",
}

DEFAULT_MIN_PREFIX = {4: 16, 6: 32}  # a range broader than /16 (IPv4) or /32 (IPv6) is flagged
# Flags a store switches off when its config.toml does not say (``[indicators.checks] ignore``): none. A lab or
# training store whose samples use the documentation ranges sets ``ignore = ["rule:documentation"]``.
# ``rule:all-addresses`` cannot be switched off.
DEFAULT_IGNORE: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """What ``[indicators.checks]`` in config.toml sets."""

    min_prefix: dict[int, int]
    own: tuple[str, ...]
    lists: tuple[str, ...]
    ignore: tuple[str, ...] = ()

    @staticmethod
    def of(config: dict[str, Any]) -> Settings:
        """Settings from a store's parsed config (defaults where it says nothing or something unusable)."""
        section = config.get("indicators", {}).get("checks", {}) if isinstance(config.get("indicators"), dict) \
            else {}
        section = section if isinstance(section, dict) else {}
        v4, v6 = section.get("min_ipv4_prefix"), section.get("min_ipv6_prefix")
        own = section.get("own_infrastructure", [])
        lists = section.get("warninglists", list(warninglists.DEFAULT_LISTS))
        ignore = section.get("ignore", list(DEFAULT_IGNORE))
        return Settings(
            {4: v4 if isinstance(v4, int) and 0 <= v4 <= 32 else DEFAULT_MIN_PREFIX[4],
             6: v6 if isinstance(v6, int) and 0 <= v6 <= 128 else DEFAULT_MIN_PREFIX[6]},
            tuple(str(o) for o in own) if isinstance(own, list) else (),
            tuple(str(name) for name in lists) if isinstance(lists, list) else warninglists.DEFAULT_LISTS,
            tuple(str(flag) for flag in ignore if flag != ALL_ADDRESSES) if isinstance(ignore, list)
            else DEFAULT_IGNORE)


class Checker:
    """Flags for one indicator's (type, value): which rules and warninglists it hits.

    The built-in rules and our own infrastructure are built here (a few dozen entries); the warninglists come
    compiled (:class:`cbm.measures.indicators.compiled.CompiledLists`, loaded from the store in milliseconds by
    :func:`checker_for`) or are compiled from ``lists``."""

    def __init__(self, settings: Settings, lists: Iterable[warninglists.WarningList],
                 compiled: CompiledLists | None = None) -> None:
        self.settings = settings
        self.ranges = Ranges()
        self.names: dict[str, list[str]] = {}  # our own names and their subdomains (the lists': self.lists)
        ignored = set(settings.ignore)
        for text, label in SPECIAL_RANGES:
            if "rule:" + label not in ignored:
                self.ranges.add(text, "rule:" + label)
        for entry in settings.own:
            if not self.ranges.add(entry, OWN):
                self.names.setdefault(entry.strip().lower().rstrip("."), []).append(OWN)
        self.lists = compiled if compiled is not None else CompiledLists.build(lists, ignored)
        self.counts = self.lists.counts
        # the hot path's tables, looked up once: a compiled part is decoded when a check first needs it
        self._rules = self.ranges.built()
        self._listed: dict[int, tuple[Sequence[int], Sequence[int], Sequence[int]]] = {}
        self._labels = self.lists.labels
        self._blocks: bytearray | None = None
        self._keys: frozenset[str] | None = None
        self._v6: tuple[tuple[list[int], list[int]], ...] | None = None

    def check(self, kind: str, value: str | None) -> list[str]:
        """The flags of an indicator of type ``kind`` with normalised ``value`` (empty: nothing matched).

        Runs once per landing indicator (a million at a national feed): the common shapes (one IPv4 address,
        a domain, a hash) take a few dictionary or bisect steps and no allocation when nothing matches."""
        if not value:
            return []
        if kind == "ipv4-addr" or kind == "ipv6-addr":
            return self._address(value)
        if kind == "domain-name":
            return self._name(value)
        if kind == "url":
            rest = value.split("://", 1)[-1]
            slash = rest.find("/")
            host = rest if slash < 0 else rest[:slash]
            path = "" if slash < 0 else rest[slash:]
            host = host.rsplit("@", 1)[-1]
            if host.startswith("[") or host[:1].isdigit():
                return self._address(host.strip("[]").rsplit(":", 1)[0] if not host.startswith("[")
                                     else host[1:host.find("]")])
            if path in ("", "/"):  # a whole site, not one page on it
                return self._name(host.rsplit(":", 1)[0])
            # one page on a top site may well be hostile (a shared document, a paste): only our own names count
            if not self.settings.own:
                return []
            return [flag for flag in self._name(host.rsplit(":", 1)[0]) if flag == OWN]
        index = self.lists.exact.get(value.lower())
        return list(self._labels[index]) if index is not None else []

    def check_many(self, kinds: Sequence[str], values: Sequence[Any]) -> list[list[str]]:
        """:meth:`check` for a column of indicators: entry ``i`` is ``check(kinds[i], values[i])``, exactly.

        A landing batch's addresses, domain names, URLs and hashes are first screened together in C-level
        passes (an IPv4 address by the /20 block it falls in, an IPv6 address by a binary search in the ranges,
        a name suffix by suffix against one set of names, a URL by its shape and a whole site's host as a name,
        a hash against the exact values): only a value the screen cannot clear goes through :meth:`check`, so a
        batch of which few are flagged costs a few passes over the column. Every value of a batch too small for
        the screens to pay is checked one by one. ``kinds`` must be text (a batch whose types are not takes the
        row-by-row path before it comes here).

        The entries of the indicators nothing flags are one shared empty list (a batch's column costs one C-level
        pass, not 5,000 list allocations): read them, never append to them."""
        n = len(kinds)
        if n < _SCREEN_FROM:
            return list(map(self.check, kinds, values))
        flags: list[list[str]] = [_UNFLAGGED] * n
        groups = positions_by_kind(kinds)  # one pass, shared with the landing gate's look at the same column
        for kind, screen in ((_IPV4, self._screen_ipv4), (_DOMAIN, self._screen_names), (_URL, self._screen_urls),
                             (_IPV6, self._screen_ipv6)):
            where = groups.get(kind)
            if where:
                self._fill(flags, where, kinds, values, screen)
        others = list(chain.from_iterable(where for kind, where in groups.items() if kind not in _NOT_EXACT))
        if others:
            self._fill(flags, others, kinds, values, self._screen_exact)
        return flags

    def _fill(self, flags: list[list[str]], where: list[int], kinds: Sequence[str], values: Sequence[Any],
              screen: Callable[[list[Any]], Sequence[int]]) -> None:
        """Check the indicators at positions ``where`` whose values ``screen`` cannot clear (all of them when
        the screen fails on a value of an unexpected shape)."""
        picked = list(map(values.__getitem__, where))
        try:
            maybe: Iterable[int] = compress(where, screen(picked))
        except (TypeError, ValueError, OSError):  # a value not of the kind's usual shape: each one by one
            maybe = where
        check = self.check
        for i in maybe:
            flags[i] = check(kinds[i], values[i])

    def _screen_ipv4(self, values: list[Any]) -> Sequence[int]:
        """Per dotted-quad IPv4 address, whether a rule's or a list's range may hold it: its /20 block is
        touched by one (raises on any other value)."""
        blocks = self._ipv4_blocks()
        packed = map(_inet_pton, repeat(_AF_INET), values)
        return list(map(blocks.__getitem__, map(rshift, map(_from_bytes, packed, repeat(_BIG)), repeat(_BLOCK))))

    def _ipv4_blocks(self) -> bytearray:
        """One byte per /20 block of the IPv4 space: 1 where a rule's or a list's segment touches the block
        (1 MiB, built on first use from the segments)."""
        if self._blocks is None:
            blocks = bytearray(1 << (32 - _BLOCK))
            starts, ends, _labels = self._rules[4]
            first, last, _found = self.lists.segments(4)
            lows = list(map(rshift, chain(starts, first), repeat(_BLOCK)))
            highs = list(map(rshift, chain(ends, last), repeat(_BLOCK)))
            within = list(map(eq, lows, highs))  # most segments (single addresses) lie within one block
            for _ in map(blocks.__setitem__, compress(lows, within), repeat(1)):
                pass
            for low, high in compress(zip(lows, highs, strict=True), map(_not, within)):
                blocks[low:high + 1] = b"\x01" * (high + 1 - low)
            self._blocks = blocks
        return self._blocks

    def _screen_names(self, values: list[Any]) -> Sequence[int]:
        """Per domain name, whether it is an exact entry, or it or a suffix after one of its dots a special, own
        or listed name (what :meth:`_name` looks up); raises on a value that is not text."""
        keys = self._name_keys()
        labels = list(map(str.lower, values))
        hits = list(map(or_, map(keys.__contains__, labels), map(self.lists.exact.__contains__, labels)))
        where: list[int] = list(range(len(values)))
        while where:
            parts = list(map(str.partition, labels, repeat(".")))
            where = list(compress(where, map(itemgetter(1), parts)))
            labels = list(compress(map(itemgetter(2), parts), map(itemgetter(1), parts)))
            for i in compress(where, map(keys.__contains__, labels)):
                hits[i] = True
        return hits

    def _screen_urls(self, values: list[Any]) -> Sequence[int]:
        """Per URL, whether :meth:`check` may flag it: its host (without its port) is an IPv6 address or an
        IPv4 address the address screen cannot clear, or it names a whole site whose host the name screen cannot
        clear, or the store names its own infrastructure (only then does a page on a named host count); raises
        on a value that is not text."""
        if self.settings.own:
            return [True] * len(values)
        sites = list(map(str.partition, map(itemgetter(-1), map(str.split, values, repeat("://"), repeat(1))),
                         repeat("/")))
        hosts = list(map(itemgetter(2), map(str.rpartition, map(itemgetter(0), sites), repeat("@"))))
        firsts = list(map(_FIRST, hosts))
        numeric = list(map(str.isdigit, firsts))
        maybe = list(map("[".__eq__, firsts))  # an IPv6 host: checked
        whole = list(map(_not, map(itemgetter(2), sites)))  # nothing after the host's "/": the site itself
        named = list(map(_not, map(or_, maybe, numeric)))
        for at, screen in ((list(compress(range(len(values)), numeric)), self._screen_ipv4),
                           (list(compress(range(len(values)), map(and_, whole, named))), self._screen_names)):
            if not at:
                continue
            # each host without its port, as check takes it
            texts = list(map(itemgetter(0), map(str.rsplit, map(hosts.__getitem__, at), repeat(":"), repeat(1))))
            try:
                held: Iterable[int] = compress(at, screen(texts))
            except (TypeError, ValueError, OSError):  # a host that is no dotted quad: each of them checked
                held = at
            for i in held:
                maybe[i] = True
        return maybe

    def _screen_ipv6(self, values: list[Any]) -> Sequence[int]:
        """Per IPv6 address, whether a rule's or a list's range holds it (one binary search in each, mapped over
        the column); a range (``/``) always may, its prefix judged by :meth:`check` (raises on a value that is
        not one address or range, or not text)."""
        maybe = list(map(str.__contains__, values, repeat("/")))
        alone = list(compress(values, map(_not, maybe))) if any(maybe) else values
        if not alone:
            return maybe
        numbers = list(map(_from_bytes, map(_inet_pton, repeat(_AF_INET6), alone), repeat(_BIG)))
        held = [False] * len(numbers)
        for starts, ends in self._ipv6_tables():
            # each table begins with an empty segment before every address: the search never lands before it
            ending = map(ends.__getitem__, map(sub, map(bisect_right, repeat(starts), numbers), repeat(1)))
            held = list(map(or_, held, map(le, numbers, ending)))
        if alone is values:
            return held
        found = iter(held)
        return [True if slashed else next(found) for slashed in maybe]

    def _ipv6_tables(self) -> tuple[tuple[list[int], list[int]], ...]:
        """The starts and ends of the rules' and the lists' IPv6 segments, each after a segment ``[-1, -1]``."""
        if self._v6 is None:
            rules, listed = self._rules[6], self.lists.segments(6)
            self._v6 = tuple(([-1, *starts], [-1, *ends]) for starts, ends, _ in (rules, listed))
        return self._v6

    def _name_keys(self) -> frozenset[str]:
        """Every name :meth:`_name` looks a name's suffixes up under (built on first use)."""
        if self._keys is None:
            self._keys = frozenset((*SPECIAL_NAMES, *self.names, *self.lists.names))
        return self._keys

    def _screen_exact(self, values: list[Any]) -> Sequence[int]:
        """Per value of another kind (a hash...), whether it is an exact entry; raises on one that is not text."""
        return list(map(self.lists.exact.__contains__, map(str.lower, values)))

    def _find(self, version: int, number: int) -> tuple[str, ...]:
        """Labels of every built-in, own and list range holding the address, sorted (one set, as one table)."""
        starts, ends, labels = self._rules[version]
        i = bisect_right(starts, number) - 1
        rules = labels[i] if i >= 0 and number <= ends[i] else ()
        segments = self._listed.get(version)
        if segments is None:
            segments = self._listed[version] = self.lists.segments(version)
        first, last, found = segments
        i = bisect_right(first, number) - 1
        if i < 0 or number > last[i]:
            return rules
        listed = self._labels[found[i]]
        return tuple(sorted({*rules, *listed})) if rules else listed

    def _address(self, value: str) -> list[str]:
        if "/" not in value and ":" not in value:  # the common case: one IPv4 address
            try:
                found = self._find(4, int.from_bytes(_inet_pton(_AF_INET, value), "big"))
            except (OSError, ValueError):  # not an address (ValueError: a NUL in it)
                return []
            return list(found)
        parsed = parse_range(value)
        if parsed is None:
            return []
        version, number, prefix = parsed
        if prefix == 0:
            return [ALL_ADDRESSES]
        flags: list[str] = []
        if prefix < self.settings.min_prefix[version] and BROAD_CIDR not in self.settings.ignore:
            flags.append(BROAD_CIDR)
        flags.extend(self._find(version, number))
        return list(dict.fromkeys(flags))

    def _name(self, value: str) -> list[str]:
        value = value.lower()
        dot = value.rfind(".")
        special = SPECIAL_NAMES.get(value[dot + 1:])
        if special is None and dot > 0:
            special = SPECIAL_NAMES.get(value[value.rfind(".", 0, dot) + 1:])
        if special is not None:
            flag = "rule:" + special
            return [] if flag in self.settings.ignore else [flag]
        flags: list[str] | None = None
        labels = self._labels
        exact = self.lists.exact.get(value)
        if exact is not None:
            flags = list(labels[exact])
        names = self.names
        listed = self.lists.names
        label = value
        while True:
            found = names.get(label)
            if found:
                flags = (flags or []) + found
            index = listed.get(label)
            if index is not None:
                flags = (flags or []) + list(labels[index])
            dot = label.find(".")
            if dot < 0:
                break
            label = label[dot + 1:]
        return list(dict.fromkeys(flags)) if flags else []


_inet_pton = socket.inet_pton
_AF_INET = socket.AF_INET
_from_bytes = int.from_bytes
_BIG: Literal["big"] = "big"
_BLOCK = 12  # the IPv4 screen's blocks: /20
_SCREEN_FROM = 256  # indicators in a batch: the screens' tables cost ~60 ms to build, once per process
_IPV4, _DOMAIN, _URL, _IPV6 = "ipv4-addr", "domain-name", "url", "ipv6-addr"
_AF_INET6 = socket.AF_INET6
_NOT_EXACT = frozenset((_IPV4, _DOMAIN, _URL, _IPV6))  # every other kind is an exact look-up
_FIRST = itemgetter(slice(0, 1))
_UNFLAGGED: list[str] = []  # check_many's entry for every indicator nothing flags: shared, never changed


_CACHE: dict[tuple[Any, ...], Checker] = {}


def checker_for(root: Path, config: dict[str, Any], *, cache: bool = True) -> Checker:
    """The checker for the store at ``root`` (its config and its warninglists). Checkers are kept per process by
    what they are built from: stores with the same settings and lists share one, and a change of either builds
    a new one. The lists come compiled from ``<root>/warninglists/compiled`` (milliseconds), compiled and written
    there the first time (about a second); ``cache`` False (no store on disk) compiles without writing."""
    settings, directory, key = _made_of(root, config)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    compiled = load_or_compile(root / warninglists.STORE_DIR / "compiled" if cache else None, directory,
                               settings.lists, settings.ignore)
    return _kept(key, Checker(settings, (), compiled))


def start_compiling(root: Path, config: dict[str, Any]) -> bool:
    """True if the checker for the store at ``root`` can be made at once (its warninglists are compiled); else
    begin compiling them in a child process and return False: the next :func:`checker_for` waits for it. An
    import reads its feed meanwhile (docs/adr/0285)."""
    settings, directory, key = _made_of(root, config)
    return key in _CACHE or start(root / warninglists.STORE_DIR / "compiled", directory, settings.lists,
                                  settings.ignore)


def checker_if_compiled(root: Path, config: dict[str, Any]) -> Checker | None:
    """The checker for the store at ``root`` if its warninglists are compiled (in memory or in the store's
    compiled file), else None: never compiles (a reader process asks while the importing process compiles)."""
    settings, directory, key = _made_of(root, config)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    compiled = load(root / warninglists.STORE_DIR / "compiled", directory, settings.lists, settings.ignore)
    return _kept(key, Checker(settings, (), compiled)) if compiled is not None else None


def _made_of(root: Path, config: dict[str, Any]) -> tuple[Settings, Path | None, tuple[Any, ...]]:
    """The settings and lists directory a store's checker is made of, and the key it is kept under."""
    settings = Settings.of(config)
    directory, _origin = warninglists.lists_dir(root)
    return settings, directory, (settings.min_prefix[4], settings.min_prefix[6], settings.own, settings.lists,
                                 settings.ignore, str(directory), _mtime(directory))


def _kept(key: tuple[Any, ...], checker: Checker) -> Checker:
    if len(_CACHE) >= 4:  # a long-lived process (a TAXII server, the tests) meets few settings at a time
        _CACHE.clear()
    _CACHE[key] = checker
    return checker


def _mtime(directory: Path | None) -> float:
    try:
        return directory.stat().st_mtime if directory is not None else 0.0
    except OSError:
        return 0.0
