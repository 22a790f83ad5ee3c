"""White papers between two real stores through real bundle files: exact bytes, receipts, tampering refused."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "whitepaper"
PDF = SAMPLES / "ru-infosec-strategy-2026-en.pdf"
MD = SAMPLES / "ru-infosec-strategy-2026.md"
MD2 = SAMPLES / "ru-infosec-strategy-2026-v2.md"
META = ("--issuer", "Ministry of Defence", "--classification", "UNCLASSIFIED", "--tlp", "CLEAR")


def send(src: Party, dst: Party, tmp: Path, name: str) -> Path:
    """``src`` exports a bundle file for ``dst``, ``dst`` imports it; returns the file."""
    path = tmp / f"{name}.cbm"
    r = src.cli("bundle", "export", "--to", dst.code, "-o", str(path))
    assert r.exit_code == 0, r.stderr
    r = dst.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr
    return path


def test_binary_paper_round_trip_with_exact_bytes_and_acknowledgement(us_ru, tmp_path):
    us, ru = us_ru
    annex = tmp_path / "annex.bin"
    annex.write_bytes(os.urandom(300_000) + bytes(range(256)) * 4)  # several bundle chunks, every byte value
    r = ru.cli("whitepaper", "publish", str(annex), "--title", "Annex B: exercise scenarios", "--lang", "en",
               *META, "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()["doc"]
    r = ru.cli("whitepaper", "publish", str(PDF), "--title", "Information security strategy", "--lang", "en",
               *META, "--json")
    pdf_doc = r.json()["doc"]
    send(ru, us, tmp_path, "ru-to-us-1")

    r = us.cli("whitepaper", "get", doc[:10], "-o", str(tmp_path / "got.bin"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "got.bin").read_bytes() == annex.read_bytes()
    r = us.cli("whitepaper", "get", pdf_doc[:10], "-o", str(tmp_path / "got.pdf"))
    assert (tmp_path / "got.pdf").read_bytes() == PDF.read_bytes()
    # US acknowledged both on import; searching US's store finds the PDF by its text
    listing = us.cli("whitepaper", "list", "--from", "RU", "--search", "nuclear risk", "--json").json()
    assert [p["doc"] for p in listing["papers"]] == [pdf_doc]

    send(us, ru, tmp_path, "us-to-ru-1")
    shown = ru.cli("whitepaper", "show", doc[:10], "--json").json()
    assert [(r["by"], r["what"], r["sha256"]) for r in shown["receipts"]] == [
        ("US", "version 1", shown["versions"][0]["sha256"])]
    human = ru.cli("whitepaper", "show", doc[:10])
    assert "US acknowledged version 1" in human.stdout


def test_flipped_byte_in_the_attachment_is_refused_and_nothing_lands(us_ru, tmp_path):
    us, ru = us_ru
    r = ru.cli("whitepaper", "publish", str(PDF), "--title", "Strategy", "--lang", "en", *META)
    assert r.exit_code == 0, r.stderr
    path = tmp_path / "ru-to-us.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(path), "--no-minisig").exit_code == 0
    lines = path.read_bytes().split(b"\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(b'{"blob":')) + 1
    chunk = bytearray(base64.b64decode(lines[at]))
    chunk[len(chunk) // 2] ^= 0x01
    lines[at] = base64.b64encode(bytes(chunk))
    bad = tmp_path / "tampered.cbm"
    bad.write_bytes(b"\n".join(lines))

    r = us.cli("bundle", "import", str(bad))
    assert r.exit_code == 1, (r.exit_code, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert us.cli("whitepaper", "list", "--json").json()["papers"] == []
    with us.open() as store:
        assert store.counts()["by_author"].get("RU", 0) == 0
    # the untouched bundle still imports
    assert us.cli("bundle", "import", str(path)).exit_code == 0
    assert len(us.cli("whitepaper", "list", "--json").json()["papers"]) == 1


def test_versions_withdrawal_and_translations_travel_both_ways(us_ru, tmp_path):
    us, ru = us_ru
    doc = ru.cli("whitepaper", "publish", str(MD), "--title", "Стратегия", "--lang", "ru", *META).stdout.strip()
    send(ru, us, tmp_path, "1")
    assert ru.cli("whitepaper", "publish", str(MD2), "--supersedes", doc[:8]).exit_code == 0
    r = ru.cli("whitepaper", "translate", doc[:8], str(PDF), "--lang", "en", "--official", "--version", "1")
    assert r.exit_code == 0, r.stderr
    send(ru, us, tmp_path, "2")
    (tmp_path / "us-en.md").write_text("# Strategy (courtesy translation of revision 2)\n")
    r = us.cli("whitepaper", "translate", doc[:8], str(tmp_path / "us-en.md"), "--lang", "en")
    assert r.exit_code == 0, r.stderr
    r = us.cli("whitepaper", "diff", doc[:8], "--from", "1", "--to", "2")
    assert "12 часов" in r.stdout
    send(us, ru, tmp_path, "3")
    assert ru.cli("whitepaper", "withdraw", doc[:8], "--reason", "superseded by the 2027 edition").exit_code == 0
    send(ru, us, tmp_path, "4")
    send(us, ru, tmp_path, "5")

    for party in (us, ru):
        shown = party.cli("whitepaper", "show", doc[:8], "--json").json()
        assert shown["status"] == "withdrawn"
        assert [v["state"] for v in shown["versions"]] == ["superseded", "superseded", "withdrawal"]
        assert [(t["by"], t["lang"], t["of_version"], t["official"]) for t in shown["translations"]] == [
            ("RU", "en", 1, True), ("US", "en", 2, False)]
    receipts = ru.cli("whitepaper", "show", doc[:8], "--json").json()["receipts"]
    assert [(r["by"], r["what"]) for r in receipts if r["by"] == "US"] == [
        ("US", "version 1"), ("US", "version 2"), ("US", "translation en by RU"), ("US", "withdrawal")]
    # RU acknowledged US's courtesy translation; US sees that
    theirs = us.cli("whitepaper", "show", doc[:8], "--json").json()["receipts"]
    assert ("RU", "translation en by US") in [(r["by"], r["what"]) for r in theirs]
    r = us.cli("whitepaper", "get", doc[:8], "--version", "1", "-o", "-")
    assert r.exit_code == 0 and r.stdout.encode() == MD.read_bytes()
    assert "withdrawn" in r.stderr
