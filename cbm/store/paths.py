"""Where the store is: ``--store DIR``, else ``$CBM_STORE``, else ``./.cbm`` if present, else the user data dir."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG = "config.toml"
DATABASE = "store.sqlite"
SECRET_KEYS = "keys/secret.json"
BLOBS = "blobs"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "cbm"


def resolve(explicit: str | Path | None, *, for_init: bool = False) -> Path:
    """The store directory to use. ``cbm init`` without a choice creates ``./.cbm``."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("CBM_STORE")
    if env:
        return Path(env).expanduser()
    local = Path.cwd() / ".cbm"
    if for_init or local.exists():
        return local
    return default_data_dir()
