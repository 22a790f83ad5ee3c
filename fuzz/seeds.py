"""Write the seed corpora (``python -m fuzz.seeds``): real files made by cbm with the fixed fuzz keys, and small
public feed files from tests/data (sources and licences in tests/data/SOURCES.md).

Bundles are made by real stores through the CLI (``cbm bundle export`` in every layer combination) with the
clock fixed, so the seeds are the same on every run but for the encrypted ones (fresh stream keys). The signed
target's seeds are the same bundles with their signatures taken off (see fuzz/fuzz_bundle_signed.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from fuzz.harness import CORPUS, CREATED, card, pair

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SAMPLES = Path(__file__).resolve().parents[1] / "sample-data"
HEAD_LINES = 60  # feed seeds stay small: libFuzzer mutates short inputs faster


def _cli(root: Path, *args: str, stdin: bytes | None = None) -> None:
    from typer.testing import CliRunner

    from cbm.cli.main import app

    result = CliRunner().invoke(app, ["--store", str(root), *args], input=stdin, catch_exceptions=False)
    if result.exit_code != 0:
        sys.exit(f"seeds: cbm {' '.join(args)} failed: {result.stderr}")


def _store(base: Path, party: str, trusts: tuple[str, ...]) -> Path:
    from cbm.app.stores import open_store
    from cbm.store.trust import _populate, import_card

    root = base / party
    _populate(root, party, f"{party}-CERT", None, card(party), pair(party), CREATED)
    with open_store(root) as store:
        for other in trusts:
            import_card(store, card(other).envelope, card(other).fingerprint)
    return root


def _head(path: Path, lines: int = HEAD_LINES) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


def _put(target: str, name: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def _unsigned(bundle: bytes) -> bytes:
    """The signed target's form of a bundle: header payload on its line, record payloads as ``R`` lines."""
    from cbm.bundle import armor, encryption
    from cbm.bundle.format import MAGIC
    from cbm.core import dsse

    if bundle.startswith(armor.BEGIN):
        import io

        bundle = b"".join(armor.dearmor(io.BytesIO(bundle)))
    for magic in (MAGIC, encryption.MAGIC):
        if bundle.startswith(magic):
            header, _, body = bundle[len(magic):].partition(b"\n")
            if magic == MAGIC and body[:1] == b"{":
                lines = []
                for line in body.split(b"\n"):
                    if line.startswith(b'{"payload"'):
                        line = b"R" + dsse.parse(line).payload
                    lines.append(line)
                body = b"\n".join(lines)
            return magic + dsse.parse(header).payload + b"\n" + body
    raise SystemExit("seeds: not a bundle")


def bundles(base: Path) -> None:
    us, ru = _store(base, "US", ("RU", "CN")), _store(base, "RU", ("US",))
    _cli(us, "inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence", "IMMEDIATE",
         "--subject", "Scanning of US energy SCADA", "--body-file", str(SAMPLES / "inquiry" / "incident.md"),
         "--attach", str(SAMPLES / "inquiry" / "pcap-summary.txt"), "--tlp", "AMBER")
    _cli(us, "indicators", "import", str(SAMPLES / "indicators" / "feed.csv"), "--skip-invalid")
    _cli(us, "indicators", "import", str(SAMPLES / "indicators" / "bundle.stix.json"), "--skip-invalid")
    _cli(us, "hotline", "send", "--to", "RU", "--precedence", "FLASH", "--body", "A wiper is spreading.")
    _cli(us, "indicators", "add", "--type", "ipv4-addr", "--value", "203.0.113.5", "--tlp", "RED", "--to", "CN")
    _cli(us, "workgroup", "proposal", "new", "--title", "Joint exercise", "--text-file",
         str(SAMPLES / "workgroup" / "proposal.md"))
    _cli(us, "whitepaper", "publish", str(SAMPLES / "whitepaper" / "ru-infosec-strategy-2026.md"), "--title",
         "ICT strategy 2026", "--issuer", "Ministry of Defense", "--lang", "en", "--classification", "UNCLASSIFIED")
    out = base / "out"
    out.mkdir()
    layers = {"plain": [], "gzip": ["--gzip"], "armor": ["--armor"], "encrypted": ["--encrypt"],
              "encrypted-armor": ["--encrypt", "--armor"], "gzip-encrypted-armor": ["--gzip", "--encrypt", "--armor"]}
    for name, flags in layers.items():
        path = out / f"{name}.cbm"
        _cli(us, "bundle", "export", "--to", "RU", "--all", "--no-minisig", "-o", str(path), *flags)
        data = path.read_bytes()
        _put("bundle", f"us-to-ru-{name}.cbm", data)
        if "armor" not in name:  # the signed target's input has no armor: dearmored, these would repeat others
            _put("bundle_signed", f"us-to-ru-{name}", _unsigned(data))
    # the other way: RU's receipt for what it got (import, then export back), for RU's view as sender
    _cli(ru, "bundle", "import", str(out / "plain.cbm"))
    _cli(ru, "bundle", "export", "--to", "US", "--no-minisig", "-o", str(out / "receipt.cbm"))
    _put("bundle_signed", "ru-to-us-receipt", _unsigned((out / "receipt.cbm").read_bytes()))


