"""Suricata rules (export only): IP addresses and ranges, domains (DNS query and TLS SNI), http URLs.

Hashes, e-mail addresses, https URLs (the path is encrypted) and free STIX patterns have no reliable
single-rule form and are skipped and counted.

A rule's ``sid`` is derived from its indicator (author and STIX id), not from its place in the export, so it
stays the same for the life of the indicator whatever else is added or revoked, and sensors' suppressions and
thresholds keep pointing at the right rule; ``rev`` is the indicator's version number. See
docs/adr/0162-suricata-sids.md.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cbm.core.errors import UsageError
from cbm.measures.indicators import rows as R

DEFAULT_SID_BASE = 8_100_000
SID_SLOTS = 1 << 27  # each indicator owns a slot of two sids (a domain has a DNS and a TLS rule)
SID_MAX = 0xFFFFFFFF  # Suricata's sid is an unsigned 32-bit integer
_UNSAFE = re.compile(r'[";\\|\x00-\x1f\x7f]')
#: Suricata reads a rules file a line at a time into a buffer of 8,192 bytes (DETECT_MAX_RULE_SIZE): a longer
#: line is cut there, and what follows the cut is read as a rule of its own, its text the indicator's value.
MAX_RULE_BYTES = 8191  # the line with its newline
TOO_LONG = "values too long for one Suricata rule (8,191 bytes a line)"


def _content(value: str) -> str:
    """A Suricata content string: quote, semicolon, backslash, pipe, controls and every byte of a non-ASCII
    character as |hex|, so the rule is ASCII and matches the UTF-8 bytes on the wire."""
    if value.isascii():
        return _UNSAFE.sub(lambda m: f"|{ord(m.group(0)):02X}|", value)
    return "".join(_content(c) if c.isascii() else "|" + c.encode("utf-8").hex(" ").upper() + "|" for c in value)


def _msg(text: str) -> str:
    return _UNSAFE.sub("", text)[:200]


def check_sid_base(base: int) -> int:
    """``base`` if every derived sid fits Suricata's 32-bit sid above it; raises ValueError otherwise."""
    if not 1 <= base <= SID_MAX - 2 * SID_SLOTS + 1:
        raise ValueError(f"--sid-base must be between 1 and {SID_MAX - 2 * SID_SLOTS + 1} "
                         f"(cbm's sids take {2 * SID_SLOTS:,} numbers above it)")
    return base


