"""Progress on long work (issue 16): a determinate bar on stderr when it is a terminal, nothing otherwise."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cbm.cli.progress import estimated_lines
from tests.conftest import Party

CBM = Path(sys.executable).with_name("cbm")


def stderr_on_terminal(party: Party, *args: str, expect: int = 0) -> str:
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
    assert proc.wait(timeout=120) == expect
    return b"".join(drawn).decode(errors="replace")


def _feed(tmp_path: Path, n: int) -> Path:
    feed = tmp_path / "feed.csv"
    feed.write_text("type,value\n" + "".join(f"ipv4-addr,198.51.{i // 250}.{i % 250 + 1}\n" for i in range(n)))
    return feed


def test_csv_import_bar_knows_its_total(us_ru, tmp_path):
    us, _ = us_ru
    drawn = stderr_on_terminal(us, "indicators", "import", str(_feed(tmp_path, 3000)))
    assert "importing feed.csv" in drawn
    assert re.search(r"/3,00[01] indicators", drawn)  # M of N: the size is known


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


# -- every long command draws a determinate bar (a total and a percentage) on a terminal, nothing otherwise ---

N = 1500


@pytest.fixture
def loaded(us_ru, tmp_path):
    """US holds N indicators (in a few batch records) and has sent RU a bundle of them: b.cbm."""
    us, ru = us_ru
    r = us.cli("indicators", "import", str(_feed(tmp_path, N)))
    assert r.exit_code == 0, r.stderr
    bundle = tmp_path / "b.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle), "--no-encrypt").exit_code == 0
    return us, ru, bundle


def _determinate(drawn: str, description: str, total: str) -> None:
    assert description in drawn, drawn
    assert re.search(r"\d+%", drawn), drawn  # a percentage: the total is known
    assert total in drawn, drawn


@pytest.mark.parametrize("fmt", ["stix", "csv", "txt", "suricata", "misp"])
def test_indicators_export_counts_every_indicator_of_a_known_total(loaded, tmp_path, fmt):
    us, _, _ = loaded
    drawn = stderr_on_terminal(us, "indicators", "export", "-f", fmt, "-o", str(tmp_path / f"out.{fmt}"))
    _determinate(drawn, f"exporting {fmt}", f"/{N:,} indicators")


def test_bundle_export_counts_records_for_one_peer_and_for_all(loaded, tmp_path):
    us, _, _ = loaded
    drawn = stderr_on_terminal(us, "bundle", "export", "--to", "RU", "--all", "-o", str(tmp_path / "again.cbm"))
    _determinate(drawn, "reading records for RU", "records")
    assert re.search(r"(\d+)/\1 records", drawn), drawn  # it reaches its total
    drawn = stderr_on_terminal(us, "bundle", "export", "--to", "all", "--all", "-o", str(tmp_path / "outbox") + "/")
    _determinate(drawn, "reading records for every peer", "records")


@pytest.mark.parametrize("depth", [[], ["--deep"]])
def test_bundle_verify_counts_the_bytes_of_the_file(loaded, depth):
    _, ru, bundle = loaded
    drawn = stderr_on_terminal(ru, "bundle", "verify", str(bundle), *depth)
    _determinate(drawn, "verifying b.cbm", "kB/")


def test_bundle_import_shows_the_landing(loaded):
    _, ru, bundle = loaded
    drawn = stderr_on_terminal(ru, "bundle", "import", str(bundle))
    assert "reading b.cbm" in drawn
    _determinate(drawn, "landing records", "records")
    with ru.open() as store:
        assert store.head("US") is not None  # it landed, bar or not


def test_json_feed_import_counts_bytes_of_the_file(loaded, tmp_path):
    us, ru, _ = loaded
    stix = tmp_path / "feed.json"
    assert us.cli("indicators", "export", "-f", "stix", "-o", str(stix)).exit_code == 0
    drawn = stderr_on_terminal(ru, "indicators", "import", str(stix))
    _determinate(drawn, "importing feed.json", "kB/")


@pytest.mark.parametrize("command, description, unit", [
    (["indicators", "recheck"], "re-checking indicators", f"/{N:,} indicators"),
    (["store", "rebuild"], "rebuilding indexes", "records"),
    (["store", "verify"], "verifying records", "records"),
])
def test_store_wide_work_shows_its_total(loaded, command, description, unit):
    us, _, _ = loaded
    _determinate(stderr_on_terminal(us, *command), description, unit)


LONG_COMMANDS = [
    ["indicators", "export", "-f", "csv", "-o", "{tmp}/o.csv"],
    ["bundle", "export", "--to", "RU", "--all", "-o", "{tmp}/o.cbm"],
    ["bundle", "verify", "--deep", "{bundle}"],
    ["indicators", "recheck"],
    ["store", "rebuild"],
    ["store", "verify"],
]


@pytest.mark.parametrize("command", LONG_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_no_bar_with_quiet_or_when_stderr_is_not_a_terminal(loaded, tmp_path, command):
    us, _, bundle = loaded
    args = [a.format(tmp=tmp_path, bundle=bundle) for a in command]
    drawn = stderr_on_terminal(us, "-q", *args)
    assert "━" not in drawn and "%" not in drawn, drawn
    r = us.cli(*args)
    assert r.exit_code == 0, r.stderr
    assert "━" not in r.stderr and "%" not in r.stderr, r.stderr


def test_no_landing_bar_when_quiet(loaded):
    _, ru, bundle = loaded
    drawn = stderr_on_terminal(ru, "-q", "bundle", "import", str(bundle))
    assert "landing" not in drawn and "━" not in drawn
