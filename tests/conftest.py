"""Shared fixtures: every test gets its own HOME, store directories and a clean environment; no network."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbm.app.stores import open_store
from cbm.cli.main import app
from cbm.store.db import Store
from cbm.store.trust import create_store, import_card, own_card

# Public fixtures copied into the repository (sources and licences in tests/data/SOURCES.md): no test reads
# outside the clone, so `make test` passes wherever it is checked out.
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for var in ("CBM_STORE", "CBM_PASSPHRASE", "CBM_NOW", "CBM_LOCK_TIMEOUT", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    # The suite's samples use the documentation ranges (RFC 5737, 3849) as stand-ins for hostile addresses, as a
    # lab store would (config `[indicators.checks] ignore`); tests of that rule set the default back.
    from cbm.measures.indicators import checks

    monkeypatch.setattr(checks, "DEFAULT_IGNORE", ("rule:documentation",))
    yield


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


@dataclass
class Party:
    """A real store on disk for one party, with a CLI bound to it."""

    code: str
    root: Path

    def open(self) -> Store:
        return open_store(self.root)

    def cli(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        return run_cli("--store", str(self.root), *args, input=input, env=env)

    def card(self) -> bytes:
        with self.open() as store:
            return own_card(store).envelope

    def fingerprint(self) -> str:
        with self.open() as store:
            return own_card(store).fingerprint


@contextmanager
def at(moment: str) -> Iterator[None]:
    """Run with the clock fixed at ``moment`` (CBM_NOW), restoring it afterwards."""
    before = os.environ.get("CBM_NOW")
    os.environ["CBM_NOW"] = moment
    try:
        yield
    finally:
        if before is None:
            del os.environ["CBM_NOW"]
        else:
            os.environ["CBM_NOW"] = before


def run_cli(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    """Invoke ``cbm`` in-process with stdout and stderr kept apart."""
    result = CliRunner().invoke(app, list(args), input=input, env=env, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def make_party(tmp_path: Path) -> Callable[..., Party]:
    """``make_party("US")`` creates a store with unencrypted keys under tmp_path/stores/US."""

    def make(code: str, name: str | None = None, passphrase: str | None = None) -> Party:
        root = tmp_path / "stores" / code
        create_store(root, code, name or f"{code}-CERT", passphrase)
        return Party(code, root)

    return make


def introduce(*parties: Party) -> None:
    """Every party trusts every other one, fingerprints confirmed as over the phone."""
    for a in parties:
        for b in parties:
            if a is not b:
                with a.open() as store:
                    import_card(store, b.card(), b.fingerprint())


@pytest.fixture
def us_ru(make_party: Callable[..., Party]) -> tuple[Party, Party]:
    us, ru = make_party("US"), make_party("RU")
    introduce(us, ru)
    return us, ru


@pytest.fixture
def three(make_party: Callable[..., Party]) -> tuple[Party, Party, Party]:
    us, ru, cn = make_party("US"), make_party("RU"), make_party("CN")
    introduce(us, ru, cn)
    return us, ru, cn


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """A list that gains a 1 at each call of ``owner.name`` made in this process from now on (a forked child's
    calls stay in the child); each call still goes to the real function."""
    calls: list[int] = []
    real = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls
