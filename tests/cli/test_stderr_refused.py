"""Standard error full (``2>/dev/full``), closed (``2>&-``) or a terminal that has gone away: an error, a warning
or a progress bar cbm cannot show is dropped, never a traceback or a hang, and the command ends with the exit code
it would have had, which still tells (docs/adr/0276-standard-error-full-or-closed.md). Run through the real
console script, both ways (the fast path of docs/adr/0246 and the Typer app)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Party

CBM = Path(sys.executable).parent / "cbm"  # the console script `make setup` installs
BOTH_WAYS = pytest.mark.parametrize("typer_only", [False, True], ids=["fast path", "typer app"])
REFUSED = pytest.mark.parametrize("redirect", [" 2>/dev/full", " 2>&-"], ids=["stderr full", "stderr closed"])


def _env(party: Party, typer_only: bool, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CBM_", "_CBM_"))}
    env.update(HOME=str(party.root.parent), CBM_STORE=str(party.root), **more)
    if typer_only:
        env["CBM_NO_FAST_PATH"] = "1"
    return env


def _run(args: list[str], redirect: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``cbm ARGS`` with standard error redirected by the shell; stdout captured."""
    return subprocess.run(["sh", "-c", '"$@"' + redirect, "sh", str(CBM), *args], stdout=subprocess.PIPE,
                          text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def us(make_party) -> Party:
    party = make_party("US")
    assert party.cli("indicators", "add", "--value", "evil.example", "--tlp", "GREEN").exit_code == 0
    return party


# (arguments, the exit code the command has with stderr open): each one writes to stderr on its way
ERRORS = [
    (["--store", "/nonexistent/store", "status"], 6),  # fast path: a store error
    (["indicators", "search", "no-such.example"], 5),  # fast path: not found
    (["keys", "export", "--bogus"], 2),  # click's usage error
    (["inquiry", "show", "inquiry--00000000-0000-4000-8000-000000000000"], 5),
    (["indicators", "add", "--value", "10.0.0.1", "--tlp", "GREEN"], 0),  # a warning (flagged private), then done
]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@BOTH_WAYS
@REFUSED
@pytest.mark.parametrize(("args", "code"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_what_cannot_be_said_on_stderr_keeps_the_exit_code(us, args: list[str], code: int, redirect: str,
                                                          typer_only: bool):
    open_stderr = subprocess.run([str(CBM), *args], capture_output=True, text=True, env=_env(us, typer_only),
                                 timeout=120, stdin=subprocess.DEVNULL)
    assert open_stderr.returncode == code and open_stderr.stderr, open_stderr.stderr  # it does write to stderr
    assert _run(args, redirect, _env(us, typer_only)).returncode == code


@BOTH_WAYS
def test_the_result_still_reaches_stdout_when_stderr_is_closed(us, typer_only: bool):
    done = _run(["indicators", "add", "--value", "10.0.0.2", "--tlp", "GREEN"], " 2>&-", _env(us, typer_only))
    assert done.returncode == 0
    assert "10.0.0.2" in done.stdout


def test_a_closed_stderr_number_is_never_given_to_a_file_cbm_writes(us, tmp_path: Path):
    """With descriptor 2 closed, the first file cbm opens would get it; anything below Python writing "to stderr"
    would then write into the user's output. cbm keeps 0-2 on the null device instead: the card written is exactly
    the card ``keys export`` writes with stderr open."""
    card, reference = tmp_path / "closed.card", tmp_path / "open.card"
    assert _run(["keys", "export", "-o", str(card)], " 2>&-", _env(us, True)).returncode == 0
    assert _run(["keys", "export", "-o", str(reference)], "", _env(us, True)).returncode == 0
    probe = subprocess.run(["sh", "-c", '"$@" 2>&-', "sh", sys.executable, "-c",
                            "from cbm.core.stdio import reserve_standard_descriptors as r; r(); import os; "
                            "f = open(os.devnull); print(f.fileno(), os.readlink('/proc/self/fd/2'))"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.split() == ["3", "/dev/null"], probe.stdout
    assert card.read_bytes() == reference.read_bytes()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
@BOTH_WAYS
def test_a_progress_bar_on_a_terminal_that_went_away_does_not_stop_the_import(us, tmp_path: Path,
                                                                             typer_only: bool):
    """stderr a terminal (so the bar is drawn) whose other side has hung up: every write there fails (EIO)."""
    feed = tmp_path / "feed.csv"
    feed.write_text("value,type\n" + "".join(f"host{i}.evil.example,domain\n" for i in range(3000)))
    controller, terminal = os.openpty()
    os.close(controller)
    try:
        done = subprocess.run([str(CBM), "indicators", "import", str(feed), "--format", "csv", "--tlp", "GREEN"],
                              stdout=subprocess.PIPE, stderr=terminal, text=True, env=_env(us, typer_only),
                              timeout=120, stdin=subprocess.DEVNULL)
    finally:
        os.close(terminal)
    assert done.returncode == 0
    assert us.cli("indicators", "search", "host2999.evil.example").exit_code == 0
