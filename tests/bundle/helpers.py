"""Helpers for bundle tests: write records through the library, exchange real files through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cbm.core.records import Record
from tests.conftest import Party, Result


def write(party: Party, kind: str = "inquiry.open", body: dict[str, Any] | None = None, *,
          to: tuple[str, ...] = ("*",), tlp: str = "GREEN", n: int = 1) -> list[Record]:
    """Append ``n`` records by ``party`` (signed with its real key)."""
    with party.open() as store:
        return [store.append(kind, body or {"ref": f"case-{i}", "text": f"message {i}"}, to=to, tlp=tlp)
                for i in range(n)]


def export(party: Party, to: str, path: Path, *extra: str) -> Result:
    r = party.cli("bundle", "export", "--to", to, "-o", str(path), *extra)
    assert r.exit_code == 0, r.stderr
    return r


def import_(party: Party, path: Path, *extra: str) -> Result:
    return party.cli("bundle", "import", str(path), "--json", *extra)


def hashes(party: Party, author: str) -> list[str]:
    with party.open() as store:
        return [r.hash for r in store.log(author)]


def relay(party: Party, *peers: str) -> None:
    """Make ``party`` a hub: third parties' records go at once to ``peers`` (default every peer), as an
    operator would write it in config.toml (docs/adr/0173-late-forwarding.md)."""
    import tomllib

    import tomli_w

    path = party.root / "config.toml"
    config = tomllib.loads(path.read_text("utf-8"))
    config["forwarding"] = {"relay": list(peers or ("*",))}
    path.write_text(tomli_w.dumps(config), "utf-8")
