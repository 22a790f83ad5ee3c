"""The command-line contract: exit codes 0-7 each produced by a real command, errors as one line on stderr with
stdout empty, ``--json`` documents with a schema, peer text printed literally, passphrase-protected keys."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cbm.core import dsse
from cbm.core.errors import EXIT_CODES
from cbm.core.keys import KeyPair, is_protected, read_secret_keys
from cbm.store.trust import create_store
from tests.conftest import Party, Result, introduce, run_cli


def assert_error(r: Result, code: int, fragment: str) -> None:
    """The error contract: exit code, nothing on stdout, one ``cbm: error:`` line (plus hints), no traceback."""
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith("cbm: error: "), r.stderr
    assert fragment in lines[0], r.stderr
    assert all(line.startswith("  hint: ") for line in lines[1:]), r.stderr
    assert "Traceback" not in r.stderr


def _stranger_signed_card(ru: Party) -> bytes:
    """RU's card, its self-signature replaced by one from a key that is not in the card."""
    stranger = KeyPair.from_seed(b"stranger", "2026-11-23T05:00:00Z")
    env = dsse.parse(ru.card())
    return dsse.sign(env.payload_type, env.payload, [(stranger.keyid, stranger.signing)]).to_json_bytes()


def _damage_database(party: Party) -> None:
    path = party.root / "store.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    data[:16] = b"not a database!!"
    path.write_bytes(bytes(data))


# (exit code, what is wrong, how to provoke it, fragment of the message)
Case = tuple[int, str, Callable[[Party, Party, Path], Result], str]
CASES: list[Case] = [
    (1, "fingerprint mismatch", lambda us, ru, d: us.cli("keys", "import", str(d / "ru.card"),
                                                          "--fingerprint", us.fingerprint()), "fingerprint mismatch"),
    (1, "card self-signature broken", lambda us, ru, d: us.cli(
        "keys", "import", str(d / "flipped.card"), "--fingerprint", ru.fingerprint()), "signature does not verify"),
    (2, "no passphrase for new keys", lambda us, ru, d: run_cli("--store", str(d / "new"), "init", "--party", "FR",
                                                               "--name", "ANSSI"), "no passphrase"),
    (2, "bad party code", lambda us, ru, d: run_cli("--store", str(d / "new"), "init", "--party", "U S", "--name",
                                                   "x", "--no-passphrase"), "is not a party code"),
    (2, "bad CBM_NOW", lambda us, ru, d: run_cli("--store", str(d / "new"), "init", "--party", "FR", "--name", "x",
                                                "--no-passphrase", env={"CBM_NOW": "yesterday"}), "CBM_NOW"),
    (2, "revoking own key without --yes", lambda us, ru, d: us.cli("keys", "revoke", "--reason", "lost"), "--yes"),
    (3, "card signed by another key", lambda us, ru, d: us.cli(
        "keys", "import", str(d / "stranger.card"), "--fingerprint", ru.fingerprint()), "signed by no trusted key"),
    (4, "garbage card", lambda us, ru, d: us.cli("keys", "import", str(d / "garbage.card"), "--fingerprint",
                                                 "0" * 40), "not a party card: not valid JSON"),
    # regression: a JSON file that is no envelope said only "envelope needs payloadType, payload and signatures"
    (4, "JSON that is no card", lambda us, ru, d: us.cli("keys", "import", str(d / "notes.json"), "--fingerprint",
                                                         "0" * 40), "not a party card: envelope needs"),
    # regressions: an empty or blank card file said "not valid JSON: Expecting value: line 1 column 1 (char 0)"
    (4, "empty card", lambda us, ru, d: us.cli("keys", "import", str(d / "empty.card"), "--fingerprint",
                                               "0" * 40), "empty.card is empty"),
    (4, "whitespace-only card", lambda us, ru, d: us.cli("keys", "import", str(d / "blank.card"), "--fingerprint",
                                                         "0" * 40), "blank.card is empty"),
    (4, "empty card on stdin", lambda us, ru, d: us.cli("keys", "import", "-", "--fingerprint", "0" * 40,
                                                        input=b""), "stdin is empty"),
    (4, "our own card", lambda us, ru, d: us.cli("keys", "import", str(d / "us.card"), "--fingerprint",
                                                 us.fingerprint()), "our own party card"),
    (4, "oversized card", lambda us, ru, d: us.cli("keys", "import", str(d / "huge.card"), "--fingerprint",
                                                   "0" * 40), "larger than a party card"),  # regression: read whole
    # regression: a card file given as --keyring said the folder "does not exist"
    (2, "keyring given a card file", lambda us, ru, d: us.cli("bundle", "verify", str(d / "ru.card"), "--keyring",
                                                              str(d / "ru.card")), "is a file, not a folder"),
    (5, "card file missing", lambda us, ru, d: us.cli("keys", "import", str(d / "missing.card")), "cannot read"),
    (5, "unknown peer", lambda us, ru, d: us.cli("keys", "export", "--party", "CN"), "unknown party CN"),
    (6, "no store", lambda us, ru, d: run_cli("--store", str(d / "nowhere"), "status"), "no cbm store"),
    # regressions: these two were Python tracebacks
    (2, "store path is a file", lambda us, ru, d: run_cli("--store", str(d / "us.card"), "init", "--party", "FR",
                                                         "--name", "x", "--no-passphrase"), "not a directory"),
    (6, "store cannot be created", lambda us, ru, d: run_cli("--store", str(d / "us.card" / "s"), "init", "--party",
                                                            "FR", "--name", "x", "--no-passphrase"),
     "cannot create a store"),
    (6, "damaged database", lambda us, ru, d: (_damage_database(ru), ru.cli("status"))[1], "database"),
    (7, "TAXII server unreachable", lambda us, ru, d: (
        us.cli("taxii", "add", "gone", "http://127.0.0.1:1/taxii2/", "--api-root", "/api1/", "--collection", "c"),
        us.cli("indicators", "pull", "gone"))[1], "connection refused"),
]