def _slot(author: str, sid: str, attempt: int) -> int:
    digest = hashlib.sha256(f"cbm suricata sid\n{author}\n{sid}\n{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % SID_SLOTS


class SidAllocator:
    """Gives each indicator of one export its derived sid pair, checking collisions.

    An indicator's slot is a hash of (author, id). When two indicators of the same export hash to one slot, the
    one exported first (landing order, which is stable) keeps it and the other takes its next derived slot, so
    no two rules share a sid. Memory is a fixed bitmap of the slots (16 MiB), whatever the export's size.
    """

    def __init__(self, base: int) -> None:
        self.base = check_sid_base(base)
        self.used = bytearray((SID_SLOTS + 7) // 8)
        self.collisions = 0
        self.allocated = 0

    def sid(self, author: str, indicator_id: str) -> int:
        """The first sid of the indicator's pair (the second, for a domain's TLS rule, is this plus one)."""
        if self.allocated >= SID_SLOTS:
            raise UsageError(f"more than {SID_SLOTS:,} rules in one export: split it with --type or --from")
        attempt = 0
        while True:
            slot = _slot(author, indicator_id, attempt)
            byte, bit = divmod(slot, 8)
            if not self.used[byte] >> bit & 1:
                self.used[byte] |= 1 << bit
                self.allocated += 1
                return self.base + 2 * slot
            self.collisions += 1 if attempt == 0 else 0
            attempt += 1


# the host a client names in its Host header: without the user information (``user:pw@``), never sent there
_HTTP_URL = re.compile(r"^http://(?:[^/?#]*@)?([^/:?#@]+)(?::\d+)?(/[^#]*)?$")


# A peer's signed batch holds a row's value and id only to the single-line rule (docs/adr/0267): an address goes
# into the rule's header as it is, and an id into its metadata, so either may hold only what it is made of.
_ADDRESS_CHARS = "0123456789abcdefABCDEF:./"
_NOT_ID = re.compile(r"[^A-Za-z0-9._:-]")  # an honest id is indicator--<uuid>
NOT_AN_ADDRESS = "addresses that are no IP address or range"
NOT_AN_ID = "indicators whose id is no STIX id"


def why_not(row: list[Any]) -> str | None:
    """Why an indicator has no rule form (what the export counts as skipped), or None if it has one."""
    kind, value = row[R.TYPE], row[R.VALUE]
    if kind in ("ipv4-addr", "ipv6-addr") and value:
        why = NOT_AN_ADDRESS if value.strip(_ADDRESS_CHARS) else None
    elif kind == "domain-name" and value:
        why = None
    elif kind == "url" and value:
        why = None if _HTTP_URL.match(value) else \
            "URLs other than plain http:// (an https path is not visible on the wire)"
    else:
        return {"email-addr": "e-mail addresses", "pattern": "free STIX patterns"}.get(kind, "file hashes")
    return NOT_AN_ID if why is None and _NOT_ID.search(row[R.ID]) else why


def rules(author: str, row: list[Any], sid: int, rev: int = 1) -> tuple[list[str], str | None]:
    """Rules for one indicator (each ending in a newline) and, if none, why it was skipped (a rule Suricata
    cannot read whole is never written: :data:`TOO_LONG`)."""
    why = why_not(row)
    if why:
        return [], why
    made = _rules(author, row, sid, rev)
    if len(row[R.VALUE]) > _SURELY_FITS:  # rare: measured only when it might not fit
        for line in made:
            if len(line.encode("utf-8")) > MAX_RULE_BYTES:
                return [], TOO_LONG
    return made, None


#: A value of at most this many characters always makes rules Suricata reads whole: its content is at most 13
#: bytes a character (``|F0 9F 98 80|``), the msg at most 200 characters (800 bytes), the rest under 400 bytes.
_SURELY_FITS = 500


def _rules(author: str, row: list[Any], sid: int, rev: int) -> list[str]:
    kind, value = row[R.TYPE], row[R.VALUE]
    label = _msg(f"cbm {author} {row[R.NAME] or kind} {value or ''}".strip())
    ref = f"metadata: cbm_id {row[R.ID]}, cbm_author {author}"
    tail = f"classtype:trojan-activity; sid:{sid}; rev:{rev};)\n"
    if kind in ("ipv4-addr", "ipv6-addr") and value:
        return [f'alert ip $HOME_NET any -> [{value}] any (msg:"{label}"; {ref}; {tail}']
    if kind == "domain-name" and value:
        dns = (f'alert dns $HOME_NET any -> any any (msg:"{label}"; dns.query; dotprefix; '
               f'content:".{_content(value)}"; nocase; endswith; {ref}; {tail}')
        tls = (f'alert tls $HOME_NET any -> any any (msg:"{label} (TLS SNI)"; tls.sni; dotprefix; '
               f'content:".{_content(value)}"; nocase; endswith; {ref}; '
               f"classtype:trojan-activity; sid:{sid + 1}; rev:{rev};)\n")
        return [dns, tls]
    match = _HTTP_URL.match(value)
    assert match is not None  # why_not() lets only plain http URLs through
    host, path = match.group(1), match.group(2) or "/"
    return [f'alert http $HOME_NET any -> any any (msg:"{label}"; http.host; content:"{_content(host)}"; '
            f'nocase; endswith; http.uri; content:"{_content(path)}"; startswith; {ref}; {tail}']
