"""The warninglists compiled once per store (docs/adr/0194-compiled-warninglists.md): the same flags as parsing
the lists, a file written on first use and read afterwards without parsing any list, rebuilt when the lists, the
configured names or the ignored lists change, and never trusted when damaged. Real package data, read offline."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbm.measures.indicators import address_ranges, checks, compiled, warninglists
from tests.conftest import Party, count_calls


@pytest.fixture(scope="module")
def lists() -> list[warninglists.WarningList]:
    return list(warninglists.load(warninglists.package_dir(), warninglists.DEFAULT_LISTS).values())


def samples(lists: list[warninglists.WarningList]) -> list[tuple[str, str]]:
    """(type, value) pairs that hit each list and its edges: entries, subdomains, range ends and neighbours."""
    rng = random.Random(15)
    found: list[tuple[str, str]] = [("ipv4-addr", "8.8.8.8"), ("ipv6-addr", "2001:4860:4860::8888"),
                                    ("domain-name", "www.google.com"), ("domain-name", "co.uk"),
                                    ("ipv4-addr", "127.0.0.1"), ("ipv4-addr", "203.0.113.9"),
                                    ("ipv4-addr", "10.0.0.0/8"), ("ipv4-addr", "0.0.0.0/0")]
    for wl in lists:
        picked = list(wl.entries[:50]) + rng.sample(list(wl.entries), min(150, len(wl.entries)))
        for entry in picked:
            if wl.kind == "cidr":
                parsed = address_ranges.parse_range(entry)
                if parsed is None:
                    continue
                version, number, prefix = parsed
                bits = 32 if version == 4 else 128
                last = number | ((1 << (bits - prefix)) - 1)
                kind = "ipv4-addr" if version == 4 else "ipv6-addr"
                import ipaddress

                for n in (number - 1, number, last, last + 1):
                    if 0 <= n < 1 << bits:
                        found.append((kind, str(ipaddress.ip_address(n))))
                found.append((kind, entry.strip()))
            elif wl.kind == "hostname":
                name = entry.strip().lower().lstrip(".").rstrip(".")
                found += [("domain-name", name), ("domain-name", "a.b." + name), ("url", f"https://{name}/")]
            else:
                found.append(("file-sha256" if len(entry) == 64 else "domain-name", entry.strip().lower()))
    return found


def test_compiled_lists_flag_exactly_as_the_lists_parsed(lists):
    """Three checkers over the same settings: lists compiled in memory, the same read back from the compiled
    file, and the reference — one table of every range and name, as the checks were before compiling — agree on
    every sampled value."""
    settings = checks.Settings.of({"indicators": {"checks": {"own_infrastructure": ["8.8.4.0/24", "google.com"]}}})
    in_memory = checks.Checker(settings, lists)
    from_file = checks.Checker(settings, (), compiled.CompiledLists.from_bytes(in_memory.lists.to_bytes()))
    reference = address_ranges.Ranges()
    for text, label in checks.SPECIAL_RANGES:
        if "rule:" + label not in settings.ignore:
            reference.add(text, "rule:" + label)
    reference.add("8.8.4.0/24", checks.OWN)
    for wl in lists:
        if wl.kind == "cidr":
            for entry in wl.entries:
                reference.add(entry, "warninglist:" + wl.name)
    checked = 0
    for kind, value in samples(lists):
        assert from_file.check(kind, value) == in_memory.check(kind, value), (kind, value)
        if kind in ("ipv4-addr", "ipv6-addr") and "/" not in value:
            parsed = address_ranges.parse_range(value)
            assert parsed is not None
            assert in_memory._find(parsed[0], parsed[1]) == reference.find(parsed[0], parsed[1]), value
        checked += 1
    assert checked > 3000
    assert in_memory.check("domain-name", "dns.google.com")[:1] == [checks.OWN]  # our own names first, as before
    assert from_file.counts == in_memory.counts == {wl.name: len(wl.entries) for wl in lists}


def test_the_store_compiles_once_then_reads_the_compiled_file(tmp_path, monkeypatch):
    root = tmp_path / "store"
    root.mkdir()
    checks._CACHE.clear()
    first = checks.checker_for(root, {})
    written = list((root / "warninglists" / "compiled").glob("*.bin"))
    assert len(written) == 1
    assert not (root / "warninglists" / "lists").exists()  # the package's lists stay the ones in use

    def no_parsing(*_args: object) -> None:
        raise AssertionError("the lists were parsed again")

    monkeypatch.setattr(warninglists, "load", no_parsing)
    checks._CACHE.clear()
    again = checks.checker_for(root, {})
    assert again.check("ipv4-addr", "8.8.8.8") == first.check("ipv4-addr", "8.8.8.8") == ["warninglist:public-dns-v4"]
    assert again.check("domain-name", "www.google.com") == first.check("domain-name", "www.google.com")


def test_a_damaged_compiled_file_is_compiled_again_never_trusted(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    checks._CACHE.clear()
    checks.checker_for(root, {})
    [path] = (root / "warninglists" / "compiled").glob("*.bin")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    checks._CACHE.clear()
    checker = checks.checker_for(root, {})
    assert checker.check("ipv4-addr", "8.8.8.8") == ["warninglist:public-dns-v4"]
    assert compiled.CompiledLists.from_bytes(path.read_bytes()) is not None  # written whole again
    path.write_bytes(b"not a compiled file")
    checks._CACHE.clear()
    assert checks.checker_for(root, {}).check("domain-name", "www.google.com")


def test_ignoring_a_list_or_naming_others_compiles_another_set(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    checks._CACHE.clear()
    assert checks.checker_for(root, {}).check("ipv4-addr", "8.8.8.8") == ["warninglist:public-dns-v4"]
    config = {"indicators": {"checks": {"ignore": ["warninglist:public-dns-v4"]}}}
    assert checks.checker_for(root, config).check("ipv4-addr", "8.8.8.8") == []
    config = {"indicators": {"checks": {"warninglists": ["tranco10k"]}}}
    assert checks.checker_for(root, config).check("ipv4-addr", "8.8.8.8") == []
    assert len(list((root / "warninglists" / "compiled").glob("*.bin"))) == 1  # only the newest is kept


def test_an_offline_update_compiles_the_new_lists(make_party: type, tmp_path: Path):
    us: Party = make_party("US")
    carried = tmp_path / "carried" / "lists" / "public-dns-v4"
    carried.mkdir(parents=True)
    (carried / "list.json").write_text(json.dumps({"name": "resolvers", "type": "cidr", "version": 20270101,
                                                   "list": ["9.9.9.9/32"]}))
    assert us.cli("indicators", "add", "--value", "8.8.8.8").exit_code == 0
    before = {p.name for p in (us.root / "warninglists" / "compiled").glob("*.bin")}
    r = us.cli("indicators", "warninglists", "--update", str(tmp_path / "carried"))
    assert r.exit_code == 0, r.stderr
    after = {p.name for p in (us.root / "warninglists" / "compiled").glob("*.bin")}
    assert len(after) == 1 and after != before  # compiled by the update's re-check
    flagged = us.cli("indicators", "list", "--flagged", "--json").json()["indicators"]
    assert flagged == []  # 8.8.8.8 is no longer in the public-dns-v4 list the store now uses
    assert us.cli("indicators", "add", "--value", "9.9.9.9", "--json").json()["flags"] == \
        ["warninglist:public-dns-v4"]
    shutil.rmtree(us.root / "warninglists")  # back to the package's lists: compiled again on first use
    assert us.cli("indicators", "add", "--value", "8.8.4.4", "--json").json()["flags"] == \
        ["warninglist:public-dns-v4"]


def _counting_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the lists' JSON parses made in this process (a child's count stays in the child)."""
    return count_calls(monkeypatch, warninglists, "load")