@pytest.fixture
def pair(make_party, tmp_path: Path) -> tuple[Party, Party, Path]:
    us, ru = make_party("US"), make_party("RU")
    d = tmp_path / "files"
    d.mkdir()
    (d / "ru.card").write_bytes(ru.card())
    (d / "us.card").write_bytes(us.card())
    (d / "stranger.card").write_bytes(_stranger_signed_card(ru))
    (d / "garbage.card").write_bytes(b"{not json")
    (d / "notes.json").write_text('{"party": "RU"}')
    (d / "empty.card").write_bytes(b"")
    (d / "blank.card").write_bytes(b"  \n\t\r\n")
    (d / "huge.card").write_bytes(b" " * (1024 * 1024))
    doc = json.loads(ru.card())
    sig = bytearray(dsse.unb64(doc["signatures"][0]["sig"], "sig"))
    sig[0] ^= 1
    doc["signatures"][0]["sig"] = dsse.b64(bytes(sig))
    (d / "flipped.card").write_text(json.dumps(doc))
    return us, ru, d


@pytest.mark.parametrize("code, what, provoke, fragment", CASES, ids=[c[1] for c in CASES])
def test_exit_codes(pair, code, what, provoke, fragment):
    us, ru, d = pair
    assert_error(provoke(us, ru, d), code, fragment)


def test_every_exit_code_is_covered():
    assert {c[0] for c in CASES} | {0} | {8} == set(EXIT_CODES) == set(range(9))  # 8: status --check


def test_success_is_exit_0_with_result_on_stdout_only(pair):
    us, ru, d = pair
    r = us.cli("keys", "import", str(d / "ru.card"), "--fingerprint", ru.fingerprint())
    # the result, once, on stdout (issue 16: it was said twice, on both streams)
    assert r.exit_code == 0 and r.stdout == f"trusted RU (RU-CERT), key {ru.fingerprint()}\n" and r.stderr == ""
    q = us.cli("-q", "keys", "export", "-o", str(d / "out.card"))
    assert q.exit_code == 0 and q.stdout == "" and q.stderr == ""  # -q hides status lines ...
    assert_error(us.cli("-q", "keys", "import", str(d / "missing.card")), 5, "cannot read")  # ... never errors


