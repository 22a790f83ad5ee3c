"""`cbm bundle import FILE FILE... | DIR`: a morning's inbox in one process, real stores and real bundle files.
Each bundle lands in its own transaction; a bad one is reported and changes nothing, the others land, and the
exit code is the highest of the failures' codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundle.helpers import export, hashes, write
from tests.conftest import Party, introduce


@pytest.fixture
def four(make_party) -> tuple[Party, Party, Party, Party]:
    parties = make_party("RU"), make_party("US"), make_party("CN"), make_party("UK")
    introduce(*parties)
    return parties


def counts(party: Party) -> dict:
    with party.open() as store:
        return store.counts()


def inbox(four: tuple[Party, ...], tmp_path: Path) -> Path:
    """RU's inbox: a bundle from each of US, CN and UK, each carrying two new records."""
    ru, *senders = four
    box = tmp_path / "inbox"
    box.mkdir()
    for sender in senders:
        write(sender, n=2)
        export(sender, "RU", box / f"{sender.code.lower()}-to-ru.cbm")
    return box


def test_a_directory_lands_every_bundle_in_name_order(four, tmp_path: Path):
    ru, us, cn, uk = four
    box = inbox(four, tmp_path)
    r = ru.cli("bundle", "import", str(box), "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.bundle.import-many/1"
    assert [Path(f["file"]).name for f in doc["files"]] == ["cn-to-ru.cbm", "uk-to-ru.cbm", "us-to-ru.cbm"]
    assert [f["result"]["sender"] for f in doc["files"]] == ["CN", "UK", "US"]
    assert all(f["error"] is None and f["result"]["receipt"] for f in doc["files"])
    assert (doc["imported"], doc["failed"], doc["exit_code"]) == (3, 0, 0)
    for sender in (us, cn, uk):
        assert hashes(ru, sender.code) == hashes(sender, sender.code)[: len(hashes(ru, sender.code))]
        assert len(hashes(ru, sender.code)) >= 2
    # again: nothing lands. The table is the result; each bundle's notes go to stderr, named by file
    again = ru.cli("bundle", "import", str(box))
    assert again.exit_code == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0].split() == ["file", "sender", "bundle", "landed", "result"]
    assert [line.split()[3] for line in lines[1:4]] == ["0", "0", "0"]
    assert lines[-1] == "3 of 3 bundle(s) imported"
    assert "us-to-ru.cbm: bundle 1 from US was already imported" in again.stderr


def test_a_bad_bundle_is_reported_and_the_others_land(four, tmp_path: Path):
    ru, us, cn, uk = four
    box = inbox(four, tmp_path)
    tampered = box / "cn-to-ru.cbm"
    data = bytearray(tampered.read_bytes())
    data[-1] ^= 0x01
    tampered.write_bytes(bytes(data))
    write(us, n=1)
    export(us, "UK", box / "us-to-uk.cbm")  # misdelivered: meant for UK
    before_cn = counts(ru)
    r = ru.cli("bundle", "import", str(box), "--json")
    assert r.exit_code == 4, r.stderr  # the highest code: 4 (wrong recipient) over 1 (tampered)
    files = {Path(f["file"]).name: f for f in r.json()["files"]}
    assert files["cn-to-ru.cbm"]["result"] is None and files["cn-to-ru.cbm"]["error"]["code"] == 1
    assert files["us-to-uk.cbm"]["error"]["code"] == 4
    assert files["us-to-uk.cbm"]["error"]["kind"] == "WrongRecipient"
    assert files["uk-to-ru.cbm"]["error"] is None and files["us-to-ru.cbm"]["error"] is None
    assert r.json()["exit_code"] == 4 and r.json()["failed"] == 2
    # one `cbm: error:` line per bad file on stderr, no traceback
    errors = [line for line in r.stderr.splitlines() if line.startswith("cbm: error: ")]
    assert len(errors) == 2 and all(str(box) in line for line in errors)
    assert "Traceback" not in r.stderr
    # the store holds what the good ones carried, nothing of the bad
    assert hashes(ru, "CN") == [] and len(hashes(ru, "US")) >= 2 and len(hashes(ru, "UK")) >= 2
    with ru.open() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM records WHERE author = 'CN'").fetchone()[0] == 0
    assert counts(ru)["by_author"]["US"] > before_cn["by_author"].get("US", 0)
    # the human form: one row per file, the refusals in it
    r = ru.cli("bundle", "import", str(box / "cn-to-ru.cbm"), str(box / "us-to-ru.cbm"))
    assert r.exit_code == 1
    assert "refused (exit 1)" in r.stdout and "1 of 2 bundle(s) imported, 1 refused" in r.stdout


def test_files_are_taken_in_the_order_given_and_a_missing_one_is_not_found(four, tmp_path: Path):
    ru, *_ = four
    box = inbox(four, tmp_path)
    r = ru.cli("bundle", "import", str(box / "us-to-ru.cbm"), str(box / "nope.cbm"), str(box / "cn-to-ru.cbm"),
               str(box / "us-to-ru.cbm"), "--json")
    assert r.exit_code == 5, r.stderr
    files = r.json()["files"]
    assert [Path(f["file"]).name for f in files] == ["us-to-ru.cbm", "nope.cbm", "cn-to-ru.cbm"]
    assert files[1]["error"]["code"] == 5 and files[0]["result"] and files[2]["result"]
    assert len(hashes(ru, "US")) >= 2 and len(hashes(ru, "CN")) >= 2


def test_an_empty_inbox_and_stdin_among_files(four, tmp_path: Path):
    ru, *_ = four
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a bundle")
    before = counts(ru)
    r = ru.cli("bundle", "import", str(tmp_path / "empty"), "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["files"] == [] and "no *.cbm files in" in r.stderr
    r = ru.cli("bundle", "import", "-", str(tmp_path / "x.cbm"))
    assert r.exit_code == 2 and r.stderr.startswith("cbm: error: stdin ('-') can only be imported on its own")
    assert counts(ru) == before
