"""The fast exporter (issue 20) writes exactly what the exporter before it wrote, byte for byte, in every format
and under every filter, on a store that holds what a real one does: every public OASIS STIX 2.1 example (related
objects carried in batches, kill chains, patterns, extra properties), cbm's sample feeds (sectors, TLPs), a
peer's indicators and sightings through a real bundle, new versions, a revocation, a sighting, and indicators
the landing checks flag. The reference is the old exporter, kept verbatim in ``tests/measures/export_reference.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest
import stix2

from cbm.app.stores import open_store
from cbm.measures.indicators import queries, query
from cbm.measures.indicators import service as svc
from cbm.measures.indicators.position_runs import position_runs
from cbm.store.trust import create_store, import_card, own_card
from tests.conftest import DATA, Party, at
from tests.measures.export_reference import reference_export

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
STIX_FILES = sorted((DATA / "stix21").glob("*/*.json"))
NOW = "2026-11-23T06:00:00Z"


def _ok(party: Party, *args: str) -> dict:
    r = party.cli(*args)
    assert r.exit_code == 0, (args, r.stderr)
    return r.json() if "--json" in args else {}


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Party]:
    """US's store: its own feeds and every OASIS example, RU's indicators and sighting by bundle, versions,
    a revocation, sightings, flagged indicators. Built once: every case below only reads it."""
    root = tmp_path_factory.mktemp("varied")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(root / "home"))
        from cbm.measures.indicators import checks

        mp.setattr(checks, "DEFAULT_IGNORE", ("rule:documentation",))
        us, ru = Party("US", root / "US"), Party("RU", root / "RU")
        for p in (us, ru):
            create_store(p.root, p.code, f"{p.code}-CERT", None)
        for a, b in ((us, ru), (ru, us)):
            with open_store(a.root) as store:
                import_card(store, own_card_of(b), fingerprint_of(b))
        with at("2026-11-20T08:00:00Z"):
            for path in [*STIX_FILES, SAMPLES / "feed.csv", SAMPLES / "feed-defanged.txt",
                         SAMPLES / "bundle.stix.json"]:
                _ok(us, "indicators", "import", str(path))
            _ok(us, "indicators", "add", "--value", "8.8.8.8", "--tlp", "CLEAR")  # a public resolver: flagged
            _ok(us, "indicators", "add", "--value", "10.1.2.0/24", "--tlp", "GREEN", "--sector", "energy")
            _ok(us, "indicators", "add", "--value", "http://xn--nicode-bua.example/a?q='x'&b=\\\\", "--description",
                "quotes \" and \\ and é and \U0001f600", "--name", "<b>[red]x[/red]</b>")
            _ok(us, "indicators", "add", "--value", "strict.example", "--tlp", "AMBER+STRICT", "--to", "RU")
            _ok(ru, "indicators", "add", "--value", "203.0.113.99", "--tlp", "AMBER", "--confidence", "40",
                "--kill-chain", "lockheed-martin-cyber-kill-chain:command-and-control", "--sector", "finance")
            _ok(ru, "indicators", "add", "--value", "http://ru.example/drop", "--tlp", "GREEN", "--to", "US",
                "--valid-until", "2027-02-01T00:00:00Z")
        with at("2026-11-21T08:00:00Z"):
            sighted = _ok(us, "indicators", "search", "198.51.100.23", "--json")["hits"][0]["id"]
            _ok(ru, "indicators", "add", "--value", "203.0.113.99", "--tlp", "AMBER", "--confidence", "60")
            _ok(us, "indicators", "add", "--value", "8.8.8.8", "--tlp", "CLEAR", "--confidence", "5")
            bundle = root / "ru-us.cbm"
            _ok(ru, "bundle", "export", "--to", "US", "-o", str(bundle))
            _ok(us, "bundle", "import", str(bundle))
        with at("2026-11-22T08:00:00Z"):
            _ok(us, "indicators", "sighting", sighted, "--count", "3")
            ru_value = _ok(us, "indicators", "search", "203.0.113.99", "--json")["hits"][0]["id"]
            _ok(us, "indicators", "sighting", ru_value, "--count", "1")
            revoked = _ok(us, "indicators", "search", "5d41402abc4b2a76b9719d911017c592", "--json")["hits"][0]
            _ok(us, "indicators", "revoke", revoked["id"], "--reason", "stale")
        yield us


def own_card_of(p: Party) -> bytes:
    with open_store(p.root) as store:
        return own_card(store).envelope


def fingerprint_of(p: Party) -> str:
    with open_store(p.root) as store:
        return own_card(store).fingerprint


FILTERS = {
    "all": {},
    "green and below": {"tlp_max": "GREEN"},
    "red only": {"tlps": ["RED"]},
    "ipv4 only": {"types": ["ipv4-addr"]},
    "from RU": {"authors": ["RU"]},
    "active": {"state": "active"},
    "revoked": {"state": "revoked"},
    "energy": {"sectors": ["energy"]},
    "since": {"since": "2026-11-21T00:00:00Z"},
    "limit": {"limit": 7},
}
FORMATS = ("stix", "csv", "txt", "suricata", "misp")


def _both(party: Party, fmt: str, filters: dict, **options: bool) -> tuple[bytes, dict, bytes, dict]:
    with at(NOW), open_store(party.root) as store:
        f = query.make_filter(**filters)
        old = io.StringIO()
        old_result = reference_export(store, f, fmt, old, **options)
        new = io.BytesIO()
        new_result = svc.export(store, f, fmt, new, **options)
    return old.getvalue().encode("utf-8"), asdict(old_result), new.getvalue(), asdict(new_result)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_and_filter_writes_the_same_bytes_and_counts_as_before(varied, fmt):
    for name, filters in FILTERS.items():
        old, old_result, new, new_result = _both(varied, fmt, filters)
        assert new == old, (fmt, name)
        assert new_result == old_result, (fmt, name)
    if fmt in ("txt", "csv", "suricata"):
        old, old_result, new, new_result = _both(varied, fmt, {}, include_flagged=True)
        assert new == old and new_result == old_result


def test_the_full_stix_export_holds_every_kind_of_object_and_parses_strictly(varied):
    """The comparison above means something only if the store holds every case: check that it does."""
    old, _, new, result = _both(varied, "stix", {})
    bundle = stix2.parse(new.decode("utf-8"), allow_custom=False)
    kinds = {o.type for o in bundle.objects}
    assert {"indicator", "sighting", "identity", "marking-definition", "malware", "relationship",
            "extension-definition"} <= kinds
    objects = json.loads(new)["objects"]
    indicators = [o for o in objects if o["type"] == "indicator"]
    assert {o["created_by_ref"] for o in indicators} == {o["id"] for o in objects if o["type"] == "identity"
                                                         and o.get("extensions") and o["name"] != "cbm"}
    assert len({o["created_by_ref"] for o in indicators}) == 2  # US and RU
    assert any(o.get("revoked") for o in indicators)
    with open_store(varied.root) as store:  # new versions (US's own, and RU's through the bundle)
        assert store.query(lambda c: c.execute("SELECT COUNT(*) FROM ind WHERE versions > 1").fetchone()[0]) >= 2
    assert any("kill_chain_phases" in o for o in indicators) and any("extensions" in o for o in indicators)
    assert len({tuple(o["object_marking_refs"]) for o in indicators}) == 5  # every TLP
    assert result["flagged_included"] >= 1 and result["sightings"] == 2 and result["objects"] > 0


@pytest.mark.parametrize("span", [1, 3, 1 << 16])
def test_the_stix_exports_runs_of_positions_are_the_index_positions_in_order(varied, span):
    """The STIX export reads the index a range of keys at a time, as JSON arrays SQLite builds
    (position_runs.py, docs/adr/0231): the same rows in the same order as the row-by-row query, under
    every filter (also those SQLite could answer from another index: an expiry window, a value's type), with
    ``--limit``, over ranges that split one record's rows; each run holds rows of one record only."""
    filters = {**FILTERS, "expiring": {"expiring_days": 400}, "flagged": {"flagged": True},
               "unflagged, limit": {"flagged": False, "limit": 5}, "limit 0": {"limit": 0}}
    with at(NOW), open_store(varied.root) as store:
        for name, given in filters.items():
            f = query.make_filter(**given)
            expected = [(rec, pos, revoked) for rec, pos, revoked, _ in store.query(queries.positions, f)]
            runs = list(store.query(position_runs, f, span))
            assert [(rec, pos, revoked) for rec, positions, flags in runs
                    for pos, revoked in zip(positions, flags, strict=True)] == expected, name
            assert all(positions for _, positions, _ in runs), name
            if span > 1000:  # one range: a run ends only where the record changes
                assert all(a[0] != b[0] for a, b in zip(runs, runs[1:], strict=False)), name
        assert any(revoked for _, _, revoked, _ in store.query(queries.positions, query.make_filter()))
        assert len({rec for rec, _, _, _ in store.query(queries.positions, query.make_filter())}) > 5
