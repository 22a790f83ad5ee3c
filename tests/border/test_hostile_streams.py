"""Standard streams and numbers a user (or a scheduler) can hand any command: standard output closed (``>&-``)
or refusing what is written (a full disk: ``/dev/full``), standard input closed (``<&-``), a number past what a
date or SQLite holds, a path longer than the system takes. Each is one ``cbm: error:`` line and its exit code,
never a traceback, and the store is as before. Run through the real console script, both ways (the fast path of
docs/adr/0246 and the Typer app), where the stream is the process's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Party

CBM = Path(sys.executable).parent / "cbm"  # the console script `make setup` installs
FULL = Path("/dev/full")
BOTH_WAYS = pytest.mark.parametrize("typer_only", [False, True], ids=["fast path", "typer app"])


def _run(party: Party, args: list[str], *, stdout: str, stdin: str = "devnull",
         typer_only: bool = False) -> tuple[int, str]:
    """Run ``cbm --store ROOT ARGS`` with stdout ``closed``, ``full`` or ``pipe``, stdin ``closed`` or not;
    the exit code and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBM_")}
    env["HOME"] = str(party.root.parent)
    if typer_only:
        env["CBM_NO_FAST_PATH"] = "1"
    command = [str(CBM), "--store", str(party.root), *args]
    # the shell closes the stream for us, as a user's `>&-` or `<&-` does
    redirect = {"closed": " >&-", "full": " >/dev/full", "pipe": ""}[stdout] + (" <&-" if stdin == "closed" else "")
    done = subprocess.run(["sh", "-c", '"$@"' + redirect, "sh", *command], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL if stdin != "closed" else None)
    return done.returncode, done.stderr


def _one_error(stderr: str, text: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith(f"cbm: error: {text}"), stderr


needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")


@needs_dev_full
@BOTH_WAYS
@pytest.mark.parametrize("args", [["status"], ["status", "--json"], ["keys", "list"]], ids=" ".join)
def test_a_full_disk_on_stdout_is_one_error_line(make_party, args: list[str], typer_only: bool):
    us = make_party("US")
    code, stderr = _run(us, args, stdout="full", typer_only=typer_only)
    assert code == 2
    _one_error(stderr, "cannot write to standard output: No space left on device")
    assert stderr.splitlines()[1:] == ["  hint: what the command did is done, only its output is lost; run it with "
                                       "standard output open"]


@needs_dev_full
@BOTH_WAYS
def test_a_result_written_through_rich_to_a_full_disk_says_the_work_is_done(make_party, typer_only: bool):
    """`indicators add` prints its result through Rich's console after the indicator landed: the error says so,
    and the indicator is there."""
    us = make_party("US")
    code, stderr = _run(us, ["indicators", "add", "--value", "evil.example", "--tlp", "GREEN"], stdout="full",
                        typer_only=typer_only)
    assert code == 2
    _one_error(stderr.split("\n", 1)[1] if stderr.startswith("warning:") else stderr,
               "cannot write to standard output: No space left on device")
    assert "what the command did is done" in stderr
    assert [i["value"] for i in us.cli("indicators", "list", "--json").json()["indicators"]] == ["evil.example"]


@needs_dev_full
@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_the_root_help_and_version_to_a_full_disk_are_one_error_line(args: list[str]):
    with FULL.open("w") as full:
        done = subprocess.run([str(CBM), *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 2
    _one_error(done.stderr, "cannot write to standard output")


@BOTH_WAYS
@pytest.mark.parametrize("args", [["status"], ["indicators", "search", "evil.example", "--json"]], ids=" ".join)
def test_stdout_closed_is_one_error_line_where_a_result_is_written(make_party, args: list[str], typer_only: bool):
    code, stderr = _run(make_party("US"), args, stdout="closed", typer_only=typer_only)
    assert code == 2
    _one_error(stderr, "standard output is closed")


def test_importing_stdin_when_it_is_closed_is_one_error_line(make_party):
    us = make_party("US")
    code, stderr = _run(us, ["indicators", "import", "-", "--format", "csv"], stdout="pipe", stdin="closed")
    assert code == 2
    _one_error(stderr, "standard input is closed")
    assert us.cli("status", "--json").json()["counts"]["by_measure"] == {}


HUGE = "9" * 23  # past a C int, SQLite's 64-bit integer and the year 9999


@pytest.mark.parametrize("args, text", [
    (["indicators", "list", "--expiring", HUGE], f"--expiring {HUGE} reaches past the year 9999"),
    (["indicators", "list", "--expiring", "-1"], "--expiring must be 0 or more"),
    (["indicators", "stats", "--days", HUGE], f"--days {HUGE} reaches past the year 9999"),
    (["indicators", "stats", "--days", "3000000"], "--days 3000000 reaches past the year 9999"),
], ids=["list-expiring", "list-expiring-negative", "stats-days", "stats-days-past-9999"])
def test_a_horizon_past_the_calendar_is_a_usage_error(make_party, args: list[str], text: str):
    r = make_party("US").cli(*args)
    assert r.exit_code == 2
    _one_error(r.stderr, text)


def test_a_limit_past_sqlite_integers_means_all(make_party):
    us = make_party("US")
    assert us.cli("indicators", "add", "--value", "evil.example", "--tlp", "GREEN").exit_code == 0
    r = us.cli("indicators", "list", "--limit", HUGE, "--json")
    assert r.exit_code == 0, r.stderr
    assert [i["value"] for i in r.json()["indicators"]] == ["evil.example"]


LONG = "x" * 5000  # a name longer than any file system takes (ENAMETOOLONG)


def test_a_warninglists_directory_name_too_long_is_not_found(make_party):
    r = make_party("US").cli("indicators", "warninglists", "--update", LONG)
    assert r.exit_code == 5
    _one_error(r.stderr, "no warninglists directory xxx")


def test_a_bundle_name_too_long_beside_a_good_one_is_reported_not_a_traceback(us_ru, tmp_path: Path):
    us, ru = us_ru
    good = tmp_path / "us.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "--no-encrypt", "-o", str(good)).exit_code == 0
    r = ru.cli("bundle", "import", str(good), LONG)
    assert "Traceback" not in r.stderr and r.exit_code == 5, r.stderr
    assert "1 of 2 bundle(s) imported" in r.stderr + r.stdout