def test_a_child_process_compiles_the_lists_so_the_importer_never_holds_their_parse(monkeypatch):
    """docs/adr/0245: parsing the lists' JSON leaves ~50 MB in the process that does it; the child pays that, the
    importing process gets the compiled bytes, exactly what compiling here gives."""
    import threading

    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process: the compile stays in-process by design")
    parsed = _counting_loads(monkeypatch)
    directory, names = warninglists.package_dir(), warninglists.DEFAULT_LISTS
    made = compiled._compiled_apart(directory, names, ())
    assert parsed == []  # the child parsed them
    assert made is not None and made == compiled._compile(directory, names, ())
    assert parsed == [1]
    lists = compiled.load_or_compile(None, directory, names, ())
    assert parsed == [1]
    assert lists.find(4, int.from_bytes(bytes([8, 8, 8, 8]), "big")) == ("warninglist:public-dns-v4",)


def test_with_other_threads_running_the_lists_compile_in_process(monkeypatch):
    import threading

    parsed = _counting_loads(monkeypatch)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        lists = compiled.load_or_compile(None, warninglists.package_dir(), warninglists.DEFAULT_LISTS, ())
    finally:
        stop.set()
        other.join()
    assert parsed == [1]
    assert "warninglist:public-dns-hostname" in lists.name("dns.google")


