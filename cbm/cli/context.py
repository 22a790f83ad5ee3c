"""Process-wide CLI state (global options) and helpers to open the store with the right passphrase."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cbm.core.errors import UsageError
from cbm.store import paths

if TYPE_CHECKING:
    from cbm.store.db import Store


class State:
    """The global options of the command being run (set by the root callback in ``cbm.cli.main``). A plain class,
    not a dataclass: every command, ``--help`` included, imports it, and a dataclass costs about a millisecond of
    start-up to make (issue 20)."""

    __slots__ = ("store", "json", "quiet", "verbose", "wide", "passphrase_file", "said_on_success")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the defaults: no store chosen, human output, status lines on, no tracebacks."""
        self.store: str | None = None
        self.json = False
        self.quiet = False
        self.verbose = False
        self.wide = False
        self.passphrase_file: str | None = None
        #: status lines held back until the command has succeeded (:func:`cbm.cli.output.note_on_success`)
        self.said_on_success: list[str] = []


state = State()


def interactive() -> bool:
    from cbm.core.stdio import stdin_is_terminal  # sys.stdin is None when cbm runs with it closed

    return stdin_is_terminal() and sys.stderr is not None and sys.stderr.isatty()


def passphrase_from_env_or_file() -> str | None:
    """The passphrase from ``--passphrase-file`` or ``$CBM_PASSPHRASE``, or None."""
    if state.passphrase_file:
        try:
            return Path(state.passphrase_file).read_text("utf-8").rstrip("\r\n")
        except OSError as e:
            raise UsageError(f"cannot read the passphrase file {state.passphrase_file}: {e.strerror}") from e
    return os.environ.get("CBM_PASSPHRASE")


def unlock_passphrase() -> str:
    """The passphrase to unlock existing keys: file, environment, or a prompt on a terminal."""
    given = passphrase_from_env_or_file()
    if given is not None:
        return given
    if interactive():
        import getpass  # only at a prompt

        return getpass.getpass("Passphrase for the cbm private keys: ", stream=sys.stderr)
    raise UsageError("the private keys are passphrase-protected and no passphrase was given",
                     hint="set CBM_PASSPHRASE, pass --passphrase-file FILE, or run on a terminal")


def new_passphrase() -> str:
    """A passphrase for new keys: file, environment, or asked twice on a terminal."""
    given = passphrase_from_env_or_file()
    if given is not None:
        return given
    if interactive():
        import getpass  # only at a prompt

        first = getpass.getpass("New passphrase for the private keys: ", stream=sys.stderr)
        if first != getpass.getpass("Repeat it: ", stream=sys.stderr):
            raise UsageError("the two passphrases differ")
        return first
    raise UsageError("no passphrase for the new keys",
                     hint="set CBM_PASSPHRASE or --passphrase-file, or --no-passphrase for automation")


def store_path(for_init: bool = False) -> Path:
    return paths.resolve(state.store, for_init=for_init)


def open_store() -> Store:
    """Open the store chosen by the global options; passphrase asked only if a key is needed."""
    from cbm.app.stores import open_store as open_with_measures
    from cbm.cli.progress import refolding

    store = open_with_measures(store_path(), unlock_passphrase, on_refold=refolding)
    _watch_own_log(store)
    return store


def _watch_own_log(store: Store) -> None:
    """When the command closes the store having written records of ours while a peer's receipt holds more of our
    log than the store does (a store restored from an older copy), say so: those numbers may be the peer's
    already (docs/adr/0304). Writing is not refused; one look-up at the open, more only after a write."""
    before = store.head(store.party)

    def after() -> None:
        try:
            now = store.head(store.party)
            if now is None or now == before:
                return
            from cbm.bundle.receipts import own_log_unmatched, own_log_warnings

            first = (before[0] if before else 0) + 1
            wrote = f"record #{first}: a number" if first == now[0] else f"records #{first}-#{now[0]}: numbers"
            lines = own_log_warnings(own_log_unmatched(store),
                                     f"this command wrote our {wrote} of our log that {{holders}} may already hold")
        except Exception:  # closing after a failure (a damaged database): the failure speaks, not this warning
            return
        from cbm.cli.output import warn

        for line in lines:
            warn(line)

    store.on_close.append(after)
