"""Peer text cannot forge output lines (issue 13 part 2, docs/adr/0115-control-characters-in-single-line-fields.md).

Single-line fields refuse control characters when written; a peer's card holding them is refused (exit 4,
nothing stored); a peer's signed record holding them is malformed (never listed, counted in ``status``); and
whatever is already stored prints escaped on one line.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cbm.cli.tables import Column, Table
from cbm.core import dsse
from cbm.core.canonical import canonical_bytes
from cbm.core.cards import CARD_TYPE, card_payload
from cbm.core.keys import KeyPair
from cbm.store import paths
from tests.bundle.helpers import export, import_, write
from tests.conftest import Party, run_cli

FORGED_NAME = "EV-CERT\nfingerprint  E24E 55F4 0000 0000 0000"


def forged_card(tmp_path: Path, name: str) -> Path:
    """A card, correctly self-signed with a real fresh key, whose name holds ``name``."""
    pair = KeyPair.generate("2026-12-01T00:00:00Z")
    payload = card_payload("EV", name, 1, 1, pair.verify_key, pair.public_enc_key, pair.created, None)
    envelope = dsse.sign(CARD_TYPE, canonical_bytes(payload), [(pair.keyid, pair.signing)])
    path = tmp_path / "ev.card"
    path.write_bytes(envelope.to_json_bytes())
    return path


def test_a_card_whose_name_holds_a_line_break_is_refused_and_nothing_stored(make_party, tmp_path: Path):
    us = make_party("US")
    for name in (FORGED_NAME, "EV\x1b[2J", "EV\u202eTREC", "EV\u2028x", "EV\x85"):
        card = forged_card(tmp_path, name)
        for extra in ((), ("--fingerprint", "0" * 40)):
            r = us.cli("keys", "import", str(card), *extra)
            assert r.exit_code == 4, (name, r.stderr)
            assert "name holds a control character" in r.stderr and "\nfingerprint  E24E" not in r.stderr
    assert [k["party"] for k in us.cli("keys", "list", "--json").json()["keys"]] == ["US"]


def test_init_refuses_a_name_with_a_control_character(tmp_path: Path):
    r = run_cli("--store", str(tmp_path / "s"), "init", "--party", "US", "--name", "US\nCERT", "--no-passphrase")
    assert r.exit_code == 2 and "party name holds a control character (U+000A)" in r.stderr, r.stderr
    assert not (tmp_path / "s" / paths.DATABASE).exists()


def test_a_name_already_stored_prints_escaped_on_one_line(us_ru: tuple[Party, Party]):
    """A store filled before the rule (or by hand): ``keys list`` and ``status`` still show one row per peer."""
    us, _ = us_ru
    with sqlite3.connect(us.root / paths.DATABASE) as conn:
        conn.execute("UPDATE parties SET name = ? WHERE party = 'RU'", ("RU-CERT\nCN  fake  active  1\x1b[2J",))
    for args in (("keys", "list"), ("status",)):
        out = us.cli(*args).stdout
        assert "\x1b" not in out and "RU-CERT\\x0aCN  fake" in out, out
        assert not any(line.startswith("CN  fake") for line in out.splitlines()), out


def test_table_cells_never_add_a_row():
    table = Table([Column("party"), Column("name", cut=True)])
    table.add_row("RU", "RU-CERT\nCN  CN-CERT\r\u2028\t\x1b[31m")
    assert list(table.lines(None)) == ["party  name", "RU     RU-CERT\\x0aCN  CN-CERT\\x0d\\u2028\\x09\\x1b[31m"]


def test_peer_records_with_control_characters_in_single_line_fields_are_never_listed(us_ru: tuple[Party, Party],
                                                                                     tmp_path: Path):
    us, ru = us_ru
    write(ru, "inquiry.open", {"number": "RU-US/2026/0001", "recipient": "US", "type": "notification",
                               "precedence": "ROUTINE", "subject": "Scan\nRU-US/2026/0009  forged", "text": "x",
                               "indicators": [], "blobs": [], "attachments": [], "ack_within": 86400,
                               "reply_within": 86400}, to=("US",))
    write(ru, "workgroup.action", {"title": "Share\x1b[2J format", "owner": "RU", "due": "2027-01-15"})
    write(ru, "indicators.batch", {"fields": ["id", "type", "value", "valid_until", "confidence", "sectors",
                                              "name"],
                                   "rows": [["indicator--6f1e0c1a-3c1b-4b7e-9d3e-1a2b3c4d5e6f", "domain-name",
                                             "evil.example", None, None, None, "C2\nfake row"]]})
    export(ru, "US", tmp_path / "ru.cbmb")
    assert import_(us, tmp_path / "ru.cbmb").exit_code == 0
    for args in (("inquiry", "list"), ("workgroup", "action", "list"), ("indicators", "list")):
        r = us.cli(*args)
        assert r.exit_code == 0 and "forged" not in r.stdout and "Share" not in r.stdout \
            and "fake row" not in r.stdout, (args, r.stdout)
    status = us.cli("status", "--json").json()
    assert status["malformed_count"] == 3
    assert {m["kind"]: m["reason"] for m in status["malformed"]} == {
        "inquiry.open": "subject must be one line without control characters",
        "workgroup.action": "title must be one line without control characters",
        "indicators.batch": "row 1: name holds a control character"}


def test_multi_line_peer_text_keeps_its_lines_but_no_control_sequence(us_ru: tuple[Party, Party], tmp_path: Path):
    us, ru = us_ru
    r = ru.cli("inquiry", "open", "--to", "US", "--subject", "Scan", "--body", "line one\nline two \x1b[2J\x9b31m")
    assert r.exit_code == 0, r.stderr
    export(ru, "US", tmp_path / "ru.cbmb")
    assert import_(us, tmp_path / "ru.cbmb").exit_code == 0
    shown = us.cli("inquiry", "show", "RU-US/2026/0001").stdout
    assert "line one\n" in shown and "line two \\x1b[2J\\x9b31m" in shown
    assert "\x1b" not in shown and "\x9b" not in shown
