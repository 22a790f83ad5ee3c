"""Shell completion (issue 16): scripts for bash, zsh and fish, and values from the store, through the real
`cbm` and the environment variables the shells' scripts set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CBM = Path(sys.executable).with_name("cbm")


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("_CBM", "_TYPER", "COMP_"))}
    proc = subprocess.run([str(CBM)], env={**full, **env}, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc


def bash(line: str) -> list[str]:
    """What bash completion offers after ``line`` (the words the generated script passes to cbm)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    return _run({"_CBM_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(cword)}).stdout.split()


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o"), ("zsh", "#compdef cbm"),
                                           ("fish", "complete --command cbm")])
@pytest.mark.parametrize("order", ["{shell}_source", "source_{shell}"])
def test_the_script_for_each_shell_is_produced(shell, marker, order):
    script = _run({"_CBM_COMPLETE": order.format(shell=shell)}).stdout
    assert marker in script and "_CBM_COMPLETE" in script


def test_root_offers_install_and_show_completion(cli):
    text = cli("--help").stdout
    assert "--install-completion" in text and "--show-completion" in text


def test_completing_values_from_the_store(three, tmp_path):
    us, ru, cn = three
    store = ["cbm", "--store", str(us.root)]
    assert bash(" ".join([*store, "bundle", "export", "--to", ""]) + " ") == ["CN", "RU"]
    assert bash(" ".join([*store, "keys", "export", "--party", "R"])) == ["RU"]
    assert bash(" ".join([*store, "bundle", "exp"])) == ["export"]
    r = us.cli("indicators", "add", "--type", "domain-name", "--value", "c2.example.net")
    assert r.exit_code == 0, r.stderr
    sid = us.cli("indicators", "list", "--json").json()["indicators"][0]["id"].removeprefix("indicator--")
    assert bash(" ".join([*store, "indicators", "show", sid[:2]])) == [sid]
    opened = us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence",
                    "ROUTINE", "--subject", "Scan", "--body", "Port scans.", "--indicator", sid[:8], "--json")
    assert opened.exit_code == 0, opened.stderr
    assert bash(" ".join([*store, "inquiry", "show", "US-"])) == [opened.json()["number"]]
    proposal = tmp_path / "p.md"
    proposal.write_text("Joint exercise in spring.\n")
    made = us.cli("workgroup", "proposal", "new", "--title", "Exercise", "--text-file", str(proposal), "--json")
    assert made.exit_code == 0, made.stderr
    offered = bash(" ".join([*store, "workgroup", "proposal", "show", ""]) + " ")
    assert len(offered) == 1 and made.stdout.find(offered[0]) >= 0
    zsh = _run({"_CBM_COMPLETE": "complete_zsh",
                "_TYPER_COMPLETE_ARGS": " ".join([*store, "hotline", "send", "--to", ""]) + " "}).stdout
    assert '"CN"' in zsh and '"RU"' in zsh
    fish = _run({"_CBM_COMPLETE": "complete_fish", "_TYPER_COMPLETE_FISH_ACTION": "get-args",
                 "_TYPER_COMPLETE_ARGS": " ".join([*store, "keys", "revoke", "--party", ""]) + " "}).stdout
    assert fish.split() == ["CN", "RU"]


def test_no_store_means_no_suggestions_not_a_traceback(tmp_path):
    assert bash(f"cbm --store {tmp_path / 'nowhere'} bundle export --to ") == []


def _hashes(party, kind: str) -> list[str]:
    with party.open() as store:
        return sorted(r.hash for r in store.records(kind=kind))


def test_completing_meeting_action_hotline_and_white_paper_ids(us_ru, tmp_path):
    us, _ = us_ru
    samples = Path(__file__).resolve().parents[2] / "sample-data"
    store = ["cbm", "--store", str(us.root)]
    made = [
        us.cli("workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva", "--agenda-file",
               str(samples / "workgroup" / "agenda.md")),
        us.cli("hotline", "send", "--to", "RU", "--body", "Call me."),
        us.cli("whitepaper", "publish", str(samples / "whitepaper" / "ru-infosec-strategy-2026.md"), "--title",
               "Strategy", "--issuer", "MoD", "--lang", "ru", "--classification", "UNCLASSIFIED"),
    ]
    assert all(r.exit_code == 0 for r in made), [r.stderr for r in made]
    [meeting] = _hashes(us, "workgroup.meeting")
    r = us.cli("workgroup", "action", "add", "Draft the report", "--owner", "RU", "--due", "2027-01-15")
    assert r.exit_code == 0, r.stderr
    [action] = _hashes(us, "workgroup.action")
    [message] = _hashes(us, "hotline.message")
    [version] = _hashes(us, "whitepaper.publish")
    paper = us.cli("whitepaper", "list", "--json").json()["papers"][0]["doc"]

    def offered(*words: str) -> list[str]:
        return bash(" ".join([*store, *words]) + " ")

    assert offered("workgroup", "meeting", "show", "") == [meeting[:12]]
    assert offered("workgroup", "minutes", "") == [meeting[:12]]
    assert offered("workgroup", "action", "add", "x", "--meeting", "") == [meeting[:12]]
    assert offered("workgroup", "action", "done", "") == [action[:12]]
    assert offered("hotline", "read", "") == [message[:12]]
    assert offered("hotline", "translate", "") == [message[:12]]
    assert offered("hotline", "confirm", "") == []  # no call recorded: nothing, and no message id either
    assert set(offered("whitepaper", "show", "")) == {paper[:12], version[:12]}
    assert bash(" ".join([*store, "hotline", "read", message[:14]])) == [message[:14]]  # typed more: kept
    other = "0" if action[0] != "0" else "1"
    assert bash(" ".join([*store, "workgroup", "action", "done", other])) == []
