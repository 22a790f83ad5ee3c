"""What click, Typer and Rich write themselves — a group's or a command's help, ``--version``, a shell completion
script — and a command's result written straight to ``sys.stdout`` (``indicators list``, ``indicators export``),
when standard output refuses it (a full disk: ``/dev/full``), is closed (``>&-``) or is a pipe whose reader has
gone (``| head``). The first two are one ``cbm: error:`` line and exit 2, as cbm's own writes were already; the
third is exit 0 and nothing on stderr (docs/adr/0262-every-output-path-guarded.md). Run through the real console
script, both ways (the fast path of docs/adr/0246 and the Typer app)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Party

CBM = Path(sys.executable).parent / "cbm"  # the console script `make setup` installs
BOTH_WAYS = pytest.mark.parametrize("typer_only", [False, True], ids=["fast path", "typer app"])
DONE_HINT = "  hint: what the command did is done, only its output is lost; run it with standard output open"

WRITTEN_BY_CLICK = [
    ["--help"], ["--version"], ["indicators"], ["indicators", "--help"], ["indicators", "import", "--help"],
    ["bundle", "export", "--help"],
]
WRITTEN_STRAIGHT = [["indicators", "list"], *(["indicators", "export", "--format", f] for f in
                                              ("stix", "csv", "txt", "suricata", "misp"))]


def _env(party: Party | None, typer_only: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CBM_", "_CBM_"))}
    if party is not None:
        env["HOME"] = str(party.root.parent)
        env["CBM_STORE"] = str(party.root)
    if typer_only:
        env["CBM_NO_FAST_PATH"] = "1"
    return env


def _run(args: list[str], redirect: str, env: dict[str, str]) -> tuple[int, str]:
    """``cbm ARGS`` with standard output redirected by the shell (``>/dev/full``, ``>&-``); exit code, stderr."""
    done = subprocess.run(["sh", "-c", '"$@"' + redirect, "sh", str(CBM), *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, done.stderr


def _run_into_a_gone_reader(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """``cbm ARGS`` writing into a pipe whose reading end is already closed: its first write is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([str(CBM), *args], stdout=write_end, stderr=subprocess.PIPE, text=True, env=env,
                              timeout=120, stdin=subprocess.DEVNULL)
    finally:
        os.close(write_end)
    return done.returncode, done.stderr


@pytest.fixture
def us(make_party) -> Party:
    party = make_party("US")
    for value in ("evil.example", "198.51.100.7"):
        assert party.cli("indicators", "add", "--value", value, "--tlp", "GREEN").exit_code == 0
    return party


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@BOTH_WAYS
@pytest.mark.parametrize("args", WRITTEN_BY_CLICK + WRITTEN_STRAIGHT, ids=" ".join)
def test_a_full_disk_under_any_output_is_one_error_line(us, args: list[str], typer_only: bool):
    code, stderr = _run(args, " >/dev/full", _env(us, typer_only))
    assert "Traceback" not in stderr, stderr
    assert code == 2, stderr
    lines = stderr.splitlines()
    assert lines[-2:] == ["cbm: error: cannot write to standard output: No space left on device", DONE_HINT]


@BOTH_WAYS
@pytest.mark.parametrize("args", WRITTEN_BY_CLICK + WRITTEN_STRAIGHT, ids=" ".join)
def test_a_closed_stdout_under_any_output_is_one_error_line(us, args: list[str], typer_only: bool):
    code, stderr = _run(args, " >&-", _env(us, typer_only))
    assert "Traceback" not in stderr, stderr
    assert code == 2, stderr
    assert stderr.splitlines()[-2:] == ["cbm: error: standard output is closed: the result has nowhere to go",
                                        DONE_HINT]


@BOTH_WAYS
@pytest.mark.parametrize("args", WRITTEN_BY_CLICK + WRITTEN_STRAIGHT, ids=" ".join)
def test_a_reader_gone_ends_any_output_quietly_with_0(us, args: list[str], typer_only: bool):
    code, stderr = _run_into_a_gone_reader(args, _env(us, typer_only))
    assert code == 0, stderr
    # only the export's own notes (flagged indicators left out); no error, no "Exception ignored" at exit
    assert "error" not in stderr.lower() and "Exception" not in stderr, stderr


def test_a_completion_script_for_a_shell_to_a_full_disk_is_one_error_line():
    env = _env(None, typer_only=True)
    env["_CBM_COMPLETE"] = "bash_source"
    code, stderr = _run([], " >/dev/full", env)
    assert code == 2 and "Traceback" not in stderr, stderr
    assert stderr.startswith("cbm: error: cannot write to standard output: No space left on device"), stderr


def test_the_guard_is_gone_after_a_run(cli):
    """The Typer app guards standard output for its run only: a program that embeds it gets its stream back."""
    before = sys.stdout
    assert cli("--version").exit_code == 0
    assert sys.stdout is before
