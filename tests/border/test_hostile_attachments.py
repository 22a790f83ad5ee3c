"""Attachment names come from the peer: `inquiry show --save-attachments` must write whatever name a peer's
inquiry lists (up to the file system's 255-byte limit on the sender's side, or longer if forged) as a file, or
say in one line why it cannot. Real stores, a real bundle file between them."""

from __future__ import annotations

from tests.cli.test_contract import assert_error


def _carry(a, b, tmp_path) -> None:
    bundle = tmp_path / "a-to-b.cbm"
    assert a.cli("bundle", "export", "--to", b.code, "-o", str(bundle), "--no-encrypt").exit_code == 0
    r = b.cli("bundle", "import", str(bundle))
    assert r.exit_code == 0, r.stderr


def _inquiry_with(us, ru, tmp_path, name: str) -> str:
    (tmp_path / "us-files").mkdir()
    (tmp_path / "us-files" / name).write_bytes(b"04:10:02 SYN 502/tcp\n")
    r = us.cli("inquiry", "open", "--to", "RU", "--subject", "Scanning", "--body", "Scans on 502/tcp.",
               "--attach", str(tmp_path / "us-files" / name), "--json")
    assert r.exit_code == 0, r.stderr
    _carry(us, ru, tmp_path)
    return str(r.json()["number"])


def test_an_attachment_named_to_the_limit_is_saved_twice(us_ru, tmp_path):
    """A 250-byte name is a legal file name at the sender; saved here it needed 5 bytes more for its ``.part``
    (and 13 more beside an earlier copy): ENAMETOOLONG, a traceback. It is saved under a shortened name."""
    us, ru = us_ru
    number = _inquiry_with(us, ru, tmp_path, "a" * 246 + ".txt")
    got = tmp_path / "got"
    for _ in range(2):  # the second time beside the first copy
        r = ru.cli("inquiry", "show", number, "--save-attachments", str(got), "--json")
        assert r.exit_code == 0, r.stderr
    saved = sorted(got.iterdir())
    assert len(saved) == 2 and all(p.read_bytes() == b"04:10:02 SYN 502/tcp\n" for p in saved)
    assert all(len(p.name.encode()) <= 255 and p.name.endswith(".txt") for p in saved)


def test_a_save_directory_that_cannot_be_made_is_one_error_line(us_ru, tmp_path):
    us, ru = us_ru
    number = _inquiry_with(us, ru, tmp_path, "pcap.txt")
    (tmp_path / "a-file").write_text("not a directory\n")
    for where in (tmp_path / "a-file", tmp_path / ("x" * 300)):
        assert_error(ru.cli("inquiry", "show", number, "--save-attachments", str(where)), 2, "cannot write")
