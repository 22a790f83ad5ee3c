"""`-o` naming a pipe or device (a FIFO, `/dev/stdout`, `/dev/null`): cbm writes into it. It used to write a
temporary file beside it and rename that over it, replacing the pipe with a regular file; run as root with
`-o /dev/null`, that replaced the machine's /dev/null. Tested with a FIFO (never with /dev itself)."""

from __future__ import annotations

import os
import stat
import threading

import pytest


def _drain(fifo, got: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(fifo, "rb") as f:  # blocks until cbm opens the FIFO for writing
            got.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("args, magic", [
    (["bundle", "export", "--to", "RU", "--no-encrypt", "-o"], b"CBM-BUNDLE/1"),
    (["indicators", "export", "--format", "stix", "-o"], b'{"type":"bundle"'),
], ids=["bundle-export", "indicators-export"])
def test_output_to_a_pipe_goes_into_the_pipe(us_ru, tmp_path, args, magic):
    us, _ = us_ru
    assert us.cli("indicators", "add", "--value", "evil.example", "--tlp", "GREEN").exit_code == 0
    (tmp_path / "out").mkdir()
    fifo = tmp_path / "out" / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    thread = _drain(fifo, got)
    r = us.cli(*args, str(fifo))
    assert r.exit_code == 0, r.stderr
    thread.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe, not a regular file renamed over it
    assert got and got[0].startswith(magic), got[:1]
    assert sorted(p.name for p in fifo.parent.iterdir()) == ["out.fifo"]  # no temporary file, no .minisig beside
