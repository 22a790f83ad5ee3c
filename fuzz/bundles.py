"""The shared body of the bundle targets: a bundle checked as ``cbm bundle verify --deep`` does (RU's keyring,
RU's key to decrypt) and imported into RU's real store as ``cbm bundle import`` does."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from fuzz.harness import Scratch, instrumented, keyring, pair, refused_or_fine

with instrumented():
    from cbm.app.imports import import_bundle  # bundle import, then every measure's reaction
    from cbm.bundle.verify import verify_bundle
    from cbm.measures.registry import MEASURES

    for _measure in MEASURES:  # every measure reacts to what lands: instrument them too
        _measure.load_index()
        _measure.load_on_import()
        _measure.load_attention()

_scratch = Scratch("RU", renew=1000)


class _Unseekable(io.RawIOBase):
    """A pipe's view of the bytes (``cbm bundle import -`` reads stdin): the reader must spool, not seek."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        chunk = self._data.read(len(target))
        target[: len(chunk)] = chunk
        return len(chunk)


def source(data: bytes, *, pipe: bool) -> BinaryIO:
    return io.BufferedReader(_Unseekable(data)) if pipe else io.BytesIO(data)


def verify_and_import(bundle: bytes) -> None:
    """Check ``bundle`` both ways cbm reads one; raise only on a crash (not on a refusal)."""
    pipe = len(bundle) % 2 == 1  # half the inputs through the pipe path, deterministically per input
    refused_or_fine(lambda: verify_bundle(source(bundle, pipe=pipe), keyring(), deep=True, party="RU",
                                          decrypt_with=lambda: [pair("RU")]))
    refused_or_fine(lambda: import_bundle(_scratch.store(), source(bundle, pipe=not pipe), source_name="fuzz"))
