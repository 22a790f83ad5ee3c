"""The fast path (cbm/cli/fast.py, docs/adr/0246-a-fast-path-without-typer.md) says exactly what the Typer app
says: every command line of a corpus runs through the real ``cbm`` console script twice, as users run it and with
``CBM_NO_FAST_PATH=1`` (the Typer app for everything), and stdout, stderr and the exit code must be identical.
The corpus names which lines the fast path must take, so the comparison cannot pass by everything falling back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cbm.cli import fast
from cbm.cli.root import help_text
from cbm.cli.root_help import TEXT
from cbm.store.trust import create_store, import_card, own_card
from tests.cli.test_tables import terminal_output
from tests.conftest import run_cli

CBM = Path(sys.executable).parent / "cbm"  # the console script `pip install` made: argv[0] is "cbm"
SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
T0, LATER = "2026-11-23T06:00:00Z", "2026-12-01T06:00:00Z"


class Stores:
    """US (the sample feed, and a FLASH inquiry to RU nobody sent: status --check alerts) and RU (a quiet desk),
    trusting each other; ``run`` runs the real console script in a clean environment inside ``work``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.us, self.ru, self.work = root / "US", root / "RU", root / "work"
        self.missing = root / "no-store-here"

    def env(self, extra: dict[str, str], *, typer_only: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("CBM_STORE", "CBM_PASSPHRASE", "CBM_NO_FAST_PATH", "COLUMNS", "LINES", "NO_COLOR")
               and not k.startswith("_CBM")}
        env.update(HOME=str(self.root / "home"), XDG_DATA_HOME=str(self.root / "home" / "data"), CBM_NOW=LATER)
        env.update(extra)
        if typer_only:
            env["CBM_NO_FAST_PATH"] = "1"
        return env

    def run(self, args: list[str], extra: dict[str, str], *, typer_only: bool) -> tuple[int, str, str]:
        done = subprocess.run([str(CBM), *args], capture_output=True, text=True, timeout=120, check=False,
                              cwd=self.work, env=self.env(extra, typer_only=typer_only))
        return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    s = Stores(tmp_path_factory.mktemp("fast-path"))
    (s.root / "home").mkdir()
    s.work.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(s.root / "home"))
        mp.setenv("CBM_NOW", T0)
        from cbm.measures.indicators import checks

        mp.setattr(checks, "DEFAULT_IGNORE", ("rule:documentation",))  # as tests/conftest.py's hermetic
        for code, name, path in (("US", "US-CERT", s.us), ("RU", "НКЦКИ", s.ru)):  # peer text beyond ASCII
            create_store(path, code, name, None)
        from cbm.app.stores import open_store

        for a, b in ((s.us, s.ru), (s.ru, s.us)):
            with open_store(b) as store:
                card = own_card(store)
            with open_store(a) as store:
                import_card(store, card.envelope, card.fingerprint)
        for args in (("indicators", "import", str(SAMPLES / "feed.csv")),
                     ("inquiry", "open", "--to", "RU", "--precedence", "FLASH", "--subject", "Scan of SCADA",
                      "--body", "details")):
            r = run_cli("--store", str(s.us), *args)
            assert r.exit_code == 0, r.stderr
    yield s


