"""Durable file replacement for the store's own files (key file, blobs)."""

from __future__ import annotations

import os
from pathlib import Path


def replace_durably(tmp: str | Path, final: Path) -> None:
    """Atomically move the already-fsync'd ``tmp`` to ``final`` and fsync the directory, so the new name
    survives a power loss: the file is either the old one or the complete new one."""
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
