"""The indicator model: types, value normalisation (refanging), type recognition, patterns, STIX ids.

Pure functions over strings, no store and no stix2: these run once per line of a million-line feed.

An indicator of a *simple* type has a ``(type, value)`` pair and its STIX pattern is derived from it
(:func:`pattern_for`); an indicator given as a free STIX pattern has type ``pattern`` and the first literal
compared for equality as its searchable value (see :mod:`cbm.measures.indicators.patterns`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from typing import Any

# type -> STIX object path used in its pattern
SIMPLE_TYPES: dict[str, str] = {
    "ipv4-addr": "ipv4-addr:value",
    "ipv6-addr": "ipv6-addr:value",
    "domain-name": "domain-name:value",
    "url": "url:value",
    "email-addr": "email-addr:value",
    "file-md5": "file:hashes.MD5",
    "file-sha1": "file:hashes.'SHA-1'",
    "file-sha256": "file:hashes.'SHA-256'",
}
PATTERN_TYPE = "pattern"
TYPES = (*SIMPLE_TYPES, PATTERN_TYPE)

TYPE_ALIASES: dict[str, str] = {
    "ip": "", "ip-dst": "", "ip-src": "", "ip-addr": "", "ipaddress": "", "cidr": "", "network": "",
    "ipv4": "ipv4-addr", "ipv4-addr": "ipv4-addr", "ip4": "ipv4-addr",
    "ipv6": "ipv6-addr", "ipv6-addr": "ipv6-addr", "ip6": "ipv6-addr",
    "domain": "domain-name", "domain-name": "domain-name", "hostname": "domain-name", "host": "domain-name",
    "fqdn": "domain-name", "url": "url", "uri": "url", "link": "url",
    "email": "email-addr", "email-addr": "email-addr", "email-src": "email-addr", "email-dst": "email-addr",
    "md5": "file-md5", "file-md5": "file-md5", "sha1": "file-sha1", "sha-1": "file-sha1", "file-sha1": "file-sha1",
    "sha256": "file-sha256", "sha-256": "file-sha256", "file-sha256": "file-sha256",
    "hash": "", "pattern": PATTERN_TYPE, "stix": PATTERN_TYPE,
}

# Critical-infrastructure sectors an indicator may name (`--sector`); see docs/readme/indicators.md.
SECTORS = ("energy", "water", "finance", "telecommunications", "transport", "health", "government",
           "chemical", "nuclear", "food", "emergency-services", "manufacturing", "defense",
           "information-technology")
SECTOR_ALIASES = {"financial-services": "finance", "financial": "finance", "banking": "finance",
                  "telecom": "telecommunications", "telecoms": "telecommunications",
                  "transportation": "transport", "healthcare": "health", "it": "information-technology",
                  "defence": "defense", "dams": "water", "electricity": "energy"}

# TLP 2.0 marking definitions, official STIX ids (OASIS cti-stix-common-objects, TLP 2.0 extension).
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKING_IDS: dict[str, str] = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_BY_MARKING = {v: k for k, v in TLP_MARKING_IDS.items()}
# TLP 1.0 ids that older feeds still carry, mapped to their TLP 2.0 equivalent
TLP_BY_MARKING.update({
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
})


def tlp_marking(label: str) -> dict[str, Any]:
    """The TLP 2.0 marking-definition object for ``label`` (as published by OASIS)."""
    return {"type": "marking-definition", "spec_version": "2.1", "id": TLP_MARKING_IDS[label],
            "created": "2022-10-01T00:00:00.000Z", "name": f"TLP:{label}",
            "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": label.lower()}}}


class BadValue(ValueError):
    """A value that is not a valid indicator of the claimed (or any) type; the message says why."""


# -- refanging -------------------------------------------------------------------------------------------

_DEFANG = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[:\]|\[://\]|\[@\]|\[at\]|\(at\)|\[/\]",
                     re.IGNORECASE)
_DEFANG_MAP = {"[.]": ".", "(.)": ".", "{.}": ".", "[dot]": ".", "(dot)": ".", "[:]": ":", "[://]": "://",
               "[@]": "@", "[at]": "@", "(at)": "@", "[/]": "/"}
_HXXP = re.compile(r"^(hxxp|hxxps|hXXp|hXXps|meow|fxp)(?=s?(\[:\]|:))", re.IGNORECASE)


def refang(text: str) -> str:
    """Undo the usual defanging: ``hxxp``, ``[.]``, ``(.)``, ``[dot]``, ``[:]``, ``[@]``, ``[at]``."""
    if "[" in text or "(" in text or "{" in text:
        text = _DEFANG.sub(lambda m: _DEFANG_MAP[m.group(0).lower()], text)
    if text[:1] in "hHfFmM":
        match = _HXXP.match(text)
        if match:
            word = match.group(1).lower()
            text = {"hxxp": "http", "hxxps": "https", "meow": "http", "fxp": "ftp"}[word] + text[len(word):]
    return text


def defang(value: str) -> str:
    """A defanged form for reports and messages: ``hxxp://example[.]com``."""
    if value.startswith("http"):
        value = "hxxp" + value[4:]
    return value.replace(".", "[.]")


