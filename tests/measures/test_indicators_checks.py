"""The landing checks, rule by rule, each with a real example (docs/adr/0190-landing-checks.md): built-in
special-purpose ranges, broad ranges, our own infrastructure, public suffixes, and the MISP warninglists shipped
by pymispwarninglists (the real package data, read offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cbm.measures.indicators import checks, warninglists


@pytest.fixture
def checker(monkeypatch: pytest.MonkeyPatch) -> checks.Checker:
    monkeypatch.setattr(checks, "DEFAULT_IGNORE", ())  # production defaults: documentation ranges flagged too
    settings = checks.Settings.of({})
    return checks.Checker(settings, warninglists.load(warninglists.package_dir(), settings.lists).values())


@pytest.mark.parametrize(("kind", "value", "flag"), [
    ("ipv4-addr", "0.0.0.0/0", "rule:all-addresses"),
    ("ipv6-addr", "::/0", "rule:all-addresses"),
    ("ipv4-addr", "127.0.0.1", "rule:loopback"),
    ("ipv6-addr", "::1", "rule:loopback"),
    ("ipv4-addr", "10.0.0.1", "rule:private"),
    ("ipv4-addr", "192.168.1.20", "rule:private"),
    ("ipv4-addr", "100.64.12.1", "rule:shared-address-space"),
    ("ipv4-addr", "169.254.169.254", "rule:link-local"),  # the cloud metadata address
    ("ipv6-addr", "fe80::1", "rule:link-local"),
    ("ipv6-addr", "fd12:3456:789a::1", "rule:unique-local"),
    ("ipv4-addr", "224.0.0.251", "rule:multicast"),  # mDNS
    ("ipv6-addr", "ff02::1", "rule:multicast"),
    ("ipv4-addr", "255.255.255.255", "rule:broadcast"),
    ("ipv4-addr", "240.0.0.1", "rule:reserved"),
    ("ipv4-addr", "198.18.0.1", "rule:benchmarking"),
    ("ipv4-addr", "192.0.2.1", "rule:documentation"),
    ("ipv6-addr", "2001:db8::1", "rule:documentation"),
    ("ipv6-addr", "3fff::1", "rule:documentation"),  # RFC 9637
    ("ipv4-addr", "10.1.0.0/16", "rule:private"),  # a range inside a special-purpose block
    ("ipv4-addr", "185.0.0.0/8", "rule:broad-cidr"),
    ("ipv6-addr", "2a00::/12", "rule:broad-cidr"),
    ("ipv4-addr", "8.8.8.8", "warninglist:public-dns-v4"),  # Google Public DNS
    ("ipv4-addr", "1.1.1.1", "warninglist:public-dns-v4"),  # Cloudflare's resolver
    ("ipv6-addr", "2001:4860:4860::8888", "warninglist:public-dns-v6"),
    ("ipv4-addr", "52.95.110.1", "warninglist:amazon-aws"),
    ("ipv4-addr", "104.16.0.1", "warninglist:cloudflare"),
    ("domain-name", "google.com", "warninglist:tranco10k"),
    ("domain-name", "mail.google.com", "warninglist:tranco10k"),  # a hostname list covers subdomains
    ("url", "https://www.wikipedia.org/", "warninglist:tranco10k"),  # a whole site
    ("domain-name", "co.uk", "rule:public-suffix"),
    ("domain-name", "www.example.org", "rule:documentation"),  # RFC 2606, not the Tranco entry
    ("domain-name", "c2.test", "rule:documentation"),  # RFC 6761
    ("domain-name", "db.localhost", "rule:loopback"),
    ("domain-name", "printer.local", "rule:link-local"),  # RFC 6762
    ("domain-name", "com.ru", "rule:public-suffix"),
    ("file-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "warninglist:empty-hashes"),  # SHA-256 of the empty file
    ("file-md5", "d41d8cd98f00b204e9800998ecf8427e", "warninglist:empty-hashes"),
])
def test_each_rule_flags_its_real_example(checker: checks.Checker, kind: str, value: str, flag: str) -> None:
    assert flag in checker.check(kind, value)


@pytest.mark.parametrize(("kind", "value"), [
    ("ipv4-addr", "185.220.101.4"),  # a Tor exit relay: a real indicator, not on any list
    ("ipv4-addr", "185.220.101.0/24"),
    ("ipv6-addr", "2a0b:f4c2::1"),
    ("domain-name", "evil-c2.example.ru"),
    ("url", "https://docs.google.com/document/d/1phish/edit"),  # one page on a top site is not the site
    ("file-sha256", "a" * 64),
])
def test_ordinary_indicators_pass(checker: checks.Checker, kind: str, value: str) -> None:
    assert checker.check(kind, value) == []


def test_broad_prefix_and_own_infrastructure_come_from_config() -> None:
    config = {"indicators": {"checks": {"min_ipv4_prefix": 8, "min_ipv6_prefix": 12,
                                        "own_infrastructure": ["198.51.100.0/24", "cert.example.gov"],
                                        "warninglists": []}}}
    checker = checks.Checker(checks.Settings.of(config), [])
    assert checker.check("ipv4-addr", "185.0.0.0/8") == []
    assert checker.check("ipv4-addr", "185.0.0.0/7") == ["rule:broad-cidr"]
    assert "rule:own-infrastructure" in checker.check("ipv4-addr", "198.51.100.7")
    assert checker.check("domain-name", "mail.cert.example.gov") == ["rule:own-infrastructure"]
    assert checker.check("domain-name", "cert.example.gov.evil.ru") == []


def test_ignore_switches_rules_off_but_never_all_addresses() -> None:
    config = {"indicators": {"checks": {"ignore": ["rule:documentation", "rule:all-addresses",
                                                   "rule:broad-cidr"], "warninglists": []}}}
    checker = checks.Checker(checks.Settings.of(config), [])
    assert checker.check("ipv4-addr", "192.0.2.1") == []
    assert checker.check("ipv4-addr", "185.0.0.0/8") == []
    assert checker.check("ipv4-addr", "0.0.0.0/0") == ["rule:all-addresses"]


def test_update_keeps_lists_the_carried_copy_lacks(tmp_path: Path) -> None:
    carried = tmp_path / "carried" / "lists" / "tranco10k"
    carried.mkdir(parents=True)
    (carried / "list.json").write_text('{"name": "Top sites", "type": "hostname", "version": "20261201",'
                                       ' "list": ["new-top-site.example"], "description": "d",'
                                       ' "matching_attributes": ["domain"]}')
    root = tmp_path / "store"
    root.mkdir()
    installed = warninglists.update(root, tmp_path / "carried", warninglists.DEFAULT_LISTS)
    assert list(installed) == ["tranco10k"]
    directory, origin = warninglists.lists_dir(root)
    assert origin == "store"
    lists = warninglists.load(directory, warninglists.DEFAULT_LISTS)
    assert lists["tranco10k"].version == "20261201"
    assert lists["public-dns-v4"].entries  # kept from the package's copy


def test_update_refuses_a_directory_without_lists(tmp_path: Path) -> None:
    from cbm.core.errors import MalformedInput, NotFound

    with pytest.raises(NotFound):
        warninglists.update(tmp_path, tmp_path / "nothing", warninglists.DEFAULT_LISTS)
    (tmp_path / "bad" / "tranco10k").mkdir(parents=True)
    (tmp_path / "bad" / "tranco10k" / "list.json").write_text("{not json")
    with pytest.raises(MalformedInput):
        warninglists.update(tmp_path, tmp_path / "bad", warninglists.DEFAULT_LISTS)
    assert warninglists.lists_dir(tmp_path)[1] == "package"  # nothing was installed
