"""Files cbm writes for users appear only complete, or not at all."""

from __future__ import annotations

import pytest

from cbm.core.errors import NotFound
from cbm.core.files import written_atomically


def test_the_file_appears_complete_and_no_temporary_is_left(tmp_path):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "out.txt"
    with written_atomically(target, text=True) as out:
        out.write("line one\nline two\n")
        assert not target.exists()  # nothing at the path until the block ends
    assert target.read_bytes() == b"line one\nline two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_an_error_leaves_the_old_file_untouched(tmp_path):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "bundle.cbm"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), written_atomically(target) as out:
        out.write(b"half of the new")
        raise RuntimeError("the export failed midway")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["bundle.cbm"]


def test_a_directory_that_does_not_exist_is_not_found(tmp_path):
    """Exit 5, as the contract says of a missing file or place (docs/adr/0278-output-paths.md)."""
    with pytest.raises(NotFound, match="cannot write .*missing/out.cbm: there is no directory"), \
            written_atomically(tmp_path / "missing" / "out.cbm"):
        pass
    assert not (tmp_path / "missing").exists()