# (name, arguments with {us} {ru} {missing} filled in, extra environment, whether the fast path takes it)
CORPUS: list[tuple[str, list[str], dict[str, str], bool, int]] = [
    ("help", ["--help"], {}, True, 0),
    ("help-short", ["-h"], {}, True, 0),
    ("help-wide", ["--help"], {"COLUMNS": "200"}, True, 0),
    ("help-narrow", ["--help"], {"COLUMNS": "60"}, False, 0),
    ("help-env-store", ["--help"], {"CBM_STORE": "{us}"}, True, 0),
    ("no-arguments", [], {}, True, 2),
    ("version", ["--version"], {}, True, 0),
    ("status", ["--store", "{us}", "status"], {}, True, 0),
    ("status-store-equals", ["--store={us}", "status"], {}, True, 0),
    ("status-env-store", ["status"], {"CBM_STORE": "{us}"}, True, 0),
    ("status-env-and-option", ["--store", "{ru}", "status"], {"CBM_STORE": "{us}"}, True, 0),
    ("status-empty-env-store", ["status"], {"CBM_STORE": ""}, True, 6),
    ("status-json-global", ["--store", "{us}", "--json", "status"], {}, True, 0),
    ("status-json", ["--store", "{us}", "status", "--json"], {}, True, 0),
    ("status-wide", ["--wide", "--store", "{us}", "status", "--wide"], {"COLUMNS": "40"}, True, 0),
    ("status-check-alerts", ["--store", "{us}", "status", "--check"], {}, True, 8),
    ("status-check-json", ["--store", "{us}", "status", "--check", "--json"], {}, True, 8),
    ("status-check-quiet-desk", ["--store", "{ru}", "status", "--check"], {}, True, 0),
    ("status-quiet-verbose", ["-q", "--store", "{us}", "--verbose", "status"], {}, True, 0),
    ("status-long-flags", ["--quiet", "-v", "--passphrase-file", "{missing}", "--store", "{us}", "status"], {},
     True, 0),
    ("status-no-store", ["status"], {}, True, 6),
    ("status-missing-store", ["--store", "{missing}", "status"], {}, True, 6),
    ("status-missing-store-verbose", ["-v", "--store", "{missing}", "status", "--json"], {}, True, 6),
    ("status-unknown-option", ["--store", "{us}", "status", "--bogus"], {}, False, 2),
    ("status-help", ["--store", "{us}", "status", "--help"], {}, False, 0),
    ("status-combined-short-flags", ["-qv", "--store", "{us}", "status"], {}, False, 0),
    ("status-store-twice", ["--store", "{ru}", "--store", "{us}", "status"], {}, False, 0),
    ("status-store-no-value", ["status", "--store"], {}, False, 2),
    ("status-double-dash", ["--store", "{us}", "--", "status"], {}, False, 0),
    ("status-extra-argument", ["--store", "{us}", "status", "now"], {}, False, 2),
    ("search", ["--store", "{us}", "indicators", "search", "198.51.100.23"], {}, True, 0),
    ("search-json", ["--store", "{us}", "indicators", "search", "198.51.100.23", "--json"], {}, True, 0),
    ("search-json-global", ["--json", "--store={us}", "indicators", "search", "198.51.100.23"], {}, True, 0),
    ("search-cidr", ["--store", "{us}", "indicators", "search", "198.51.100.0/24"], {"COLUMNS": "50"}, True, 0),
    ("search-defanged", ["--store", "{us}", "indicators", "search", "update-grid-portal[.]example"], {}, True, 0),
    ("search-substring-limit", ["--store", "{us}", "indicators", "search", "--substring", "--limit", "2",
                                "grid"], {}, True, 0),
    ("search-limit-equals", ["--store", "{us}", "indicators", "search", "grid", "--substring", "--limit=1",
                             "--wide"], {}, True, 0),
    ("search-origin-asn", ["--store", "{us}", "indicators", "search", "198.51.100.23", "--origin", "RU",
                           "--origin=US", "--asn", "AS64500"], {}, True, 5),
    ("search-bad-origin", ["--store", "{us}", "indicators", "search", "198.51.100.23", "--origin", "Russia"], {},
     True, 2),
    ("search-no-hits", ["--store", "{us}", "indicators", "search", "nothing.example"], {}, True, 5),
    ("search-no-hits-json", ["--store", "{us}", "indicators", "search", "nothing.example", "--json"], {}, True, 5),
    ("search-no-hits-quiet", ["-q", "--store", "{us}", "indicators", "search", "nothing.example"], {}, True, 5),
    ("search-escape-in-value", ["--store", "{us}", "indicators", "search", "evil\x1b[2J.example"], {}, True, 5),
    ("search-env-store", ["indicators", "search", "198.51.100.23"], {"CBM_STORE": "{us}"}, True, 0),
    ("search-missing-store", ["--store", "{missing}", "indicators", "search", "198.51.100.23"], {}, True, 6),
    ("search-limit-zero", ["--store", "{us}", "indicators", "search", "grid", "--substring", "--limit", "0"], {},
     True, 5),
    ("search-bad-limit", ["--store", "{us}", "indicators", "search", "grid", "--limit", "many"], {}, False, 2),
    ("search-negative-limit", ["--store", "{us}", "indicators", "search", "grid", "--limit", "-1"], {}, False, 5),
    ("search-no-value", ["--store", "{us}", "indicators", "search"], {}, False, 2),
    ("search-two-values", ["--store", "{us}", "indicators", "search", "a.example", "b.example"], {}, False, 2),
    ("search-unknown-option", ["--store", "{us}", "indicators", "search", "grid", "--fuzzy"], {}, False, 2),
    ("search-help", ["--store", "{us}", "indicators", "search", "--help"], {}, False, 0),
    ("search-empty-origin", ["--store", "{us}", "indicators", "search", "grid", "--origin="], {}, False, 2),
    ("search-global-after", ["indicators", "search", "grid", "--store", "{us}"], {}, False, 2),
    ("indicators-list", ["--store", "{us}", "indicators", "list"], {}, False, 0),
]


