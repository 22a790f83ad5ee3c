"""Tables (issue 16): whole values when piped, the terminal's width on a terminal, no word or id broken.

The terminal cases run the real `cbm` on a pseudo-terminal of 80 columns."""

from __future__ import annotations

import os
import pty
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from cbm.cli.tables import Column, Table, cut_middle, fit
from tests.cli.widths import too_wide
from tests.conftest import Party, introduce

CBM = Path(sys.executable).with_name("cbm")
URL = "https://downloads.example.org/updates/2026/11/security-patch-KB5031234-x64-full-installer.exe"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_cut_middle_keeps_both_ends():
    assert cut_middle(SHA, 17) == "9f86d081…b0f00a08"
    assert cut_middle("short", 17) == "short"
    assert cut_middle("日本語のテキスト", 9) == "日本…スト"  # wide characters take two cells


def test_fit_shrinks_only_the_columns_that_may_be_cut():
    columns = [Column("id"), Column("value", cut=True), Column("hash")]
    assert fit(columns, [[8, 90, 12]], None) == [8, 90, 12]  # no limit: natural widths
    assert fit(columns, [[8, 90, 12]], 80) == [8, 56, 12]  # 8 + 2 + 56 + 2 + 12 = 80
    table = Table([Column("a"), Column("b", optional=True)])
    table.add_row("x" * 70, "y" * 20)
    assert list(table.lines(80)) == ["a", "x" * 70]  # an optional column goes whole, not broken
    assert list(table.lines(None))[1] == "x" * 70 + "  " + "y" * 20


@pytest.fixture
def world(make_party, tmp_path) -> tuple[Party, Party, Path]:
    """US-CERT trusts OSCE-SEC, which sent it two indicators with long values, in a real bundle."""
    us, osce = make_party("US", name="US-CERT"), make_party("OSCE-SEC", name="OSCE Secretariat Cyber Unit")
    introduce(us, osce)
    for kind, value in (("url", URL), ("file-sha256", SHA)):
        r = osce.cli("indicators", "add", "--type", kind, "--value", value, "--tlp", "GREEN")
        assert r.exit_code == 0, r.stderr
    bundle = tmp_path / "osce-to-us.cbm"
    assert osce.cli("bundle", "export", "--to", "US", "-o", str(bundle)).exit_code == 0
    assert us.cli("bundle", "import", str(bundle)).exit_code == 0
    return us, osce, bundle


def on_terminal(party: Party, *args: str, columns: int = 80) -> str:
    """Run the real `cbm` with stdout on a pseudo-terminal ``columns`` wide; its output, lines joined by \\n."""
    import fcntl
    import termios

    main, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["NO_COLOR"] = "1"
    proc = subprocess.Popen([str(CBM), "--store", str(party.root), *args], stdout=follower,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    shown = terminal_output(main)
    stderr = proc.stderr.read() if proc.stderr else b""
    assert proc.wait(timeout=60) == 0, stderr
    return shown.decode().replace("\r\n", "\n")


def terminal_output(leader: int) -> bytes:
    """Everything a child wrote to the pseudo-terminal whose leader side is ``leader``, until it closed it (the
    leader is closed then)."""
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return b"".join(chunks)


def _fits(text: str, columns: int = 80, whole: tuple[str, ...] = ()) -> None:
    too_long = too_wide(text.splitlines(), columns, whole)
    assert not too_long, f"wider than {columns} columns:\n" + "\n".join(too_long)


def test_piped_lists_never_cut_a_value(world):
    us, _, _ = world
    for env in (None, {"COLUMNS": "80"}, {"COLUMNS": "200"}):
        listing = us.cli("indicators", "list", env=env).stdout
        assert URL in listing and SHA in listing and "…" not in listing
        found = us.cli("indicators", "search", SHA, env=env).stdout
        assert SHA in found and "OSCE-SEC" in found


def test_at_80_columns_values_are_cut_in_the_middle_and_ids_kept_whole(world):
    us, osce, _ = world
    listing = on_terminal(us, "indicators", "list")
    _fits(listing)
    url_line = next(line for line in listing.splitlines() if " url " in line)
    value = url_line.split()[-1]
    assert URL not in listing and value.startswith("https://") and "…" in value and URL.endswith(value[-6:])
    assert "OSCE-SEC" in listing  # the `from` column holds the longest party code
    wide = on_terminal(us, "indicators", "list", "--wide")
    assert URL in wide and SHA in wide


def test_keys_list_fits_80_columns_with_whole_codes_and_fingerprints(world):
    us, osce, _ = world
    shown = on_terminal(us, "keys", "list")
    _fits(shown)
    for code in ("US-CERT", "OSCE-SEC", us.fingerprint(), osce.fingerprint()):
        assert code in shown, code
    assert "US-C…" not in shown


def test_bundle_inspect_fits_80_columns_without_breaking_words_or_hashes(world):
    us, osce, bundle = world
    shown = on_terminal(us, "bundle", "inspect", str(bundle))
    _fits(shown)
    lines = shown.splitlines()
    header = next(line for line in lines if line.startswith("author"))
    assert header.split() == ["author", "seq", "kind", "tlp", "to", "ref", "hash"]  # `created`: --wide
    rows = [line.split() for line in lines[lines.index(header) + 1:] if line.startswith("OSCE-SEC ")]
    assert rows and all(len(row[-1]) == 12 for row in rows)  # short hashes whole, each record on one line
    assert all(row[2].startswith("indicators.") for row in rows)
    wide = on_terminal(us, "bundle", "inspect", str(bundle), "--wide")
    assert "created" in wide
    piped = us.cli("bundle", "inspect", str(bundle)).stdout
    assert "created" in piped and "…" not in piped


def test_status_table_fits_and_keeps_codes(world):
    us, _, _ = world
    shown = on_terminal(us, "status")
    _fits(shown, whole=(str(us.root),))
    assert "OSCE-SEC" in shown and "OSCE Secretariat Cyber Unit" in shown
