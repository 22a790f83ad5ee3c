"""Getting a paper's file out of the store: which file a version or translation names, streamed from the
content-addressed blobs and checked against its signed SHA-256 on the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cbm.core.errors import (
    NotFound,
    TamperedContent,
)
from cbm.core.files import written_atomically
from cbm.measures.whitepaper import index as ix
from cbm.measures.whitepaper.service import (
    check_lang,
    latest_version,
    resolve_doc,
    version_of,
)
from cbm.store.db import Store


@dataclass(frozen=True)
class FileChoice:
    """The file ``get`` hands out: a version of the paper or one of its translations."""

    doc: str
    record: str
    version: int
    lang: str
    sha256: str
    size: int
    media_type: str
    filename: str
    translation: bool
    withdrawn: bool


def choose_file(store: Store, ref: str, *, version: int | None = None, lang: str | None = None) -> FileChoice:
    """Which file ``cbm whitepaper get`` returns: a version (default newest with a file) or a translation."""
    doc = resolve_doc(store, ref)
    withdrawn = latest_version(store, doc).action == "withdraw"
    if lang is not None:
        language = check_lang(lang)
        candidates = [t for t in store.query(ix.translations, doc)
                      if t.lang == language and (version is None or t.of_version == version)]
        original = version_of(store, doc, version)
        if not candidates and original.lang == language and original.sha256:
            return _version_choice(original, withdrawn)
        if not candidates:
            raise NotFound(f"paper {doc[:12]} has no {language} translation"
                           + (f" of version {version}" if version is not None else ""))
        best = max(candidates, key=lambda t: (t.of_version, t.official, t.created))
        return FileChoice(doc, best.hash, best.of_version, best.lang, best.sha256, best.size, best.media_type,
                          best.filename, True, withdrawn)
    chosen = version_of(store, doc, version)
    if not chosen.sha256:
        raise NotFound(f"version {chosen.version} of paper {doc[:12]} is its withdrawal and has no file",
                       hint=f"ask for an earlier version: --version {chosen.version - 1}")
    return _version_choice(chosen, withdrawn)


def _version_choice(v: ix.VersionRow, withdrawn: bool) -> FileChoice:
    assert v.sha256 and v.size is not None and v.media_type and v.filename
    return FileChoice(v.doc, v.hash, v.version, v.lang, v.sha256, v.size, v.media_type, v.filename, False,
                      withdrawn)


def read_file(store: Store, choice: FileChoice) -> Iterator[bytes]:
    """Stream the chosen file's bytes; the hash is re-checked at the end (TamperedContent, exit 1)."""
    if not store.blobs.has(choice.sha256):
        raise NotFound(f"the file of paper {choice.doc[:12]} ({choice.sha256[:12]}) is not in this store",
                       hint="it travels with the bundle that carries the paper; ask the sender to resend")
    size = 0
    for chunk in store.blobs.read(choice.sha256):
        size += len(chunk)
        yield chunk
    if size != choice.size:
        raise TamperedContent(f"stored file {choice.sha256[:12]} has {size} bytes, the record says {choice.size}")


def save_file(store: Store, choice: FileChoice, dest: Path) -> None:
    """Write the chosen file to ``dest`` atomically: a file that fails its hash check never appears there."""
    with written_atomically(dest) as out:
        for chunk in read_file(store, choice):
            out.write(chunk)


def write_file(store: Store, choice: FileChoice, sink: BinaryIO) -> None:
    """Stream the chosen file to ``sink`` (stdout). A failed hash check is raised after the last chunk."""
    for chunk in read_file(store, choice):
        sink.write(chunk)
    sink.flush()
