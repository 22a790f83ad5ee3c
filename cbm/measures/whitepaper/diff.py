"""What changed between two versions of a paper: the signed fields, and the text (for text files)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from cbm.core.errors import (
    UsageError,
)
from cbm.measures.whitepaper import index as ix
from cbm.measures.whitepaper.service import (
    DIFF_MAX_BYTES,
    resolve_doc,
    version_of,
)
from cbm.measures.whitepaper.text import is_text_type
from cbm.store.db import Store


@dataclass
class PaperDiff:
    doc: str
    from_version: int
    to_version: int
    metadata: dict[str, list[Any]]  # field -> [old, new], only fields that differ
    text_diff: str | None
    note: str | None


_DIFF_FIELDS = ("action", "title", "issuer", "lang", "classification", "date", "summary", "filename",
                "media_type", "size", "sha256", "reason", "tlp")


def diff(store: Store, ref: str, from_version: int | None = None, to_version: int | None = None) -> PaperDiff:
    """Compare two versions: changed metadata, and a unified diff of the text when both are text files."""
    doc = resolve_doc(store, ref)
    rows = store.query(ix.versions, doc)
    new = version_of(store, doc, to_version) if to_version is not None else rows[-1]
    if from_version is None:
        earlier = [v for v in rows if v.version < new.version]
        if not earlier:
            raise UsageError(f"paper {doc[:12]} has only version {new.version}; nothing to compare")
        old = earlier[-1]
    else:
        old = version_of(store, doc, from_version)
    changed = {name: [getattr(old, name), getattr(new, name)] for name in _DIFF_FIELDS
               if getattr(old, name) != getattr(new, name)}
    text, note = None, None
    if old.sha256 is None or new.sha256 is None:
        note = "a withdrawal has no file: metadata only"
    elif old.sha256 == new.sha256:
        note = "identical files"
    elif not (is_text_type(old.media_type) and is_text_type(new.media_type)):
        note = "not text files: metadata only"
    elif max(old.size or 0, new.size or 0) > DIFF_MAX_BYTES:
        note = f"files larger than {DIFF_MAX_BYTES // (1024 * 1024)} MiB: metadata only"
    elif not (store.blobs.has(old.sha256) and store.blobs.has(new.sha256)):
        note = "a file is missing from this store: metadata only"
    else:
        a, b = _lines(store, old.sha256), _lines(store, new.sha256)
        text = "".join(difflib.unified_diff(a, b, f"v{old.version}/{old.filename}",
                                            f"v{new.version}/{new.filename}"))
    return PaperDiff(doc, old.version, new.version, changed, text, note)


def _lines(store: Store, sha256: str) -> list[str]:
    data = b"".join(store.blobs.read(sha256))  # bounded by DIFF_MAX_BYTES above
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)
