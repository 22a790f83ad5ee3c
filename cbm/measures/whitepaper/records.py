"""The white paper records, typed: one frozen dataclass per kind (docs/adr/0050, 0051, 0102).

``from_body`` applies the rules a body must meet on its own (the index adds those that need other records: a
version must extend its document's chain, an official translation must come from the document's author) and
raises InvalidBody with the reason ``cbm status`` lists for a record the index could not fold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cbm.core.bodies import ABSENT, Body, InvalidBody, is_int, present, require
from cbm.core.fields import is_bounded_text, is_language_tag, is_sha256_hex, is_single_line_text

CLASSIFICATION = "UNCLASSIFIED"
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
TEXT_LIMIT = 4000  # characters, for a field without its own limit (a summary, a reason)


def text(values: dict[str, Any], key: str, *, limit: int = TEXT_LIMIT, required: bool = True,
         line: bool = False) -> str:
    """The string field ``key``: non-empty when ``required``, at most ``limit`` characters, and when ``line``
    (a title, an issuer, a file name) without control characters (ADR 0115)."""
    value = values.get(key, ABSENT)
    value = None if value is ABSENT and required else ("" if value is ABSENT else value)
    require(is_bounded_text(value, limit, required=required),
            f"{key} must be a non-empty string of at most {limit} characters" if required
            else f"{key} must be a string of at most {limit} characters")
    require(not line or is_single_line_text(value), f"{key} must be one line without control characters")
    return str(value)


def language(values: dict[str, Any]) -> str:
    lang = values.get("lang")
    require(isinstance(lang, str) and is_language_tag(lang), "lang must be a language tag such as en or ru")
    return str(lang)


@dataclass(frozen=True)
class File:
    """The file a version or translation carries; its bytes travel as the blob named ``sha256``."""

    sha256: str
    size: int
    media_type: str
    filename: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> File:
        """The file of a body (its ``file`` and ``blobs`` fields). Raises InvalidBody."""
        f = values.get("file")
        require(isinstance(f, dict), "file must be an object")
        assert isinstance(f, dict)
        sha, size = f.get("sha256"), f.get("size")
        require(isinstance(sha, str) and is_sha256_hex(sha), "file.sha256 must be a SHA-256 hex digest")
        require(is_int(size, 0), "file.size must be a non-negative integer")
        require(values.get("blobs") == [sha], "blobs must list exactly the file's sha256")
        assert isinstance(size, int)
        return cls(str(sha), size, text(f, "media_type", limit=200, line=True),
                   text(f, "filename", limit=255, line=True))


def _version_fields(values: dict[str, Any], *, withdraw: bool) -> int:
    version = values.get("version")
    require(is_int(version, 1), "version must be a positive integer")
    assert isinstance(version, int)
    if version == 1:
        require(not withdraw and values.get("supersedes") in (None, ABSENT) and not present(values.get("ref")),
                "version 1 must be a publication with no ref and no supersedes")
    else:
        require(isinstance(values.get("ref"), str) and isinstance(values.get("supersedes"), str),
                "a later version needs ref (the document) and supersedes (the previous version)")
    return version


@dataclass(frozen=True)
class VersionHead(Body):
    """What every version record (publish or withdraw) says about its place in the chain: checked before the
    index looks the chain up, so a record that breaks both is refused for its place, as before."""

    KIND = "whitepaper.version"

    version: Any
    ref: Any = ABSENT
    supersedes: Any = ABSENT

    @classmethod
    def of(cls, kind: str, body: Any) -> VersionHead:
        known, _ = cls.split(body)
        _version_fields(known, withdraw=kind == Withdraw.KIND)
        return cls(**known)


@dataclass(frozen=True)
class Publish(Body):
    """``whitepaper.publish``: a version of a document with its file (v1's record hash is the document id)."""

    KIND = "whitepaper.publish"

    version: int
    title: str
    issuer: str
    lang: str
    classification: str
    date: str
    file: dict[str, Any]
    blobs: list[str]
    summary: str = ABSENT
    ref: str = ABSENT
    supersedes: str | None = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _version_fields(values, withdraw=False)
        text(values, "title", limit=500, line=True)
        text(values, "issuer", limit=500, line=True)
        language(values)
        classification = values.get("classification")
        require(classification == CLASSIFICATION, f"classification {classification!r} is not UNCLASSIFIED")
        date = values.get("date")
        require(isinstance(date, str) and DATE.match(date) is not None, "date must be YYYY-MM-DD")
        text(values, "summary", required=False)
        File.check(values)

    @property
    def file_info(self) -> File:
        """The file, as checked by :meth:`check`."""
        return File(self.file["sha256"], self.file["size"], self.file["media_type"], self.file["filename"])


@dataclass(frozen=True)
class Withdraw(Body):
    """``whitepaper.withdraw``: a version without a file saying the document is withdrawn."""

    KIND = "whitepaper.withdraw"

    version: int
    ref: str
    supersedes: str
    reason: str

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        _version_fields(values, withdraw=True)
        text(values, "reason")


@dataclass(frozen=True)
class Translate(Body):
    """``whitepaper.translate``: a translation of one version (``of``) into ``lang``, official or not."""

    KIND = "whitepaper.translate"

    ref: str
    of: str
    lang: str
    official: bool
    title: str
    classification: str
    file: dict[str, Any]
    blobs: list[str]
    version: int = ABSENT

    @property
    def file_info(self) -> File:
        """The file, as checked by :meth:`check_file`."""
        return File(self.file["sha256"], self.file["size"], self.file["media_type"], self.file["filename"])

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        require(isinstance(values.get("ref"), str) and isinstance(values.get("of"), str),
                "a translation needs ref (the document) and of (the version translated)")

    @classmethod
    def check_content(cls, values: dict[str, Any]) -> None:
        """The rules checked once the version translated is known to exist (the index's order)."""
        require(isinstance(values.get("official"), bool), "official must be true or false")

    @classmethod
    def check_file(cls, values: dict[str, Any]) -> None:
        require(values.get("classification") == CLASSIFICATION, "a translation must be marked UNCLASSIFIED")
        text(values, "title", limit=500, line=True)
        language(values)
        File.check(values)

    @classmethod
    def from_body(cls, body: Any) -> Translate:
        known, unrecognized = cls.split(body)
        cls.check(known)
        cls.check_content(known)
        cls.check_file(known)
        return cls(**known, unrecognized=unrecognized)


@dataclass(frozen=True)
class Ack(Body):
    """``whitepaper.ack``: a party acknowledging it received and hash-checked a version or translation."""

    KIND = "whitepaper.ack"

    ref: str
    of: str
    sha256: str | None = ABSENT
    version: int | None = ABSENT

    @classmethod
    def check(cls, values: dict[str, Any]) -> None:
        sha = values.get("sha256")
        require(isinstance(values.get("ref"), str) and isinstance(values.get("of"), str)
                and (sha in (None, ABSENT) or isinstance(sha, str)),
                "an acknowledgement needs ref (the document) and of (the record acknowledged)")

    @property
    def version_number(self) -> int | None:
        return self.version if is_int(self.version) else None


RECORDS: dict[str, type[Body]] = {cls.KIND: cls for cls in (Publish, Withdraw, Translate, Ack)}

__all__ = ["CLASSIFICATION", "RECORDS", "Ack", "File", "InvalidBody", "Publish", "Translate", "VersionHead",
           "Withdraw"]
