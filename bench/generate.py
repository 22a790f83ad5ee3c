"""Synthetic national indicator feeds for `make bench`: deterministic, realistic in mix, any size.

Two parties: ``US`` publishes the national feed (``size`` indicators); ``RU`` holds a smaller feed of its own
(``size // 20``) of which half corroborates values in the US feed, as real CERT feeds overlap.

The mix follows what public CERT feeds carry: mostly IPv4 addresses and domains, then URLs and file hashes,
a little IPv6; about 1 % of domains and URLs arrive defanged (``hxxp://``, ``[.]``), as analysts paste them.
TLP 2.0 labels are mixed (mostly GREEN and AMBER) and so are confidence, indicator types, validity windows
and critical-infrastructure sectors. Every value is unique within a feed, so an import of ``size`` rows
yields ``size`` indicators.

Usage:  python bench/generate.py --size 100000 --out DIR      (writes DIR/us-feed.csv and DIR/ru-feed.csv)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The CSV layout `cbm indicators import` documents (docs/readme/indicators.md).
HEADER = ("type", "value", "tlp", "confidence", "valid_from", "valid_until", "sectors", "labels", "indicator_types",
          "name", "description")

# (indicator type, share of the feed)
TYPE_MIX = (
    ("ipv4-addr", 0.34),
    ("domain-name", 0.24),
    ("url", 0.18),
    ("sha256", 0.12),
    ("md5", 0.05),
    ("sha1", 0.03),
    ("ipv6-addr", 0.04),
)
TLP_MIX = (("CLEAR", 0.10), ("GREEN", 0.50), ("AMBER", 0.30), ("AMBER+STRICT", 0.05), ("RED", 0.05))
INDICATOR_TYPES = ("malicious-activity", "anomalous-activity", "compromised", "anonymization", "attribution",
                   "benign")
TYPE_WEIGHTS = (60, 10, 15, 8, 5, 2)
TAGS = ("botnet", "phishing", "ransomware", "c2", "scanner", "apt", "spam", "exploit")
FAMILIES = ("Emotet", "QakBot", "IcedID", "AgentTesla", "Cobalt Strike", "Mirai", "LockBit", "RedLine")
SECTORS = ("energy", "water", "finance", "telecommunications", "transport", "health", "government")
WORDS = ("update", "secure", "login", "cdn", "mail", "portal", "cloud", "static", "api", "account", "verify",
         "service", "news", "files", "docs", "sync", "auth", "media", "shop", "bank", "support", "online")
TLDS = ("com", "net", "org", "info", "biz", "ru", "us", "io", "xyz", "top", "online", "site")
PATHS = ("gate.php", "admin/login", "wp-content/plugins/x/up.php", "dl/payload.bin", "index.html", "api/v1/beacon",
         "invoice.doc", "update/check", "cgi-bin/luci", "s/", "panel/connect.php")
DEFANG_SHARE = 0.01
DESCRIPTIONS = ("C2 server observed in beaconing", "phishing landing page", "malware download site",
                "scanning source", "botnet node", "ransomware sample", "credential harvesting", "exploit kit",
                "spam relay", "dropper hash", "TOR exit used in intrusion", "brute-force source")


@dataclass(frozen=True)
class Row:
    type: str
    value: str
    tlp: str
    confidence: int
    valid_from: str
    valid_until: str
    sectors: str
    labels: str
    indicator_types: str
    name: str
    description: str

    def cells(self) -> tuple[str, ...]:
        return (self.type, self.value, self.tlp, str(self.confidence), self.valid_from, self.valid_until,
                self.sectors, self.labels, self.indicator_types, self.name, self.description)


def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for name, share in mix:
        x -= share
        if x < 0:
            return name
    return mix[-1][0]


def _ipv4(i: int, salt: int) -> str:
    # A bijection on 32-bit integers keeps values unique; skip 0/10/127/224+ first octets.
    n = (i * 2654435761 + salt) & 0xFFFFFFFF
    a = 11 + (n >> 24) % 212  # 11..222
    if a == 127:
        a = 128
    return f"{a}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _unique_tag(i: int, salt: int) -> str:
    """A short base-36 tag unique per index (keeps domains unique at any size)."""
    n = i * 7919 + salt
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _domain(rng: random.Random, i: int, salt: int) -> str:
    return f"{rng.choice(WORDS)}-{rng.choice(WORDS)}{_unique_tag(i, salt)}.{rng.choice(TLDS)}"


def _value(kind: str, rng: random.Random, i: int, salt: int) -> str:
    if kind == "ipv4-addr":
        return _ipv4(i, salt)
    if kind == "ipv6-addr":
        n = (i * 11400714819323198485 + salt) & ((1 << 64) - 1)
        groups = [f"{(n >> s) & 0xFFFF:x}" for s in (48, 32, 16, 0)]
        return "2a0" + f"{rng.randrange(10)}" + ":" + f"{rng.randrange(1, 0xFFFF):x}" + ":" + \
            f"{rng.randrange(0xFFFF):x}" + ":" + f"{rng.randrange(0xFFFF):x}:" + ":".join(groups)
    if kind == "domain-name":
        return _domain(rng, i, salt)
    if kind == "url":
        scheme = "https" if rng.random() < 0.6 else "http"
        host = _domain(rng, i, salt) if rng.random() < 0.8 else _ipv4(i, salt ^ 0x5A5A5A5A)
        return f"{scheme}://{host}/{rng.choice(PATHS)}"
    digest = hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()
    return {"sha256": digest, "sha1": digest[:40], "md5": digest[:32]}[kind]


def _defang(kind: str, value: str) -> str:
    if kind == "url":
        value = value.replace("http", "hxxp", 1)
    return value.replace(".", "[.]")


def rows(size: int, *, seed: int = 2013, party_salt: int = 0, corroborate: list[tuple[str, str]] | None = None,
         base_day: int = 0) -> Iterator[Row]:
    """Yield ``size`` indicator rows; with ``corroborate`` ((type, value) pairs taken from another party's
    feed), those values are reported again first, with this party's own TLP, confidence and dates."""
    rng = random.Random(seed * 1000003 + party_salt)
    shared = list(corroborate or ())
    for i in range(size):
        if i < len(shared):
            kind, value = shared[i]
        else:
            kind = _pick(rng, TYPE_MIX)
            value = _value(kind, rng, i, 1_000_000_007 * (party_salt + 1))
            if kind in ("domain-name", "url") and rng.random() < DEFANG_SHARE:
                value = _defang(kind, value)
        tlp = _pick(rng, TLP_MIX)
        types = rng.choices(INDICATOR_TYPES, TYPE_WEIGHTS)[0]
        if rng.random() < 0.15:
            other = rng.choice(INDICATOR_TYPES)
            types += "" if other == types else ";" + other
        labels = ";".join(sorted(set(rng.sample(TAGS, rng.randrange(1, 3))))) if rng.random() < 0.3 else ""
        name = rng.choice(FAMILIES) if rng.random() < 0.2 else ""
        day = base_day + rng.randrange(365)
        valid_from = f"2026-{1 + day % 12:02d}-{1 + day % 28:02d}T{rng.randrange(24):02d}:00:00Z"
        valid_until = "" if rng.random() < 0.3 else f"2027-{1 + day % 12:02d}-{1 + day % 28:02d}T00:00:00Z"
        sectors = ""
        if rng.random() < 0.25:
            sectors = ";".join(sorted(set(rng.sample(SECTORS, rng.randrange(1, 3)))))
        yield Row(kind, value, tlp, rng.choice((30, 50, 60, 70, 80, 85, 90, 95, 100)), valid_from, valid_until,
                  sectors, labels, types, name, rng.choice(DESCRIPTIONS))


