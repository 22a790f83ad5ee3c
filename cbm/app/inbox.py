"""A morning's inbox: several bundle files imported in one process, each in its own transaction.

Each bundle lands whole or not at all (:func:`cbm.app.imports.import_bundle`); a bad one is reported and the
rest still land. The outcome's exit code is the highest of the failures' documented codes (0 when every bundle
was imported). A store error (missing, locked, corrupt) or a usage error (our key's passphrase missing or wrong)
stops the run: the files after it are reported as not attempted, with the same error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from cbm.core.errors import CbmError, NotFound, StoreError, UsageError

if TYPE_CHECKING:
    from cbm.bundle.importer import ImportResult
    from cbm.store.db import Store

SUFFIX = ".cbm"


@dataclass
class InboxError:
    code: int  # the documented exit code of this failure
    kind: str  # the error class, e.g. BadSignature
    message: str  # one line, as `cbm: error:` would print it (peer text escaped)


@dataclass
class InboxEntry:
    file: str
    result: ImportResult | None = None
    error: InboxError | None = None


@dataclass
class InboxResult:
    files: list[InboxEntry] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)  # directories named that hold no *.cbm file

    @property
    def imported(self) -> int:
        return sum(1 for e in self.files if e.result is not None)

    @property
    def failed(self) -> int:
        return sum(1 for e in self.files if e.error is not None)

    @property
    def exit_code(self) -> int:
        """The highest documented exit code among the failures; 0 when every bundle was imported."""
        return max((e.error.code for e in self.files if e.error is not None), default=0)


def bundle_files(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    """The bundle files ``paths`` name, in a stable order: each file as given; each directory as its ``*.cbm``
    files sorted by name (not recursive). A name given twice is imported once. Returns the files and the
    directories that hold none. A path that does not exist is kept: importing it reports NotFound."""
    files: list[Path] = []
    empty: list[str] = []
    for name in paths:
        path = Path(name)
        if os.path.isdir(path):  # False, not an OSError, for a name the system refuses (too long): NotFound later
            found = sorted(p for p in path.iterdir() if p.name.endswith(SUFFIX) and p.is_file())
            if not found:
                empty.append(name)
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(files)), empty


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by the caller
    except IsADirectoryError as e:
        raise NotFound(f"cannot read {path}: it is a directory") from e
    except OSError as e:
        raise NotFound(f"cannot read {path}: {e.strerror}") from e


def _failure(error: CbmError) -> InboxError:
    lines = error.diagnostics().splitlines()
    return InboxError(error.exit_code, type(error).__name__, lines[0] if lines else type(error).__name__)


def import_files(store: Store, paths: Sequence[str], *,
                 reading: Callable[[Path, BinaryIO], AbstractContextManager[BinaryIO]] | None = None,
                 ) -> InboxResult:
    """Import every bundle ``paths`` name (files, and directories' ``*.cbm`` files, see :func:`bundle_files`),
    one transaction each, in that order. A bundle refused for any reason is reported in its entry (its
    documented exit code and one line) and changes nothing; the others land. A store or usage error stops the
    run (the rest are reported as not attempted). ``reading(path, source)`` may wrap each open file (a progress bar).
    Never raises for a bad bundle; raises only what opening ``store`` itself raised before."""
    from cbm.app.imports import import_bundle

    files, empty = bundle_files(paths)
    outcome = InboxResult(empty=empty)
    stopped: InboxError | None = None
    for path in files:
        entry = InboxEntry(str(path))
        outcome.files.append(entry)
        if stopped is not None:
            entry.error = InboxError(stopped.code, stopped.kind, f"not attempted: {stopped.message}")
            continue
        try:
            with _open(path) as source:
                if reading is None:
                    entry.result = import_bundle(store, source, source_name=str(path))
                else:
                    with reading(path, source) as wrapped:
                        entry.result = import_bundle(store, wrapped, source_name=str(path))
        except CbmError as e:
            entry.error = _failure(e)
            if isinstance(e, StoreError | UsageError):  # not the bundle's fault: the next would fail alike
                stopped = entry.error
    return outcome
