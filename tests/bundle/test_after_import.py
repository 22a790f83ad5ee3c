"""The measures' hook: ``cbm.app.reactions.after_import`` (driven by the registry) runs after the import
transaction has committed, with exactly the peer records that just landed, and whatever it appends travels in
our next bundle."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

import cbm.app.reactions
from cbm.app.stores import open_store
from cbm.measures import registry
from cbm.store.db import Store
from tests.bundle.helpers import export, import_, write


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """A measure module whose on_import records what it saw, and answers each inquiry with a reply."""
    seen: list[dict] = []

    def on_import(store: Store, records):
        # the records are committed: a second connection to the same store sees them
        with open_store(store.root) as other:
            visible = [r.hash for r in records if other.conn.execute(
                "SELECT 1 FROM records WHERE hash = ?", (r.hash,)).fetchone()]
        seen.append({"kinds": [r.kind for r in records], "authors": {r.author for r in records},
                     "visible": len(visible) == len(records)})
        return [store.append("inquiry.reply", {"ref": r.hash, "text": "seen"}, to=(r.author,))
                for r in records if r.kind == "inquiry.open"]

    module = types.ModuleType("probe_reaction")  # a hook sees the records of its own measure: inquiry.*
    module.on_import = on_import  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "probe_reaction", module)
    probed = tuple(m._replace(on_import="probe_reaction:on_import") if m.name == "inquiry" else m
                   for m in registry.MEASURES)
    monkeypatch.setattr(cbm.app.reactions, "MEASURES", probed)
    return seen


def test_hook_sees_landed_peer_records_after_commit(us_ru, tmp_path: Path, probe):
    us, ru = us_ru
    write(us, n=2)
    export(us, "RU", tmp_path / "b.cbm")
    r = import_(ru, tmp_path / "b.cbm")
    assert r.exit_code == 0, r.stderr
    assert r.json()["reactions"] == 2
    assert probe == [{"kinds": ["inquiry.open", "inquiry.open"], "authors": {"US"}, "visible": True}]
    # re-import: nothing landed, the hook is not called
    assert import_(ru, tmp_path / "b.cbm").exit_code == 0
    assert len(probe) == 1
    # the replies travel back with RU's receipt
    doc = export(ru, "US", tmp_path / "back.cbm", "--json").json()
    assert doc["records"] == 3
