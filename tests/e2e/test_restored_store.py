"""A store restored from an older copy (docs/adr/0304): a peer's receipt acknowledges more of our own log than
the store holds, or another record at a position it holds. Records written there would reuse numbers the peer
already holds from us; the store says so on import, in `cbm status` (and `--check`), and in `bundle status`.

Real stores, real bundle files, a real copy of the store directory as an operator's backup.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Party


def send(sender: Party, recipient: Party, tmp_path: Path, name: str) -> str:
    """``sender`` exports a plain bundle for ``recipient``, which imports it; the import's stderr."""
    path = tmp_path / f"{name}.cbm"
    r = sender.cli("bundle", "export", "--to", recipient.code, "-o", str(path), "--no-encrypt")
    assert r.exit_code == 0, r.stderr
    r = recipient.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr
    return r.stderr


def backup_then_sent(us: Party, ru: Party, tmp_path: Path, *later: str) -> Path:
    """US writes one indicator and copies its store directory (the operator's backup), then writes one indicator
    for each of ``later`` and sends all it wrote to RU, who holds them from then on. Returns the copy."""
    assert us.cli("indicators", "add", "--value", "evil.example").exit_code == 0
    backup = tmp_path / "backup"
    shutil.copytree(us.root, backup)
    for value in later:
        assert us.cli("indicators", "add", "--value", value).exit_code == 0
    send(us, ru, tmp_path, "us-to-ru")
    return backup


def put_back(us: Party, backup: Path) -> None:
    shutil.rmtree(us.root)
    shutil.copytree(backup, us.root)


def test_a_store_restored_from_before_records_a_peer_holds_says_so(us_ru, tmp_path):
    us, ru = us_ru
    backup = backup_then_sent(us, ru, tmp_path, "later.example", "latest.example")  # RU holds US's 1-3
    send(ru, us, tmp_path, "ru-to-us-1")
    assert "beyond" not in us.cli("bundle", "status").stdout.lower()
    assert us.cli("status", "--check").exit_code == 0  # in step: nothing to say
    shutil.copytree(us.root, tmp_path / "newest")  # the copy the operator should have restored

    put_back(us, backup)  # the disk died; the operator restores last week's copy
    assert ru.cli("indicators", "add", "--value", "ru-news.example").exit_code == 0
    err = send(ru, us, tmp_path, "ru-to-us-2")
    line = next(line for line in err.splitlines() if line.startswith("warning: RU acknowledged our log"))
    assert "up to #3" in line and "holds it only to #1" in line and "restored from an older copy" in line

    status = us.cli("status", "--json").json()
    assert status["check"]["needs_attention"] is True
    first = status["attention"][0]
    assert first["measure"] == "store" and first["rank"] == 0 and first["ref"] == "RU"
    assert "up to #3" in first["text"] and "only to #1" in first["text"]
    assert us.cli("status", "--check").exit_code == 8  # a monitoring job pages on it

    table = us.cli("bundle", "status", "--peer", "RU").stdout
    row = next(line for line in table.splitlines() if line.startswith("US "))
    assert row.split()[:3] == ["US", "1", "3"] and "(BEYOND OURS)" in row

    # restoring the newest copy is the remedy: RU's receipt is then in step with the store, and all is quiet
    put_back(us, tmp_path / "newest")
    assert "RU acknowledged" not in send(ru, us, tmp_path, "ru-to-us-3")
    assert us.cli("status", "--check").exit_code == 0


def test_a_restored_store_that_wrote_again_is_told_its_log_forked(us_ru, tmp_path):
    us, ru = us_ru
    backup = backup_then_sent(us, ru, tmp_path, "later.example")
    put_back(us, backup)
    # the restored store writes #2 again, unaware: a record RU holds another version of
    assert us.cli("indicators", "add", "--value", "other.example").exit_code == 0
    err = send(ru, us, tmp_path, "ru-to-us-1")
    assert "acknowledged a record #2 of ours" in err and "forked" in err
    text = us.cli("status", "--json").json()["attention"][0]["text"]
    assert text.startswith("RU acknowledged a record #2 of ours") and "RU's receipt is wrong" in text
    assert "(DIFFERENT HASH)" in us.cli("bundle", "status").stdout


def test_only_our_own_log_is_judged_beyond_what_we_hold(three, tmp_path):
    """RU acknowledging more of CN's log than we hold is ordinary (CN sent it to RU first): no alarm."""
    us, ru, cn = three
    assert cn.cli("indicators", "add", "--value", "cn.example").exit_code == 0
    assert cn.cli("indicators", "add", "--value", "cn2.example").exit_code == 0
    send(cn, ru, tmp_path, "cn-to-ru")
    send(ru, us, tmp_path, "ru-to-us")
    assert us.cli("status", "--check").exit_code == 0
    assert "BEYOND" not in us.cli("bundle", "status").stdout


def test_a_keys_file_older_than_the_database_is_named_as_such(us_ru, tmp_path):
    """The database restored from after a key rotation, the keys file from before it: exit 6, and why."""
    us, _ = us_ru
    old_keys = tmp_path / "old-keys"
    shutil.copytree(us.root / "keys", old_keys)
    assert us.cli("keys", "rotate", "-o", str(tmp_path / "us-new.card")).exit_code == 0
    shutil.rmtree(us.root / "keys")
    shutil.copytree(old_keys, us.root / "keys")
    before = us.cli("status", "--json").json()["counts"]
    r = us.cli("indicators", "add", "--value", "evil.example")
    assert r.exit_code == 6 and r.stdout == ""
    error, hint = r.stderr.splitlines()
    assert "is missing from keys/secret.json" in error and "our signing key since record #" in error
    assert hint.startswith("  hint: the keys file is older than the database")
    assert us.cli("status", "--json").json()["counts"] == before