# -- normalisation per type ------------------------------------------------------------------------------

_HEX = re.compile(r"^[0-9a-fA-F]+\Z")
_LABEL = re.compile(r"^(?!-)[a-z0-9-_]{1,63}(?<!-)\Z")
_TLD = re.compile(r"^(xn--[a-z0-9-]{1,59}|[a-z]{2,63})\Z")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\Z")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#\s]+)([^\s]*)\Z")
_HASH_TYPES = {32: "file-md5", 40: "file-sha1", 64: "file-sha256"}


def _domain(value: str) -> str:
    value = value.lower().rstrip(".")
    if not value.isascii():
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise BadValue(f"{value!r} is not a valid domain name") from e
    if len(value) > 253 or "." not in value:
        raise BadValue(f"{value!r} is not a domain name (needs a dot)")
    labels = value.split(".")
    if not all(_LABEL.match(label) for label in labels) or not _TLD.match(labels[-1]):
        raise BadValue(f"{value!r} is not a valid domain name")
    return value


# ASCII digits only: ``\d`` also matches other scripts' digits, and "١.2.3.4" is no address (ipaddress agrees)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"^{_OCTET}(?:\.{_OCTET}){{3}}$")


def _ip(value: str, version: int | None) -> tuple[str, str]:
    if version != 6 and _IPV4.match(value):  # the common case, without the ipaddress module's cost
        return "ipv4-addr", value
    if version != 4 and "/" not in value and ":" in value:
        import socket  # only for IPv6 values: a search or a listing need not load it (issue 20)

        try:
            return "ipv6-addr", socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
        except (OSError, ValueError):
            pass
    if "%" in value:  # ipaddress takes a zone of any text but '%' (a quote, a space): no address a peer matches
        raise BadValue(f"{value!r} has an IPv6 zone (%...): it names an interface of one host, not an address")
    try:
        if "/" in value:
            net = ipaddress.ip_network(value, strict=False)
            text = str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
            found = net.version
        else:
            addr = ipaddress.ip_address(value)
            text, found = str(addr), addr.version
    except ValueError as e:
        raise BadValue(f"{value!r} is not a valid IP address or CIDR range") from e
    if version is not None and found != version:
        raise BadValue(f"{value!r} is an IPv{found} address, not IPv{version}")
    return ("ipv4-addr" if found == 4 else "ipv6-addr"), text


