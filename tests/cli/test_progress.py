"""Progress on long work (issue 16): a determinate bar on stderr when it is a terminal, nothing otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from cbm.cli.progress import estimated_lines
from tests.conftest import Party

CBM = Path(sys.executable).with_name("cbm")


def stderr_on_terminal(party: Party, *args: str) -> str:
    """Run the real `cbm` with stderr on a pseudo-terminal (stdout to a pipe); what it drew there."""
    main, follower = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.Popen([str(CBM), "--store", str(party.root), *args], stdout=subprocess.PIPE,
                            stderr=follower, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    drawn = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        drawn.append(data)
    os.close(main)
    assert proc.wait(timeout=120) == 0
    return b"".join(drawn).decode(errors="replace")


def _feed(tmp_path: Path, n: int) -> Path:
    feed = tmp_path / "feed.csv"
    feed.write_text("type,value\n" + "".join(f"ipv4-addr,198.51.{i // 250}.{i % 250 + 1}\n" for i in range(n)))
    return feed


def test_csv_import_bar_knows_its_total(us_ru, tmp_path):
    us, _ = us_ru
    drawn = stderr_on_terminal(us, "indicators", "import", str(_feed(tmp_path, 3000)))
    assert "importing feed.csv" in drawn
    assert "/3001" in drawn or "/3000" in drawn or "3000/3000" in drawn  # M of N: the size is known


def test_bundle_import_bar_counts_bytes(us_ru, tmp_path):
    us, ru = us_ru
    assert us.cli("indicators", "import", str(_feed(tmp_path, 2000))).exit_code == 0
    bundle = tmp_path / "b.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle)).exit_code == 0
    drawn = stderr_on_terminal(ru, "bundle", "import", str(bundle))
    assert "reading b.cbm" in drawn and "kB" in drawn


def test_no_bar_when_quiet_or_piped(us_ru, tmp_path):
    us, _ = us_ru
    drawn = stderr_on_terminal(us, "-q", "indicators", "import", str(_feed(tmp_path, 500)))
    assert "importing" not in drawn and drawn.strip() == ""
    r = us.cli("indicators", "import", str(_feed(tmp_path, 10)))
    assert "importing feed" not in r.stderr and "━" not in r.stderr


def test_estimated_lines(tmp_path):
    feed = _feed(tmp_path, 20000)
    assert abs((estimated_lines(str(feed)) or 0) - 20001) < 1000
    assert estimated_lines("-") is None