def cards(base: Path) -> None:
    from cbm.core import dsse
    from cbm.core.cards import make_card
    from cbm.core.keys import KeyPair

    for party in ("US", "RU"):
        _put("card", f"{party.lower()}.card", card(party).envelope)
        _put("card", f"payload-{party.lower()}", b"P" + dsse.parse(card(party).envelope).payload)
    rotated = make_card("US", "US-CERT", KeyPair.from_seed(b"cbm-fuzz US 2", CREATED), serial=2, first_seq=40,
                        previous=pair("US"))
    _put("card", "us-rotated.card", rotated.envelope)
    _put("card", "payload-us-rotated", b"P" + dsse.parse(rotated.envelope).payload)


def feeds(base: Path) -> None:
    stalker = DATA / "feeds" / "stalkerware-indicators"
    _put("csv", "stalkerware-network.csv", _head(stalker / "network.csv"))
    _put("csv", "sample-feed.csv", (SAMPLES / "indicators" / "feed.csv").read_bytes())
    _put("plain", "stalkerware-hosts", _head(stalker / "hosts"))
    _put("plain", "stalkerware-quad9.txt", _head(stalker / "quad9_blocklist.txt"))
    _put("plain", "sample-defanged.txt", (SAMPLES / "indicators" / "feed-defanged.txt").read_bytes())
    for path in sorted((DATA / "stix21").rglob("*.json")):
        if path.stat().st_size <= 24 * 1024:
            _put("stix", path.name, path.read_bytes())
    _put("stix", "sample-bundle.stix.json", (SAMPLES / "indicators" / "bundle.stix.json").read_bytes())
    for path in sorted((DATA / "misp").rglob("*.json")):
        if "stix21" not in path.name and path.stat().st_size <= 24 * 1024:
            _put("misp", path.name, path.read_bytes())
    event = json.loads((stalker / "misp_event.json").read_bytes())
    event["Attribute"] = event.get("Attribute", [])[:20]  # a bare event: the head of a large one
    event["Object"] = event.get("Object", [])[:1]
    _put("misp", "stalkerware-event-head.json", json.dumps(event).encode())
    # cbm's own exports: the layouts other cbm users send (STIX one object per line, MISP, CSV, plain)
    us = base / "US"
    for fmt, target, name in (("stix", "stix", "cbm-export.stix.json"), ("misp", "misp", "cbm-export.misp.json"),
                              ("csv", "csv", "cbm-export.csv"), ("txt", "plain", "cbm-export.txt")):
        path = base / name
        _cli(us, "indicators", "export", "--format", fmt, "-o", str(path))
        _put(target, name, path.read_bytes())


def main() -> None:
    os.environ["CBM_NOW"] = CREATED
    for target in ("bundle", "bundle_signed", "card", "csv", "plain", "stix", "misp"):
        shutil.rmtree(CORPUS / target, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="cbm-seeds-") as tmp:
        base = Path(tmp)
        bundles(base)
        cards(base)
        feeds(base)
    print(f"seeds: written under {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
