"""The MISP warninglists cbm checks indicators against (docs/adr/0190-landing-checks.md).

The lists ship with the ``pymispwarninglists`` package (its ``data/misp-warninglists/lists/<name>/list.json``);
no network at run time. An air-gapped site carries a newer copy across the gap and installs it into the store
with ``cbm indicators warninglists --update DIR`` (the same layout); from then on the store's copy
(``<store>/warninglists/lists``) is used instead of the package's.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbm.core.errors import MalformedInput, NotFound

STORE_DIR = "warninglists"

# The lists that matter for a firewall or an IDS sensor: top sites, public resolvers, big clouds and CDNs,
# sinkholes, the hashes of empty files, public suffixes. The whole Tranco 1M would flag real malicious domains.
DEFAULT_LISTS = ("tranco10k", "cisco_top1000", "public-dns-v4", "public-dns-v6", "public-dns-hostname",
                 "amazon-aws", "google-gcp", "microsoft-azure", "cloudflare", "akamai", "fastly", "sinkholes",
                 "empty-hashes", "second-level-tlds", "whats-my-ip")


@dataclass(frozen=True)
class WarningList:
    """One list as read from its ``list.json``: ``kind`` is MISP's matching type (cidr, hostname, string...)."""

    name: str
    kind: str
    version: str
    entries: tuple[str, ...]


def package_dir() -> Path | None:
    """The ``lists`` directory shipped with pymispwarninglists, or None if it is not installed."""
    import importlib.util

    # found, not imported: importing it loads jsonschema, seconds on a slow machine
    spec = importlib.util.find_spec("pymispwarninglists")
    if spec is None or not spec.submodule_search_locations:
        return None
    lists = Path(list(spec.submodule_search_locations)[0]) / "data" / "misp-warninglists" / "lists"
    return lists if lists.is_dir() else None


def lists_dir(root: Path) -> tuple[Path | None, str]:
    """The lists directory in use for the store at ``root`` and where it comes from (``store`` or ``package``)."""
    local = root / STORE_DIR / "lists"
    if local.is_dir():
        return local, "store"
    return package_dir(), "package"


def _read(path: Path) -> WarningList:
    try:
        data: Any = json.loads(path.read_text("utf-8"))
        entries = data["list"]
        if not isinstance(entries, list):
            raise TypeError("list is not a list")
        return WarningList(path.parent.name, str(data.get("type", "string")),
                           str(data.get("version", "")), tuple(str(e) for e in entries if isinstance(e, str)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MalformedInput(f"warninglist {path} is unreadable: {e}") from e


def load(directory: Path | None, names: tuple[str, ...]) -> dict[str, WarningList]:
    """The lists ``names`` found in ``directory`` (missing ones are left out), by directory name."""
    if directory is None:
        return {}
    found = {}
    for name in names:
        path = directory / name / "list.json"
        if path.is_file():
            found[name] = _read(path)
    return found


def update(root: Path, source: Path, names: tuple[str, ...]) -> dict[str, WarningList]:
    """Install the lists ``names`` from ``source`` (a carried copy of misp-warninglists: ``DIR/lists/<name>/
    list.json`` or ``DIR/<name>/list.json``) into the store at ``root``. A list ``source`` does not hold keeps
    the copy in use (the store's, else the package's). Returns the lists ``source`` provided.

    Every list is read and checked before anything is replaced; the new set replaces the old by renames.
    Raises NotFound (no such directory or none of the lists in it), MalformedInput (a list that does not parse).
    """
    if not os.path.isdir(source):  # False, not an OSError, for a name the system refuses (too long)
        raise NotFound(f"no warninglists directory {source}")
    base = source / "lists" if os.path.isdir(source / "lists") else source
    found = load(base, names)
    if not found:
        raise NotFound(f"{source} holds none of the warninglists cbm uses",
                       hint="expected DIR/lists/<name>/list.json, as in the misp-warninglists repository")
    target = root / STORE_DIR
    staging = root / (STORE_DIR + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    current, _origin = lists_dir(root)
    for name in names:
        origin = base if name in found else current
        if origin is None or not (origin / name / "list.json").is_file():
            continue
        (staging / "lists" / name).mkdir(parents=True)
        shutil.copyfile(origin / name / "list.json", staging / "lists" / name / "list.json")
    old = root / (STORE_DIR + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return found
