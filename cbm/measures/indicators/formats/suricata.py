"""Suricata rules (export only): IP addresses and ranges, domains (DNS query and TLS SNI), http URLs.

Hashes, e-mail addresses, https URLs (the path is encrypted) and free STIX patterns have no reliable
single-rule form and are skipped and counted. Rule ids start at ``--sid-base`` and follow the export order,
so the same selection gives the same rules.
"""

from __future__ import annotations

import re
from typing import Any

from cbm.measures.indicators import rows as R

DEFAULT_SID_BASE = 8_100_000
_UNSAFE = re.compile(r'[";\\|\x00-\x1f\x7f]')


def _content(value: str) -> str:
    """A Suricata content string: quote, semicolon, backslash, pipe and controls as |hex|."""
    return _UNSAFE.sub(lambda m: f"|{ord(m.group(0)):02X}|", value)


def _msg(text: str) -> str:
    return _UNSAFE.sub("", text)[:200]


def rules(author: str, row: list[Any], sid: int) -> tuple[list[str], str | None]:
    """Rules for one indicator (each ending in a newline) and, if none, why it was skipped."""
    kind, value = row[R.TYPE], row[R.VALUE]
    label = _msg(f"cbm {author} {row[R.NAME] or kind} {value or ''}".strip())
    ref = f"metadata: cbm_id {row[R.ID]}, cbm_author {author}"
    if kind in ("ipv4-addr", "ipv6-addr") and value:
        return [f'alert ip $HOME_NET any -> [{value}] any (msg:"{label}"; {ref}; classtype:trojan-activity;'
                f" sid:{sid}; rev:1;)\n"], None
    if kind == "domain-name" and value:
        dns = (f'alert dns $HOME_NET any -> any any (msg:"{label}"; dns.query; dotprefix; '
               f'content:".{_content(value)}"; nocase; endswith; {ref}; classtype:trojan-activity; '
               f"sid:{sid}; rev:1;)\n")
        tls = (f'alert tls $HOME_NET any -> any any (msg:"{label} (TLS SNI)"; tls.sni; dotprefix; '
               f'content:".{_content(value)}"; nocase; endswith; {ref}; classtype:trojan-activity; '
               f"sid:{sid + 1}; rev:1;)\n")
        return [dns, tls], None
    if kind == "url" and value:
        match = re.match(r"^http://([^/:?#]+)(?::\d+)?(/[^#]*)?$", value)
        if not match:
            return [], "URLs other than plain http:// (an https path is not visible on the wire)"
        host, path = match.group(1), match.group(2) or "/"
        return [f'alert http $HOME_NET any -> any any (msg:"{label}"; http.host; content:"{_content(host)}"; '
                f'nocase; endswith; http.uri; content:"{_content(path)}"; startswith; {ref}; '
                f"classtype:trojan-activity; sid:{sid}; rev:1;)\n"], None
    return [], {"email-addr": "e-mail addresses", "pattern": "free STIX patterns"}.get(kind, "file hashes")