def test_store_verify_reports_on_stdout_and_fails_with_exit_1(pair):
    us, ru, d = pair
    assert us.cli("store", "verify").exit_code == 0
    with us.open() as store:
        store.append("inquiry.open", {"text": "x"})
    conn = sqlite3.connect(us.root / "store.sqlite")
    with conn:
        conn.execute("UPDATE records SET envelope = CAST(replace(CAST(envelope AS TEXT), 'sig\":\"', 'sig\":\"AA')"
                     " AS BLOB)")
    conn.close()
    r = us.cli("store", "verify")
    assert r.exit_code == 1
    assert r.stdout.startswith("FAULT US #1: ")  # a report is a result: stdout, even when it is bad news
    assert r.stderr.splitlines()[0] == "cbm: error: store verification found 1 fault(s)"


def test_click_usage_errors_follow_the_error_contract(pair):
    us, ru, d = pair
    assert_error(us.cli("keys", "list", "--no-such-option"), 2, "--no-such-option")


def test_click_usage_errors_are_exit_2_on_stderr(pair):
    us, ru, d = pair
    for args, fragment in ((("keys", "list", "--no-such-option"), "--no-such-option"),
                           (("no-such-command",), "no-such-command"), (("init", "--party", "US"), "--name")):
        r = us.cli(*args)
        assert_error(r, 2, fragment)
        assert "see `cbm " in r.stderr  # points at the right help, under the real program name


def test_json_documents_have_a_schema(pair, tmp_path: Path):
    us, ru, d = pair
    docs = {
        "init": run_cli("--store", str(tmp_path / "fr"), "init", "--party", "FR", "--name", "ANSSI",
                        "--no-passphrase", "--json"),
        "keys.import": us.cli("keys", "import", str(d / "ru.card"), "--fingerprint", ru.fingerprint(), "--json"),
        "keys.show": us.cli("keys", "show", "--json"),
        "keys.list": us.cli("--json", "keys", "list"),  # the global flag works too
        "status": us.cli("status", "--json"),
        "store.verify": us.cli("store", "verify", "--json"),
        "store.rebuild": us.cli("store", "rebuild", "--json"),
        "keys.rotate": us.cli("keys", "rotate", "--json"),
        "keys.revoke": us.cli("keys", "revoke", "--party", "RU", "--reason", "test", "--yes", "--json"),
    }
    for name, r in docs.items():
        assert r.exit_code == 0, (name, r.stderr)
        doc = json.loads(r.stdout)  # exactly one JSON document on stdout
        assert doc["schema"] == f"cbm.{name}/1", name
    assert json.loads(run_cli("--store", str(ru.root), "keys", "revoke", "--reason", "lost", "--yes",
                              "--json").stdout)["schema"] == "cbm.keys.revoke/1"


HOSTILE_NAME = "[red]X\x1b[2J\x07"


def _stored_name(party: Party, peer: str, name: str) -> None:
    """A peer name stored before ADR 0115 refused control characters in cards (cards holding them are now
    refused on import: tests/security/test_peer_text_one_line.py); it must still print literally."""
    with sqlite3.connect(party.root / "store.sqlite") as conn:
        assert conn.execute("UPDATE parties SET name = ? WHERE party = ?", (name, peer)).rowcount == 1


