"""``cbm whitepaper`` as a user meets it: help, results on stdout, errors on stderr, exit codes, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "whitepaper"
PDF = SAMPLES / "ru-infosec-strategy-2026-en.pdf"
MD = SAMPLES / "ru-infosec-strategy-2026.md"
MD2 = SAMPLES / "ru-infosec-strategy-2026-v2.md"
COMMANDS = ("publish", "list", "show", "get", "translate", "diff", "withdraw")
NEW = ("--title", "Information security strategy", "--issuer", "Ministry of Defence", "--lang", "ru")


def publish(party, path=MD, *extra):
    r = party.cli("whitepaper", "publish", str(path), *NEW, "--classification", "UNCLASSIFIED", *extra)
    assert r.exit_code == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    r = run_cli("whitepaper", command, "--help")
    assert r.exit_code == 0 and "Example:" in r.stdout


def test_placeholder_is_gone():
    r = run_cli("whitepaper", "--help")
    assert r.exit_code == 0 and "not available" not in r.stdout.lower()
    assert all(c in r.stdout for c in COMMANDS)


def test_publish_prints_the_paper_id_and_reports_on_stderr(us_ru):
    us, _ = us_ru
    r = us.cli("whitepaper", "publish", str(PDF), "--title", "Strategy", "--issuer", "MoD", "--lang", "en",
               "--classification", "UNCLASSIFIED", "--tlp", "clear", "--date", "2026-11-01",
               "--summary", "Priorities", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.whitepaper.publish/1"
    assert (doc["version"], doc["tlp"], doc["media_type"], doc["size"]) == (1, "CLEAR", "application/pdf",
                                                                            PDF.stat().st_size)
    assert doc["doc"] == doc["record"] and "published version 1" in r.stderr


@pytest.mark.parametrize("mark", ["SECRET", "UNCLASSIFIED//FOUO", "confidential"])
def test_classified_marks_exit_4_and_store_unchanged(us_ru, mark):
    us, _ = us_ru
    r = us.cli("whitepaper", "publish", str(MD), *NEW, "--classification", mark)
    assert r.exit_code == 4 and r.stdout == ""
    assert "only UNCLASSIFIED" in r.stderr and "Traceback" not in r.stderr
    assert us.cli("whitepaper", "list", "--json").json()["papers"] == []
    assert not (us.root / "blobs").exists() or not any((us.root / "blobs").rglob("*"))


def test_bad_inputs_have_clear_errors_and_exit_codes(us_ru, tmp_path):
    us, _ = us_ru
    (tmp_path / "empty.md").write_bytes(b"")
    cases = [
        (("publish", "missing.pdf", *NEW, "--classification", "UNCLASSIFIED"), 5, "cannot read"),
        # a mistyped name is said first, before the options are judged (no classification given here)
        (("publish", "missing.pdf", "--title", "T"), 5, "cannot read"),
        (("translate", "0000", "missing.pdf", "--lang", "ru"), 5, "cannot read"),
        (("publish", str(MD), "--classification", "UNCLASSIFIED"), 2, "--title"),
        (("publish", str(MD), *NEW), 2, "classification"),
        (("publish", str(MD), *NEW[:4], "--lang", "russian!", "--classification", "UNCLASSIFIED"), 2,
         "language tag"),
        (("publish", str(MD), *NEW, "--classification", "UNCLASSIFIED", "--tlp", "WHITE"), 2, "CLEAR"),
        (("publish", str(MD), *NEW, "--classification", "UNCLASSIFIED", "--to", "CN"), 5, "unknown party"),
        (("publish", str(MD), *NEW, "--classification", "UNCLASSIFIED", "--date", "1 Nov"), 2, "ISO 8601"),
        (("publish", str(tmp_path), *NEW, "--classification", "UNCLASSIFIED"), 2, "not a regular file"),
        (("publish", str(tmp_path / "empty.md"), *NEW, "--classification", "UNCLASSIFIED"), 4, "is empty"),
        (("show", "zzzzzz"), 2, "not a white paper id"),
        (("show", "abc"), 2, "too short: give at least 6 hex digits"),
        (("show", "abcdef"), 5, "no white paper"),
        (("get", "abcdef", "-o", "x"), 5, "no white paper"),
        (("withdraw", "abcdef", "--reason", "x"), 5, "no white paper"),
    ]
    for args, code, text in cases:
        r = us.cli("whitepaper", *args)
        assert (r.exit_code, r.stdout) == (code, ""), (args, r.stderr)
        assert text in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    assert us.cli("whitepaper", "list", "--json").json()["papers"] == []


def test_versions_translation_diff_withdraw_through_the_cli(us_ru, tmp_path):
    us, _ = us_ru
    doc = publish(us)
    r = us.cli("whitepaper", "publish", str(MD), "--supersedes", doc[:8])
    assert r.exit_code == 4 and "nothing new to publish" in r.stderr  # the very same version again (ADR 0279)
    r = us.cli("whitepaper", "publish", str(MD), "--supersedes", doc[:8], "--summary", "Corrected abstract")
    assert r.exit_code == 0 and r.stdout.strip() == doc  # identical bytes are fine as a new version that says more
    r = us.cli("whitepaper", "publish", str(MD2), "--supersedes", doc[:8], "--json")
    assert r.json()["version"] == 3
    r = us.cli("whitepaper", "translate", doc[:8], str(PDF), "--lang", "en", "--official", "--version", "1")
    assert r.exit_code == 0, r.stderr
    r = us.cli("whitepaper", "diff", doc[:8], "--from", "2", "--to", "3")
    assert r.exit_code == 0
    assert "--- v2/ru-infosec-strategy-2026.md" in r.stdout and "+Национальный центр" in r.stdout
    r = us.cli("whitepaper", "diff", doc[:8], "--json")
    assert r.json()["metadata"]["filename"] == [MD.name, MD2.name]
    r = us.cli("whitepaper", "withdraw", doc[:8], "--reason", "superseded by 2027 edition")
    assert r.exit_code == 0, r.stderr
    r = us.cli("whitepaper", "withdraw", doc[:8], "--reason", "again")
    assert r.exit_code == 4 and "already withdrawn" in r.stderr
    show = us.cli("whitepaper", "show", doc[:8], "--json").json()
    assert show["status"] == "withdrawn" and show["current_version"] == 4
    assert [v["state"] for v in show["versions"]] == ["superseded", "superseded", "superseded", "withdrawal"]
    assert show["translations"][0]["of_version"] == 1 and show["translations"][0]["official"] is True
    human = us.cli("whitepaper", "show", doc[:8])
    assert "withdrawn: superseded by 2027 edition" in human.stdout and MD2.name in human.stdout
    listing = us.cli("whitepaper", "list", "--json").json()["papers"]
    assert [(p["status"], p["translated_to"]) for p in listing] == [("withdrawn", ["en"])]
    # every field list and show share has one name and one meaning (docs/adr/0299)
    shared = set(listing[0]) & set(show)
    assert {"doc", "author", "title", "issuer", "lang", "status", "current_version"} <= shared
    assert {k: listing[0][k] for k in shared} == {k: show[k] for k in shared}


def test_get_writes_exact_bytes_or_streams_to_stdout(us_ru, tmp_path):
    us, _ = us_ru
    doc = publish(us, PDF, "--json")
    doc = json.loads(doc)["doc"]
    r = us.cli("whitepaper", "get", doc[:8], "-o", str(tmp_path / "out.pdf"))
    assert r.exit_code == 0 and "verified" in r.stderr
    assert (tmp_path / "out.pdf").read_bytes() == PDF.read_bytes()
    r = us.cli("whitepaper", "get", doc[:8], "-o", "-")
    assert r.exit_code == 0 and r.stdout.encode("latin-1", "replace")[:5] == b"%PDF-"
    r = us.cli("whitepaper", "get", doc[:8], "-o", "-", "--json")
    assert r.exit_code == 2 and "stdout" in r.stderr
    r = us.cli("whitepaper", "get", doc[:8], "--version", "7", "-o", str(tmp_path / "x"))
    assert r.exit_code == 5 and "no version 7" in r.stderr


def test_get_of_an_altered_file_exits_1_and_writes_nothing(us_ru, tmp_path):
    us, _ = us_ru
    doc = publish(us)
    blob = next(p for p in (us.root / "blobs").rglob("*") if p.is_file())
    data = bytearray(blob.read_bytes())
    data[-2] ^= 0x20
    blob.write_bytes(bytes(data))
    r = us.cli("whitepaper", "get", doc[:8], "-o", str(tmp_path / "out.md"))
    assert r.exit_code == 1 and "altered" in r.stderr and r.stdout == ""
    assert not (tmp_path / "out.md").exists()


def test_list_filters_and_search(us_ru, tmp_path):
    us, _ = us_ru
    ru_doc = publish(us)
    (tmp_path / "e.txt").write_text("Election systems resilience\n")
    en_doc = publish(us, tmp_path / "e.txt", "--title", "Election study", "--lang", "en")
    r = us.cli("whitepaper", "list", "--search", "resilience", "--json")
    assert [p["doc"] for p in r.json()["papers"]] == [en_doc]
    r = us.cli("whitepaper", "list", "--lang", "ru")
    assert r.exit_code == 0 and ru_doc[:12] in r.stdout and en_doc[:12] not in r.stdout
    r = us.cli("whitepaper", "list", "--from", "RU")
    assert r.exit_code == 0 and r.stdout == "" and "no white papers" in r.stderr


def test_peer_text_is_printed_literally(us_ru):
    us, _ = us_ru
    doc = publish(us, MD, "--summary", "[bold]x[/bold] \x1b[31mred")
    r = us.cli("whitepaper", "show", doc[:8])
    assert "[bold]x[/bold]" in r.stdout and "\\x1b[31mred" in r.stdout and "\x1b" not in r.stdout


def test_size_limit_from_config_refuses_before_storing(us_ru):
    us, _ = us_ru
    with open(us.root / "config.toml", "a", encoding="utf-8") as f:
        f.write("\n[whitepaper]\nmax_bytes = 1000\n")
    r = us.cli("whitepaper", "publish", str(PDF), *NEW, "--classification", "UNCLASSIFIED")
    assert r.exit_code == 4 and "limited to 1000 bytes" in r.stderr
    assert not (us.root / "blobs").exists() or not any(p.is_file() for p in (us.root / "blobs").rglob("*"))