def sample_values(path: Path, count: int, total: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (type, value) pairs of IPs, domains and URLs drawn evenly from a feed of ``total`` rows."""
    wanted = set(random.Random(seed).sample(range(total), min(count * 2, total)))
    picked: list[tuple[str, str]] = []
    with path.open(newline="", encoding="utf-8") as f:
        for i, cells in enumerate(csv.reader(f)):
            if i - 1 in wanted and cells[0] in ("ipv4-addr", "domain-name", "url") and "[.]" not in cells[1]:
                picked.append((cells[0], cells[1]))
                if len(picked) == count:
                    break
    return picked


def write_feed(path: Path, it: Iterator[Row]) -> int:
    """Write rows as CSV with the documented header; returns the number of rows."""
    n = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for row in it:
            w.writerow(row.cells())
            n += 1
    return n


def generate(out: Path, size: int, seed: int = 2013) -> dict[str, Path]:
    """Write the two parties' feeds under ``out``; returns {party: path}."""
    out.mkdir(parents=True, exist_ok=True)
    us, ru = out / "us-feed.csv", out / "ru-feed.csv"
    write_feed(us, rows(size, seed=seed))
    ru_size = max(1, size // 20)
    shared = sample_values(us, ru_size // 2, size, seed)
    write_feed(ru, rows(ru_size, seed=seed, party_salt=1, corroborate=shared, base_day=40))
    return {"US": us, "RU": ru}


# MISP attribute types and categories as MISP events carry them (describeTypes.json), with their share of an event
MISP_MIX = (
    ("ip-dst", "Network activity", 0.30), ("ip-src", "Network activity", 0.05),
    ("domain", "Network activity", 0.18), ("hostname", "Network activity", 0.04),
    ("url", "Network activity", 0.15), ("sha256", "Payload delivery", 0.12),
    ("md5", "Payload delivery", 0.08), ("sha1", "Payload delivery", 0.04),
    ("filename|sha256", "Payload delivery", 0.02), ("email-src", "Payload delivery", 0.02),
)
MISP_TO_KIND = {"ip-dst": "ipv4-addr", "ip-src": "ipv4-addr", "domain": "domain-name", "hostname": "domain-name",
                "url": "url", "sha256": "sha256", "md5": "md5", "sha1": "sha1", "filename|sha256": "sha256"}
MISP_TAGS = ("tlp:green", "tlp:amber", "tlp:clear", "type:OSINT", "osint:source-type=\"block-or-filter-list\"",
             "kill-chain:Command and Control", "misp:threat-level=\"high-risk\"", "circl:incident-classification="
             "\"malware\"")
MISP_CONTEXT_SHARE = 0.05  # attributes with to_ids false: context, not indicators
MISP_GALAXY_SHARE = 0.20  # attributes carrying a malware galaxy


def misp_event(path: Path, count: int, seed: int = 2013) -> int:
    """Write one MISP event of ``count`` attributes (MISP's JSON export layout: ``{"Event": {...}}``), in the mix
    of types a national CERT's MISP holds; event and attributes carry TLP and other tags, a fifth of the
    attributes a `stix-2.1-malware` galaxy (the form misp-stix and MISP's STIX import use), and 5 % are
    context (``to_ids`` false). Returns the number of attributes."""
    import json
    import uuid

    rng = random.Random(seed * 7 + 3)
    ns = uuid.UUID("3e1f6a8c-2013-4c6b-9d1e-6d6973702d62")
    families = {name: str(uuid.uuid5(ns, "malware:" + name)) for name in FAMILIES}
    attributes = []
    mix = tuple((f"{t}\t{c}", share) for t, c, share in MISP_MIX)
    for i in range(count):
        misp_type, category = _pick(rng, mix).split("\t")
        kind = MISP_TO_KIND.get(misp_type)
        if misp_type == "email-src":
            value = f"{rng.choice(WORDS)}.{_unique_tag(i, 77)}@{_domain(rng, i, 91)}"
        else:
            assert kind is not None
            value = _value(kind, rng, i, 31337)
            if misp_type == "filename|sha256":
                value = f"{rng.choice(WORDS)}_{_unique_tag(i, 5)}.exe|{value}"
        timestamp = str(1764547200 + rng.randrange(86400 * 300))
        attr: dict[str, object] = {
            "uuid": str(uuid.uuid5(ns, f"attribute:{i}")), "type": misp_type, "category": category, "value": value,
            "to_ids": rng.random() >= MISP_CONTEXT_SHARE, "timestamp": timestamp, "distribution": "5",
            "comment": rng.choice(DESCRIPTIONS), "disable_correlation": False,
            "Tag": [{"name": t} for t in sorted(set(rng.sample(MISP_TAGS, rng.randrange(0, 3))))]}
        if rng.random() < MISP_GALAXY_SHARE:
            name = rng.choice(FAMILIES)
            attr["Galaxy"] = [{"uuid": str(uuid.uuid5(ns, "galaxy:stix-2.1-malware")), "type": "stix-2.1-malware",
                               "name": "STIX 2.1 malware", "namespace": "stix-2.1", "GalaxyCluster": [
                                   {"uuid": families[name], "type": "stix-2.1-malware", "value": name,
                                    "description": f"{name} malware family"}]}]
        attributes.append(attr)
    event = {"Event": {
        "uuid": str(uuid.uuid5(ns, f"event:{seed}:{count}")),
        "info": f"National CERT daily feed ({count:,} attributes)",
        "date": "2026-12-01", "timestamp": "1764547200", "published": True, "analysis": "2", "threat_level_id": "2",
        "distribution": "1", "Org": {"name": "US-CERT", "uuid": str(uuid.uuid5(ns, "org:US-CERT"))},
        "Orgc": {"name": "US-CERT", "uuid": str(uuid.uuid5(ns, "org:US-CERT"))},
        "Tag": [{"name": "tlp:green"}, {"name": "type:OSINT"}], "Galaxy": [], "Object": [],
        "Attribute": attributes}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(event), encoding="utf-8")
    return count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    paths = generate(args.out, args.size, args.seed)
    for party, path in paths.items():
        print(f"{party}: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