def test_peer_text_is_printed_literally(make_party, tmp_path: Path):
    us = make_party("US")
    ru = make_party("RU", name="[red]X")
    (tmp_path / "ru.card").write_bytes(ru.card())
    r = us.cli("keys", "import", str(tmp_path / "ru.card"), "--fingerprint", ru.fingerprint())
    assert r.exit_code == 0, r.stderr
    assert "[red]X" in r.stdout  # markup shown as text
    _stored_name(us, "RU", HOSTILE_NAME)
    wide = {"COLUMNS": "200"}  # piped output is never shortened anyway; a wide terminal neither
    listing = us.cli("keys", "list", env=wide)
    assert "[red]X\\x1b[2J" in listing.stdout  # markup shown as text, the escape shown, not obeyed
    assert "\x1b" not in listing.stdout and "\x07" not in listing.stdout
    status = us.cli("status", env=wide)
    assert "[red]X\\x1b[2J" in status.stdout and "\x1b" not in status.stdout
    # JSON carries the exact text, escaped as JSON
    names = [k["name"] for k in us.cli("keys", "list", "--json").json()["keys"]]
    assert HOSTILE_NAME in names


def test_interactive_confirmation_never_shows_a_hostile_name(make_party, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch):
    """Regression: on a terminal, the card's name was written raw just above the fingerprint being confirmed,
    so escapes in it could redraw what the operator reads aloud. Such a card is now refused before the prompt."""
    from tests.security.test_peer_text_one_line import forged_card

    us = make_party("US")
    monkeypatch.setattr("cbm.cli.keys.interactive", lambda: True)  # CliRunner has no terminal
    r = us.cli("keys", "import", str(forged_card(tmp_path, "RU\x1b[1A\x1b[2K0000 0000 0000")), input="y\n")
    assert r.exit_code == 4 and "fingerprint" not in r.stderr and "\x1b" not in r.stderr, r.stderr
    ru = make_party("RU", name="[b]RU-CERT")
    (tmp_path / "ru.card").write_bytes(ru.card())
    r = us.cli("keys", "import", str(tmp_path / "ru.card"), input="y\n")
    assert r.exit_code == 0, r.stderr
    assert "RU ([b]RU-CERT) fingerprint:\n  " + ru.fingerprint() in r.stderr
    r = us.cli("keys", "import", str(tmp_path / "ru.card"), input="n\n")
    assert r.exit_code == 0 and "already trusted" in r.stdout


def test_passphrase_protected_keys(tmp_path: Path):
    store = tmp_path / "s"
    r = run_cli("--store", str(store), "init", "--party", "US", "--name", "US-CERT", env={"CBM_PASSPHRASE": "pw 1"})
    assert r.exit_code == 0, r.stderr
    secret = store / "keys" / "secret.json"
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store / "keys").st_mode) == 0o700
    assert is_protected(secret) and b"sign_seed" not in secret.read_bytes()  # encrypted at rest
    # a wrong passphrase: exit 2, one clear line, nothing changed
    before = secret.read_bytes()
    assert_error(run_cli("--store", str(store), "keys", "rotate", env={"CBM_PASSPHRASE": "pw 2"}), 2,
                 "wrong passphrase")
    assert secret.read_bytes() == before
    # no passphrase and no terminal: exit 2 saying how to give one
    assert_error(run_cli("--store", str(store), "keys", "rotate"), 2, "no passphrase was given")
    assert_error(run_cli("--store", str(store), "--passphrase-file", str(tmp_path / "nope"), "keys", "rotate"), 2,
                 "cannot read the passphrase file")
    # --passphrase-file works (trailing newline ignored); the rewritten file stays protected, 0600, same passphrase
    (tmp_path / "pw").write_text("pw 1\n")
    r = run_cli("--store", str(store), "--passphrase-file", str(tmp_path / "pw"), "keys", "rotate")
    assert r.exit_code == 0, r.stderr
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600 and is_protected(secret)
    assert len(read_secret_keys(secret, lambda: "pw 1")) == 2
    # reading public things needs no passphrase at all
    assert run_cli("--store", str(store), "keys", "list").exit_code == 0


def test_empty_passphrase_is_refused_and_creates_nothing(tmp_path: Path):
    assert_error(run_cli("--store", str(tmp_path / "s"), "init", "--party", "US", "--name", "x",
                         env={"CBM_PASSPHRASE": ""}), 2, "passphrase is empty")
    assert not (tmp_path / "s").exists()


