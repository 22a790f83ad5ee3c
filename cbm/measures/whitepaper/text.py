"""Searchable text of a white paper file: bounded, streamed, and PDF parsing kept out of the cbm process.

- Text formats (``text/*``, JSON, XML): the first :data:`MAX_TEXT_BYTES` bytes, decoded as UTF-8 (bad bytes
  replaced). Never more than that is read.
- PDF: text extracted page by page with ``pypdf`` in a child process (``python -m
  cbm.measures.whitepaper.text FILE LIMIT``) under a CPU-time and address-space limit and a wall-clock timeout,
  so a hostile or pathological PDF from a peer can neither hang an import nor exhaust memory; extraction
  stops once :data:`MAX_TEXT_CHARS` characters are collected.
- Anything else (office documents, images, archives): no text; the paper is still found by title, issuer and
  summary.

Run as a program, this module is that child: it prints the extracted text of one PDF to stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MAX_TEXT_BYTES = 4 * 1024 * 1024
MAX_TEXT_CHARS = 4 * 1024 * 1024
PDF_TIMEOUT_S = 60
PDF_CPU_S = 60
PDF_MEMORY_BYTES = 1536 * 1024 * 1024

TEXT_TYPES = ("application/json", "application/xml", "application/x-yaml", "application/yaml")


@dataclass(frozen=True)
class Extracted:
    status: str  # indexed | none | failed
    text: str
    note: str | None = None


def is_text_type(media_type: str | None) -> bool:
    return bool(media_type) and (str(media_type).startswith("text/") or media_type in TEXT_TYPES)


def extract(path: Path, media_type: str | None) -> Extracted:
    """The searchable text of the file at ``path`` (never raises for bad content; ``failed`` says why)."""
    if is_text_type(media_type):
        try:
            with open(path, "rb") as source:
                raw = source.read(MAX_TEXT_BYTES)
        except OSError as e:
            return Extracted("failed", "", f"cannot read the file: {e.strerror}")
        text = raw.decode("utf-8", errors="replace")
        return Extracted("indexed", text, "first 4 MiB only" if len(raw) == MAX_TEXT_BYTES else None)
    if media_type == "application/pdf":
        return _extract_pdf(path)
    return Extracted("none", "", f"no text extraction for {media_type}")


def _limits() -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (PDF_CPU_S, PDF_CPU_S))
    resource.setrlimit(resource.RLIMIT_AS, (PDF_MEMORY_BYTES, PDF_MEMORY_BYTES))


def _extract_pdf(path: Path) -> Extracted:
    try:
        import pypdf  # noqa: F401  (only to know whether the extractor is installed)
    except ImportError:
        return Extracted("none", "", "pypdf is not installed: PDF text is not searchable")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cbm.measures.whitepaper.text", str(path), str(MAX_TEXT_CHARS)],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=PDF_TIMEOUT_S,
            preexec_fn=_limits if os.name == "posix" else None,  # noqa: PLW1509
        )
    except subprocess.TimeoutExpired:
        return Extracted("failed", "", f"PDF text extraction took longer than {PDF_TIMEOUT_S} s")
    except OSError as e:
        return Extracted("failed", "", f"cannot run the PDF text extractor: {e.strerror}")
    if done.returncode != 0:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["killed"]
        return Extracted("failed", "", f"PDF text extraction failed: {last[0][:200]}")
    text = done.stdout.decode("utf-8", "replace")[:MAX_TEXT_CHARS]
    return Extracted("indexed" if text.strip() else "none", text, None if text.strip() else "PDF has no text")


def _main(argv: list[str]) -> int:
    """Child process: print the text of the PDF ``argv[0]``, at most ``argv[1]`` characters."""
    import logging

    from pypdf import PdfReader

    logging.disable(logging.WARNING)  # pypdf warns on stderr about every quirk of real-world PDFs
    limit = int(argv[1])
    written = 0
    out = sys.stdout.buffer  # UTF-8 whatever the locale
    with open(argv[0], "rb") as source:  # a file object: pypdf then seeks instead of reading it all
        reader = PdfReader(source, strict=False)
        for page in reader.pages:
            text = page.extract_text() or ""
            text = text[: limit - written]
            out.write((text + "\n").encode("utf-8", "replace"))
            written += len(text) + 1
            if written >= limit:
                break
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