def _fill(stores: Stores, items: list[str]) -> list[str]:
    return [a.format(us=stores.us, ru=stores.ru, missing=stores.missing) for a in items]


@pytest.mark.parametrize(("args", "extra", "fast_path", "code"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_the_fast_path_says_what_the_typer_app_says(stores: Stores, args: list[str], extra: dict[str, str],
                                                    fast_path: bool, code: int):
    args = _fill(stores, args)
    extra = {k: v.format(us=stores.us) for k, v in extra.items()}
    env = stores.env(extra, typer_only=False)
    assert (fast.recognise(["cbm", *args], env, program="cbm") is not None) is fast_path
    fast_run = stores.run(args, extra, typer_only=False)
    typer_run = stores.run(args, extra, typer_only=True)
    assert fast_run[0] == code
    if "-v" in args and fast_run[2].startswith("Traceback"):  # --verbose: the frames differ, the rest may not
        assert typer_run[2].startswith("Traceback")
        fast_run, typer_run = _after_traceback(fast_run), _after_traceback(typer_run)
    assert fast_run == typer_run
    assert "Traceback" not in fast_run[2]


def _after_traceback(run: tuple[int, str, str]) -> tuple[int, str, str]:
    code, out, err = run
    return code, out, err[err.index("\ncbm: error:") + 1:]


def _on_a_terminal(stores: Stores, args: list[str], columns: int, *, typer_only: bool) -> tuple[int, bytes]:
    """Run the console script with stdin, stdout and stderr on a pseudo-terminal ``columns`` wide (no $COLUMNS):
    what a desk sees, colours included."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen([str(CBM), *args], stdin=follower, stdout=follower, stderr=follower, cwd=stores.work,
                            env=stores.env({}, typer_only=typer_only))
    os.close(follower)
    shown = terminal_output(leader)
    return proc.wait(timeout=120), shown


@pytest.mark.parametrize("columns", [70, 100])
@pytest.mark.parametrize("args", [[], ["--help"], ["--store", "{us}", "status", "--check"],
                                  ["--store", "{us}", "indicators", "search", "198.51.100.0/24"]],
                         ids=["no-arguments", "help", "status", "search"])
def test_on_a_terminal_too(stores: Stores, args: list[str], columns: int):
    args = _fill(stores, args)
    fast_run = _on_a_terminal(stores, args, columns, typer_only=False)
    assert fast_run == _on_a_terminal(stores, args, columns, typer_only=True)
    if "status" in args:
        assert b"\x1b[32mactive\x1b[0m" in fast_run[1]  # a colour terminal: the key's state in green


def test_the_kept_root_help_is_what_typer_prints():
    """cbm/cli/root_help.py is current: run `make root-help` after changing the root's options or commands."""
    assert help_text() == TEXT


@pytest.mark.parametrize("columns", [None, "79", "80", "200", "0", "wide"])
def test_help_width_is_the_one_click_sees(monkeypatch: pytest.MonkeyPatch, columns: str | None):
    import shutil

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert fast.help_columns(os.environ) == shutil.get_terminal_size().columns


PROBE = """
import json, sys
sys.argv = ["cbm", *sys.argv[1:]]
from cbm.cli.main import main
try:
    main()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "typer": sorted(m for m in sys.modules if m == "typer" or m.startswith("typer."))}),
      file=sys.stderr)
"""


def _typer_modules(stores: Stores, *args: str) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=stores.work, env=stores.env({}, typer_only=False))
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    return probe["code"], probe["typer"]


def test_help_status_and_search_do_not_import_typer(stores: Stores):
    for args in (["--help"], ["--version"], ["--store", str(stores.us), "status", "--check", "--json"],
                 ["--store", str(stores.us), "indicators", "search", "198.51.100.23"],
                 ["--store", str(stores.us), "indicators", "search", "nothing.example", "--json"],
                 ["--store", str(stores.missing), "status"]):
        code, typer_modules = _typer_modules(stores, *args)
        assert typer_modules == [], args
        assert code in (0, 5, 6, 8), args


def test_a_shape_outside_the_grammar_runs_the_typer_app(stores: Stores):
    code, typer_modules = _typer_modules(stores, "--store", str(stores.us), "indicators", "search", "grid",
                                         "--substring", "--limit", "1_0")
    assert code == 0 and "typer" in typer_modules  # click reads "1_0" as 10: the fast path leaves it to click