def _url(value: str) -> str:
    match = _URL.match(value)
    if not match:
        raise BadValue(f"{value!r} is not a URL (scheme://host/...)")
    scheme, host, rest = match.groups()
    host = host.lower()
    hostname = host.rsplit("@", 1)[-1]
    port = ""
    if hostname.startswith("["):
        literal, bracket, port = hostname[1:].partition("]")
        if "%" in literal:
            raise BadValue(f"{value!r} has an IPv6 zone (%...) in its brackets: it names an interface of one host")
        if not bracket or not _is_ipv6(literal):
            raise BadValue(f"{value!r} has no valid IPv6 address in its brackets")
        hostname = f"[{literal}]"
        if port:
            _check_port(value, port)
    elif ":" in hostname:
        hostname, digits = hostname.rsplit(":", 1)
        port = ":" + digits
        _check_port(value, port)
    if not hostname.startswith("["):
        try:
            if not (hostname[:1].isdigit() or ":" in hostname):
                raise BadValue("a name, not an address")  # the common case, without the ipaddress module's cost
            _ip(hostname, None)
        except BadValue:
            hostname = _domain(hostname)
    userinfo = host.rsplit("@", 1)[0] + "@" if "@" in host else ""
    return f"{scheme.lower()}://{userinfo}{hostname}{port}{rest}"


def _check_port(value: str, port: str) -> None:
    """``port`` (with its colon) must be a TCP/UDP port as ASCII digits: a URL with ``:99999`` or ``:²`` names no
    endpoint a sensor could match, and a rule or a list should not carry it."""
    digits = port[1:]
    if not (port[:1] == ":" and digits.isascii() and digits.isdigit() and len(digits) <= 5
            and int(digits) <= 65535):
        raise BadValue(f"{value!r} has an invalid port")


def _is_ipv6(literal: str) -> bool:
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise BadValue(f"{value!r} is not an e-mail address")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{_domain(domain)}"


def _hash(value: str, kind: str) -> str:
    want = {"file-md5": 32, "file-sha1": 40, "file-sha256": 64}[kind]
    if len(value) != want or not _HEX.match(value):
        raise BadValue(f"{value!r} is not a {kind[5:].upper()} hash ({want} hex digits)")
    return value.lower()


def _as_address(value: str) -> tuple[str, str] | None:
    """``(ipv4-addr|ipv6-addr, value)`` if ``value`` is a plain IP address, else None."""
    try:
        version = ipaddress.ip_address(value).version
    except ValueError:
        return None
    return _ip(value, version)


# -- the common shapes, recognised at once -------------------------------------------------------------
# Most of a feed's values are already in normal form: a plain IPv4 address, a lowercase ASCII domain, a hash of
# its type's length, an http(s) or ftp URL on such a host. Each shape below is one exact expression (ASCII only,
# nothing to strip, no defanging brackets, nothing to quote in a pattern) whose values the full path returns
# unchanged, or only lowercased for a hash; anything else takes the full path. The tests hold both paths to the
# same output over a corpus of every type and shape (tests/measures/test_indicators_fast_paths.py).

_COMMON_IPV4_TEXT = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_COMMON_DOMAIN_TEXT = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{0,58}[a-z0-9])"
_COMMON_IPV4 = re.compile(_COMMON_IPV4_TEXT)
_COMMON_DOMAIN = re.compile(_COMMON_DOMAIN_TEXT)
# a path, query and fragment of printable ASCII but for ' ( [ \ { (no defanging, nothing to quote)
# a port: at most five digits naming 0-65535 (what _check_port allows)
_PORT_TEXT = r"(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_COMMON_URL = re.compile(rf"(?:https?|ftp)://({_COMMON_DOMAIN_TEXT}|{_COMMON_IPV4_TEXT})(?::{_PORT_TEXT})?"
                         r"(?:[/?#][!-&)-Z\]-z|}~]*)?")
_HEX_DIGITS = "0123456789abcdefABCDEF"
_IPV6_CHARS = _HEX_DIGITS + ":."
_HASH_LENGTHS = {"file-md5": 32, "file-sha1": 40, "file-sha256": 64}


def _common_domain(value: str) -> str | None:
    if len(value) <= 253 and _COMMON_DOMAIN.fullmatch(value):
        return value
    if value.isascii() and not value.islower():  # an upper-case domain is the lowercase one
        lowered = value.lower()
        if len(lowered) <= 253 and _COMMON_DOMAIN.fullmatch(lowered):
            return lowered
    return None


