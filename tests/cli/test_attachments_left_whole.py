"""``inquiry show --save-attachments DIR`` leaves no half file behind when a stored attachment fails its hash
check on the way out (exit 1): its ``.part`` file is removed (docs/adr/0278-output-paths.md). Real stores, a
real bundle between them, a blob altered on disk."""

from __future__ import annotations

from tests.border.test_hostile_attachments import _inquiry_with


def test_an_altered_attachment_leaves_nothing_in_the_save_directory(us_ru, tmp_path):
    us, ru = us_ru
    number = _inquiry_with(us, ru, tmp_path, "pcap.txt")
    blobs = [p for p in (ru.root / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    blobs[0].write_bytes(b"04:10:02 SYN 502/tcp -- altered\n")
    got = tmp_path / "got"
    r = ru.cli("inquiry", "show", number, "--save-attachments", str(got))
    assert r.exit_code == 1 and "altered" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert list(got.iterdir()) == []