def test_a_failing_compile_in_the_child_is_done_again_here_and_says_why(monkeypatch, capfd):
    def broken(*_args: object) -> bytes:
        raise ValueError("the lists are broken")

    monkeypatch.setattr(compiled, "_compile", broken)
    assert compiled._compiled_apart(warninglists.package_dir(), warninglists.DEFAULT_LISTS, ()) is None
    assert capfd.readouterr().err == ""  # the child left quietly: the in-process compile gives the clean error
    with pytest.raises(ValueError, match="the lists are broken"):
        compiled.load_or_compile(None, warninglists.package_dir(), warninglists.DEFAULT_LISTS, ())


def test_an_import_makes_its_landing_checks_before_it_reads_the_feed(make_party: type, tmp_path: Path, monkeypatch):
    """The compile's child is a fork of the importing process (ADR 0245): made before the feed is parsed, it
    shares a small process's pages, not a parsed MISP event's (a first MISP import of 100k attributes summed 532
    MB over the two processes when the child forked after the parse)."""
    from cbm.measures.indicators.formats import misp

    us: Party = make_party("US")
    shutil.rmtree(us.root / "warninglists" / "compiled", ignore_errors=True)
    checks._CACHE.clear()
    order: list[str] = []
    compile_lists, read_misp = checks.load_or_compile, misp.read

    def lists(*args: object) -> object:
        order.append("landing checks")
        return compile_lists(*args)  # type: ignore[arg-type]

    def read(*args: object) -> object:
        order.append("feed read")
        return read_misp(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(checks, "load_or_compile", lists)
    monkeypatch.setattr(misp, "read", read)
    event = {"Event": {"info": "one", "Attribute": [{"type": "ip-dst", "value": "203.0.113.9", "to_ids": True,
                                                    "uuid": "5a4c2e8f-1b3d-4f6a-9c7e-2d1f0b3a4c5e"}]}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    r = us.cli("indicators", "import", str(path), "--format", "misp")
    assert r.exit_code == 0, r.stderr
    assert order == ["landing checks", "feed read"]


# -- a compile started beside the feed's reader (docs/adr/0285) ------------------------------------------------


def _no_threads() -> None:
    import threading

    if threading.active_count() > 1:
        pytest.skip("another thread runs in this test process: the compile stays in-process by design")


def test_a_compile_started_apart_is_taken_by_the_next_check_then_read_from_its_file(tmp_path, monkeypatch):
    _no_threads()
    parsed = _counting_loads(monkeypatch)
    cache, directory, names = tmp_path / "compiled", warninglists.package_dir(), warninglists.DEFAULT_LISTS
    assert compiled.start(cache, directory, names, ()) is False  # a child compiles; we go on at once
    assert compiled.load(cache, directory, names, ()) is None  # nothing written yet, nothing compiled here
    lists = compiled.load_or_compile(cache, directory, names, ())
    assert parsed == []  # the child's bytes were taken
    assert lists.find(4, int.from_bytes(bytes([8, 8, 8, 8]), "big")) == ("warninglist:public-dns-v4",)
    assert compiled.start(cache, directory, names, ()) is True  # written: a later import waits for nothing
    assert compiled.load(cache, directory, names, ()) is not None and parsed == []


def test_a_compile_no_check_took_is_settled_its_child_reaped_its_file_written(tmp_path, monkeypatch):
    import os

    _no_threads()
    cache, directory, names = tmp_path / "compiled", warninglists.package_dir(), warninglists.DEFAULT_LISTS
    compiled.start(cache, directory, names, ())
    (under_way,) = compiled._UNDER_WAY.values()
    compiled.settle()
    assert compiled._UNDER_WAY == {}
    with pytest.raises(ChildProcessError):
        os.waitpid(under_way.pid, os.WNOHANG)  # reaped: no zombie left behind
    assert compiled.load(cache, directory, names, ()) is not None


def test_a_large_feed_is_read_while_a_fresh_stores_lists_compile_and_flags_as_ever(make_party, tmp_path,
                                                                                     monkeypatch):
    """The reader process starts before the first import's compile ends (the importer waits for it at its first
    batch, the reader checks batches once the compiled file is written): the same flags as a store whose lists
    were compiled beforehand."""
    import os

    from cbm.measures.indicators import pipeline

    _no_threads()
    if len(os.sched_getaffinity(0)) < 2:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    lines = ["type,value,tlp,confidence,valid_until,name,description"]
    flagged = ["ipv4,8.8.8.8,GREEN,50,,,", "domain,google.com,GREEN,50,,,", "ipv4,192.168.1.9,AMBER,50,,,"]
    n = 0
    while sum(map(len, lines)) < pipeline.PARALLEL_MIN_BYTES + 64 * 1024:
        n += 1
        lines.append(f"ipv4,11.{n // 62500}.{n // 250 % 250}.{n % 250 + 1},GREEN,50,,,{'x' * 200}")
        if n % 5000 == 0:
            lines.append(flagged[n // 5000 % 3].replace(",,,", f",,,{n}"))
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert pipeline.worthwhile(str(feed), "csv")

    def flags(party: Party) -> list[tuple[str, str]]:
        with party.open() as store:
            return store.conn.execute("SELECT i.value, f.flag FROM ind_flag f JOIN ind i ON i.sid = f.sid"
                                      " ORDER BY i.value, f.flag").fetchall()

    compiled_before = make_party("US")
    r = compiled_before.cli("indicators", "import", str(feed))
    assert r.exit_code == 0, r.stderr

    fresh = Party("US", tmp_path / "fresh" / "US")
    from cbm.store.trust import create_store

    create_store(fresh.root, "US", "US-CERT", None)
    shutil.rmtree(fresh.root / "warninglists" / "compiled", ignore_errors=True)
    checks._CACHE.clear()
    order: list[str] = []
    collect, read = compiled._collect, pipeline.read

    def collected(*args: object) -> object:
        order.append("lists compiled")
        return collect(*args)  # type: ignore[arg-type]

    def reading(*args: object, **kwargs: object) -> object:
        order.append("reader started")
        yield from read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compiled, "_collect", collected)
    monkeypatch.setattr(pipeline, "read", reading)
    r = fresh.cli("indicators", "import", str(feed))
    assert r.exit_code == 0, r.stderr
    assert order == ["reader started", "lists compiled"]
    assert compiled._UNDER_WAY == {}
    assert len(flags(fresh)) >= 3 * (n // 15000) and flags(fresh) == flags(compiled_before)


def _swept_whole(ranges: address_ranges.Ranges) -> dict[int, tuple[list[int], list[int], list[tuple[str, ...]]]]:
    """The segments of one sweep over every range: what the checks built before runs of ranges were told apart."""
    return {version: address_ranges.swept(list(found)) for version, found in ranges.ranges.items()}


def test_the_segments_of_the_real_lists_are_those_of_one_sweep_over_every_range(lists):
    ranges = address_ranges.Ranges()
    for text, label in checks.SPECIAL_RANGES:
        ranges.add(text, "rule:" + label)
    for wl in lists:
        if wl.kind == "cidr":
            for entry in wl.entries:
                ranges.add(entry, "warninglist:" + wl.name)
    assert len(ranges.ranges[4]) > 60_000  # the public resolvers' addresses, most of them a range of their own
    assert ranges.built() == _swept_whole(ranges)


_RANGE = st.tuples(st.integers(0, 80), st.sampled_from([0, 0, 1, 2, 7, 30]), st.sampled_from("abc"))


@settings(max_examples=400, deadline=None)
@given(st.lists(_RANGE, max_size=40), st.lists(_RANGE, max_size=8))
def test_segments_alone_overlapping_nested_or_repeated_are_those_of_one_sweep(v4, v6):
    """Ranges alone, touching, overlapping, nested, repeated with the same label or another."""
    ranges = address_ranges.Ranges()
    ranges.ranges[4] = [(first, first + length, label) for first, length, label in v4]
    ranges.ranges[6] = [(first, first + length, label) for first, length, label in v6]
    assert ranges.built() == _swept_whole(ranges)


def _compiled_entry_by_entry(lists: list[warninglists.WarningList]) -> compiled.CompiledLists:
    """The lists compiled an entry at a time, each tuple of labels numbered as it is first met: the compile's
    reference."""
    ranges = address_ranges.Ranges()
    names: dict[str, list[str]] = {}
    exact: dict[str, list[str]] = {}
    for wl in lists:
        label = "warninglist:" + wl.name
        for entry in wl.entries:
            if wl.kind == "cidr":
                ranges.add(entry, label)
                continue
            key = entry.strip().lower().rstrip(".")
            key = key[1:] if key.startswith(".") else key
            (names if wl.kind == "hostname" else exact).setdefault(key, []).append(
                checks.PUBLIC_SUFFIX if wl.name in compiled.SUFFIX_LISTS else label)
    index: dict[tuple[str, ...], int] = {}
    number = lambda found: index.setdefault(tuple(found), len(index))  # noqa: E731
    name_index = {key: number(found) for key, found in names.items()}
    exact_index = {key: number(found) for key, found in exact.items()}
    segments = {version: (starts, ends, [number(labels) for labels in found])
                for version, (starts, ends, found) in ranges.built().items()}
    return compiled.CompiledLists(list(index), {wl.name: len(wl.entries) for wl in lists}, names=name_index,
                                  exact=exact_index, segments=segments)


def test_the_compiled_file_is_the_one_compiled_entry_by_entry(lists):
    odd = [warninglists.WarningList("odd-cidr", "cidr", "1", ("8.8.8.8", " 9.9.9.9 ", "1.1.1.1", "8.8.8.8")),
           warninglists.WarningList("mixed-cidr", "cidr", "1", ("8.8.8.8", "2001:db8::1", "10.0.0.0/8", "x",
                                                                "1.2.3.4/33", "1.2.3.4/", "", "1.2.3.4/+8")),
           warninglists.WarningList("odd-names", "hostname", "1", (".Example.COM.", " google.com", "..x", "",
                                                                   "google.com", ".")),
           warninglists.WarningList("odd-strings", "string", "1", ("D41D8CD98F00B204E9800998ECF8427E", ".co.uk"))]
    for chosen in (lists, odd, lists + odd):
        assert compiled.CompiledLists.build(chosen).to_bytes() == _compiled_entry_by_entry(chosen).to_bytes()
