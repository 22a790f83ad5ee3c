"""What every fuzz target shares: the fixed-key world, the crash rule, and the atheris entry point.

A *crash* is any exception other than :class:`cbm.core.errors.CbmError` (the documented refusals, each with its
exit code): that is exactly what a user would see as a Python traceback. A *hang* is an input that runs past
libFuzzer's ``-timeout``. Each target module defines ``check(data: bytes) -> None`` that raises only on a crash,
so the same function serves the fuzzer, the replay of crashers in ``tests/security`` and ``make fuzz-replay``.

The keys are derived from fixed seeds (``KeyPair.from_seed``): fuzz keys only, public by design, so a committed
seed bundle signed by "US" verifies against the same keyring in every fuzz process and on every machine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cbm is imported inside instrumented() by each target, never at the top of the harness
    from cbm.bundle.keyring import Keyring
    from cbm.core.cards import PartyCard
    from cbm.core.keys import KeyPair
    from cbm.store.db import Store

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"
CREATED = "2026-01-01T00:00:00Z"


def fuzzing() -> bool:
    """True when a target runs under atheris (``python -m fuzz.fuzz_X``), False for replays and for pytest."""
    return Path(sys.argv[0]).name.startswith("fuzz_") and sys.argv[1:2] != ["--replay"]


@contextmanager
def instrumented() -> Iterator[None]:
    """Import cbm under atheris' coverage instrumentation when fuzzing; a plain import otherwise.

    Everything the target reaches must be imported inside this block (cbm defers some imports to the call that
    needs them): a module first imported later is not instrumented, and the fuzzer would be blind inside it.
    """
    if not fuzzing():
        yield
        return
    import atheris

    with atheris.instrument_imports(include=["cbm"]):
        yield


@cache
def pair(party: str) -> KeyPair:
    """The fixed fuzz key pair of ``party`` (never a real party's key)."""
    from cbm.core.keys import KeyPair

    return KeyPair.from_seed(f"cbm-fuzz {party}".encode(), CREATED)


@cache
def card(party: str) -> PartyCard:
    """The self-signed party card of ``party``'s fixed fuzz key."""
    from cbm.core.cards import make_card

    return make_card(party, f"{party}-CERT", pair(party))


@cache
def keyring() -> Keyring:
    """RU's trust: its own card and US's, as ``cbm bundle verify --keyring`` would load them."""
    from cbm.bundle.keyring import Keyring

    return Keyring([card("US"), card("RU")])


def refused_or_fine(action: Callable[[], object]) -> None:
    """Run ``action``; a CbmError is a documented refusal (fine), anything else propagates as a crash."""
    from cbm.core.errors import CbmError

    try:
        action()
    except CbmError:
        pass


def main(check: Callable[[bytes], None]) -> None:
    """The fuzzer's entry point: ``python fuzz/fuzz_X.py [libFuzzer options] CORPUS_DIR...``.

    ``--replay FILE...`` runs ``check`` over files without atheris (what CI does with the committed crashers).
    """
    if len(sys.argv) > 1 and sys.argv[1] == "--replay":
        failed = 0
        for name in sys.argv[2:]:
            for path in sorted(Path(name).rglob("*")) if Path(name).is_dir() else [Path(name)]:
                if path.is_file():
                    try:
                        check(path.read_bytes())
                    except Exception as e:  # noqa: BLE001 - report every crash, not only the first
                        failed += 1
                        print(f"CRASH {path}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1 if failed else 0)
    import atheris

    os.environ.setdefault("CBM_NOW", CREATED)
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


def make_store(root: Path, party: str) -> Path:
    """A real store at ``root`` for ``party`` with its fixed fuzz key (unencrypted), trusting the other of US and
    RU by confirmed fingerprint. Used by the targets and by the regression tests of what they found."""
    from cbm.app.stores import open_store
    from cbm.store.trust import _populate, import_card

    _populate(root, party, f"{party}-CERT", None, card(party), pair(party), CREATED)
    with open_store(root) as store:
        for other in ("US", "RU"):
            if other != party:
                import_card(store, card(other).envelope, card(other).fingerprint)
    return root


class Scratch:
    """A real store of ``party`` (its fixed fuzz key, trusting the other fixed cards), on a RAM disk when there
    is one. Targets that land what they parse use it; it is made afresh every ``renew`` uses, so a long run does
    not slow down as the store fills."""

    def __init__(self, party: str = "RU", renew: int = 2000) -> None:
        self.party = party
        self.renew = renew
        self._uses = 0
        self._store: Store | None = None
        self._dir: str | None = None

    def store(self) -> Store:
        self._uses += 1
        if self._store is None or self._uses > self.renew:
            self.close()
            self._store = self._make()
            self._uses = 1
        return self._store

    def temp_dir(self) -> str:
        """This process's scratch directory (on /dev/shm where writable), made on first use."""
        if self._dir is None:
            import tempfile

            base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
            self._dir = tempfile.mkdtemp(prefix="cbm-fuzz-", dir=base)
        return self._dir

    def _make(self) -> Store:
        import shutil

        from cbm.app.stores import open_store

        root = Path(self.temp_dir()) / "store"
        shutil.rmtree(root, ignore_errors=True)
        make_store(root, self.party)
        return open_store(root)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