def _common_url(value: str) -> bool:
    match = _COMMON_URL.fullmatch(value)
    return match is not None and match.end(1) - match.start(1) <= 253


def _common_ipv6(value: str) -> str | None:
    if ":" not in value or value.strip(_IPV6_CHARS):
        return None
    import socket  # only for IPv6 values (see _ip)

    try:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
    except (OSError, ValueError):
        return None


def _common(kind: str, value: str) -> tuple[str, str] | None:
    """``normalise(kind, value)`` for a value in one of the common shapes, else None (the full path decides)."""
    if kind == "ipv4-addr":
        return (kind, value) if _COMMON_IPV4.fullmatch(value) else None
    if kind == "domain-name":
        domain = _common_domain(value)
        return None if domain is None else (kind, domain)
    if kind == "url":
        return (kind, value) if _common_url(value) else None
    if kind in _HASH_LENGTHS:
        return (kind, value.lower()) if len(value) == _HASH_LENGTHS[kind] and not value.strip(_HEX_DIGITS) else None
    if kind == "ipv6-addr":
        address = _common_ipv6(value)
        return None if address is None else (kind, address)
    if kind == "":
        if len(value) in _HASH_TYPES and not value.strip(_HEX_DIGITS):
            return _HASH_TYPES[len(value)], value.lower()
        if _COMMON_IPV4.fullmatch(value):
            return "ipv4-addr", value
        if len(value) <= 253 and _COMMON_DOMAIN.fullmatch(value):
            return "domain-name", value
        if _common_url(value):
            return "url", value
    return None


def normalise(kind: str, raw: str) -> tuple[str, str]:
    """``(type, normalised value)`` for a value of a known type (``kind`` may be ``""`` = recognise).

    Refangs first. Raises BadValue with a one-line reason.
    """
    common = _common(kind, raw)
    return common if common is not None else exact_normalise(kind, raw)


def exact_normalise(kind: str, raw: str) -> tuple[str, str]:
    """:func:`normalise` without the common shapes' shortcut: the full path every value can take.

    What it returns is a fixed point (normalising it again gives it back), the form a peer's row is held to at
    landing (``normal_form.is_normal``); a value whose normal form would change again (``http://x.example/[[.]]``
    refangs to ``.../[.]``, which refangs to ``.../.``) raises BadValue, so cbm never signs a row its own peers
    refuse (docs/adr/0270-normal-forms-are-fixed-points.md)."""
    found = _exact(kind, raw)
    if found != (kind, raw) and _common(*found) != found:
        try:
            settled = _exact(*found) == found
        except BadValue:
            settled = False
        if not settled:
            raise BadValue(f"{raw!r} has no stable normal form (it normalises to {found[1]!r}, which changes again)")
    return found


def _exact(kind: str, raw: str) -> tuple[str, str]:
    value = raw.strip()
    if not value:
        raise BadValue("empty value")
    value = refang(value)
    if not kind:
        return recognise(value)
    if kind == "ipv4-addr":
        return _ip(value, 4)
    if kind == "ipv6-addr":
        return _ip(value, 6)
    if kind == "domain-name":
        try:
            return kind, _domain(value)
        except BadValue:
            # An address filed as a domain (MISP `domain` attributes and STIX domain-name patterns of real feeds
            # do this) is an address indicator, the same way whichever format brought it (docs/adr/0166).
            address = _as_address(value)
            if address is None:
                raise
            return address
    if kind == "url":
        return kind, _url(value)
    if kind == "email-addr":
        return kind, _email(value)
    if kind in ("file-md5", "file-sha1", "file-sha256"):
        return kind, _hash(value, kind)
    raise BadValue(f"unknown indicator type {kind!r}")


def recognise(value: str) -> tuple[str, str]:
    """Guess the type of an already refanged value: hash, IP/CIDR, e-mail, URL, domain. Raises BadValue."""
    if len(value) in _HASH_TYPES and _HEX.match(value):
        return _HASH_TYPES[len(value)], value.lower()
    first = value[0]
    if first.isdigit() or ":" in value[:5]:
        try:
            return _ip(value, None)
        except BadValue:
            if "://" not in value and not first.isdigit():
                raise
    if "://" in value:
        return "url", _url(value)
    if "@" in value and "/" not in value:
        return "email-addr", _email(value)
    if "/" in value:
        return "url", _url("http://" + value)
    try:
        return "domain-name", _domain(value)
    except BadValue:
        raise BadValue(f"{value!r} is not a recognised indicator (IP, CIDR, domain, URL, e-mail, hash)") \
            from None


@lru_cache(maxsize=256)
def canonical_type(name: str) -> str:
    """Map ``ip``, ``domain``, ``sha256``... to a cbm type; ``""`` means "recognise from the value".

    Raises BadValue for an unknown name.
    """
    key = name.strip().lower()
    if key in TYPE_ALIASES:
        return TYPE_ALIASES[key]
    raise BadValue(f"unknown indicator type {name!r} (known: {', '.join(TYPES)})")


def check_sector(name: str) -> str:
    """Normalise a sector name; raises BadValue for one outside :data:`SECTORS`."""
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    key = SECTOR_ALIASES.get(key, key)
    if key not in SECTORS:
        raise BadValue(f"unknown sector {name!r} (known: {', '.join(SECTORS)})")
    return key


# -- patterns and ids ------------------------------------------------------------------------------------


def quote(value: str) -> str:
    """A STIX pattern string literal."""
    if "\\" in value or "'" in value:
        value = value.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + value + "'"


# the pattern of a simple indicator up to its quoted value
_PATTERN_HEADS = {kind: f"[{path} = " for kind, path in SIMPLE_TYPES.items()}


def pattern_for(kind: str, value: str) -> str:
    """The STIX pattern of a simple indicator (normalised type and value)."""
    return _PATTERN_HEADS[kind] + quote(value) + "]"


def _uuid4_shaped(text: str) -> str:
    """A deterministic UUID with the version-4 layout (STIX asks SDO ids to be v4-shaped)."""
    h = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def indicator_id(author: str, pattern: str) -> str:
    """The STIX id of ``author``'s indicator with this pattern: the same pattern keeps one id (versions)."""
    h = hashlib.sha256(f"cbm indicator\n{author}\n{pattern}".encode()).hexdigest()
    return f"indicator--{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def simple_indicator_id(author: str, kind: str, value: str) -> str:
    """``indicator_id(author, pattern_for(kind, value))`` for a simple type, in one step (once per line of a
    feed)."""
    if "\\" in value or "'" in value:
        return indicator_id(author, pattern_for(kind, value))
    head = _ID_HEADS.get((author, kind))
    if head is None:
        head = _ID_HEADS[author, kind] = f"cbm indicator\n{author}\n{_PATTERN_HEADS[kind]}'"
    h = hashlib.sha256((head + value + "']").encode()).hexdigest()
    return f"indicator--{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_ID_HEADS: dict[tuple[str, str], str] = {}  # (author, type) -> what an indicator id hashes, up to the value


@lru_cache(maxsize=256)
def identity_id(party: str) -> str:
    """The stable STIX identity id of a party (``created_by_ref``)."""
    return "identity--" + _uuid4_shaped(f"cbm party\n{party}")


def sighting_id(record_hash: str) -> str:
    return "sighting--" + _uuid4_shaped(f"cbm sighting\n{record_hash}")


def object_id(kind: str, seed: str) -> str:
    return f"{kind}--" + _uuid4_shaped(f"cbm {kind}\n{seed}")


_STIX_ID = re.compile(r"([a-z0-9-]+)--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_stix_id(text: str, kind: str | None = None) -> bool:
    """Whether ``text`` is a STIX id (an object type, ``--``, a UUID in lowercase hex), of type ``kind`` when
    given: exactly ``kind--<uuid>`` (``indicator--ndicator--<uuid>`` is no indicator id, nor is an id followed by
    a line break)."""
    match = _STIX_ID.fullmatch(text)
    return match is not None and (kind is None or match.group(1) == kind)