def test_unencrypted_keys_for_automation_are_still_0600(tmp_path: Path):
    create_store(tmp_path / "s", "US", "US-CERT", None)
    secret = tmp_path / "s" / "keys" / "secret.json"
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600 and not is_protected(secret)


def test_introduced_parties_list_each_other(make_party):
    us, ru = make_party("US"), make_party("RU")
    introduce(us, ru)
    assert [k["party"] for k in us.cli("keys", "list", "--json").json()["keys"]] == ["US", "RU"]


def test_json_output_escapes_terminal_controls_json_leaves_raw(make_party, tmp_path: Path):
    """Regression: json.dumps(ensure_ascii=False) leaves DEL, C1 controls (U+009B = CSI) and bidi overrides raw."""
    name = "RU\x9b2J\u202eTREC\x7f Минобороны"
    us, ru = make_party("US"), make_party("RU")
    (tmp_path / "ru.card").write_bytes(ru.card())
    assert us.cli("keys", "import", str(tmp_path / "ru.card"), "--fingerprint", ru.fingerprint()).exit_code == 0
    _stored_name(us, "RU", name)
    r = us.cli("keys", "list", "--json")
    assert not any(ch in r.stdout for ch in "\x9b\u202e\x7f")
    assert "Минобороны" in r.stdout  # readable text stays readable
    assert [k["name"] for k in r.json()["keys"]][-1] == name  # and the document still carries the exact name
    human = us.cli("keys", "list", env={"COLUMNS": "200"})
    assert not any(ch in human.stdout for ch in "\x9b\u202e\x7f")


# -- a store locked by another process ---------------------------------------------------------------------

_HOLD_WRITE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def _contents(party: Party) -> tuple[list[tuple[str, int, str]], bytes]:
    """What a writing command changes: the records, and the key file (a rotation rewrites it)."""
    with party.open() as store:
        rows = store.conn.execute("SELECT author, seq, hash FROM records ORDER BY author, seq").fetchall()
    return rows, (party.root / "keys" / "secret.json").read_bytes()


@pytest.mark.parametrize("command", [
    ("indicators", "add", "--type", "ipv4-addr", "--value", "203.0.113.5"),
    ("keys", "rotate"),
], ids=["indicators add", "keys rotate"])
def test_a_store_locked_by_another_process_is_exit_6_after_CBM_LOCK_TIMEOUT(make_party, command):
    us = make_party("US")
    before = _contents(us)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_WRITE_LOCK, str(us.root / "store.sqlite")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        started = time.monotonic()
        r = us.cli(*command, env={"CBM_LOCK_TIMEOUT": "0.3"})
        waited = time.monotonic() - started
    finally:
        holder.communicate(b"", timeout=30)  # release the lock
    assert_error(r, 6, "the store is locked")
    assert "CBM_LOCK_TIMEOUT" in r.stderr.splitlines()[-1]  # the hint says how to wait longer
    assert 0.3 <= waited < 10  # the shortened wait, not the default 30 s
    assert _contents(us) == before
    assert us.cli(*command).exit_code == 0  # once the lock is gone the same command works
    assert _contents(us) != before


def test_lock_timeout_defaults_to_30_seconds_and_rejects_nonsense(make_party, monkeypatch: pytest.MonkeyPatch):
    us = make_party("US")

    def busy_timeout_ms() -> int:
        with us.open() as store:
            return store.conn.execute("PRAGMA busy_timeout").fetchone()[0]

    assert busy_timeout_ms() == 30_000
    monkeypatch.setenv("CBM_LOCK_TIMEOUT", "2.5")
    assert busy_timeout_ms() == 2_500
    monkeypatch.delenv("CBM_LOCK_TIMEOUT")
    for bad in ("soon", "-1", "nan", "1e9"):
        assert_error(us.cli("status", env={"CBM_LOCK_TIMEOUT": bad}), 2, "CBM_LOCK_TIMEOUT")