def test_a_restored_store_writes_no_receipt_to_any_peer_while_one_holds_more_of_its_log(three, tmp_path):
    """RU holds records the restored store lost; a bundle from CN, who holds none of them, must not make the
    store write its receipt at a number RU holds either."""
    us, ru, cn = three
    backup = backup_then_sent(us, ru, tmp_path, "later.example")
    send(ru, us, tmp_path, "ru-to-us")  # RU's receipt: US up to #2
    put_back(us, backup)
    send(ru, us, tmp_path, "ru-to-us-again")  # RU's receipt lands in the restored store
    with us.open() as store:
        head = store.head("US")
    assert cn.cli("indicators", "add", "--value", "cn.example").exit_code == 0
    err = send(cn, us, tmp_path, "cn-to-us")
    assert "no receipt and no automatic reply written for this bundle" in err and "RU may already hold" in err
    with us.open() as store:
        assert store.head("US") == head  # nothing of ours written


def test_a_restored_store_exports_without_a_receipt_that_would_fork_its_log(us_ru, tmp_path):
    us, ru = us_ru
    backup = backup_then_sent(us, ru, tmp_path, "later.example")
    put_back(us, backup)
    assert ru.cli("indicators", "add", "--value", "ru-news.example").exit_code == 0
    send(ru, us, tmp_path, "ru-to-us")  # RU's news land; RU's receipt holds US's #2
    with us.open() as store:
        head = store.head("US")
    for args in (["-o", str(tmp_path / "again.cbm")], ["-o", str(tmp_path / "outbox") + "/"]):
        r = us.cli("bundle", "export", "--to", "RU", *args, "--no-encrypt")
        assert r.exit_code == 0, r.stderr
        assert "no receipt of ours in this bundle" in r.stderr and "RU acknowledged our log up to #2" in r.stderr
        with us.open() as store:
            assert store.head("US") == head  # no receipt written: RU holds #2 from us already


def test_a_peer_whose_key_we_revoked_has_no_word_on_our_log(us_ru, tmp_path):
    """A peer that lies about our log can hold back our automatic receipts and replies; revoking its key ends
    that, as it ends every other trust in it."""
    us, ru = us_ru
    backup = backup_then_sent(us, ru, tmp_path, "later.example")
    put_back(us, backup)
    send(ru, us, tmp_path, "ru-to-us")
    assert us.cli("status", "--check").exit_code == 8
    r = us.cli("keys", "revoke", "--party", "RU", "--reason", "lies about our log", "--yes")
    assert r.exit_code == 0, r.stderr
    assert us.cli("status", "--check").exit_code == 0


def test_every_command_that_writes_into_a_restored_store_says_what_it_took(us_ru, tmp_path):
    """Writing is not refused (a peer's word cannot stop us), but it is never silent."""
    us, ru = us_ru
    backup = backup_then_sent(us, ru, tmp_path, "later.example", "latest.example")
    put_back(us, backup)
    send(ru, us, tmp_path, "ru-to-us")
    r = us.cli("indicators", "add", "--value", "other.example")
    assert r.exit_code == 0 and "created indicator--" in r.stdout
    assert "RU acknowledged our log up to #3" in r.stderr
    assert "this command wrote our record #2: a number of our log that RU may already hold" in r.stderr
    r = us.cli("indicators", "list")  # reading says nothing: `cbm status` does
    assert r.exit_code == 0 and "RU acknowledged" not in r.stderr


def test_a_store_in_step_with_its_peers_writes_without_a_word(us_ru, tmp_path):
    us, ru = us_ru
    assert us.cli("indicators", "add", "--value", "evil.example").exit_code == 0
    send(us, ru, tmp_path, "us-to-ru")
    send(ru, us, tmp_path, "ru-to-us")
    r = us.cli("indicators", "add", "--value", "other.example")
    assert r.exit_code == 0 and "acknowledged" not in r.stderr and "this command wrote" not in r.stderr


def test_a_peer_lying_about_our_log_is_shown_as_its_word_and_stops_no_operator(us_ru, tmp_path, monkeypatch):
    """RU signs a receipt claiming our log reaches #1,000,000,000,000 with a made-up hash: US shows it as RU's
    word, holds back its automatic receipt, records nothing against anyone, and its operator still writes."""
    from cbm.bundle import receipts

    us, ru = us_ru
    assert us.cli("indicators", "add", "--value", "evil.example").exit_code == 0
    send(us, ru, tmp_path, "us-to-ru")
    send(ru, us, tmp_path, "ru-to-us")  # RU's true receipt: US up to #1
    with ru.open() as store:  # then RU's newest receipt lies; one more, malformed, says nothing of a position
        store.append("bundle.receipt", {"logs": {"US": {"seq": 10**12, "hash": "0" * 64}}}, to=("US",))
        store.append("bundle.receipt", {"logs": {"US": {"seq": "lots", "hash": None}}}, to=("US",))
    with monkeypatch.context() as lying:  # RU's own cbm would put a true receipt after it: a liar's does not
        lying.setattr(receipts, "needs_receipt", lambda store, peer: False)
        err = send(ru, us, tmp_path, "ru-to-us-2")
    assert "RU acknowledged our log up to #1000000000000" in err and "holds it only to #1" in err
    status = us.cli("status", "--json").json()
    assert status["attention"][0]["ref"] == "RU" and status["claims"] == []
    r = us.cli("indicators", "add", "--value", "still.example")
    assert r.exit_code == 0 and "this command wrote our record #2" in r.stderr
