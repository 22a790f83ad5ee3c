"""Smoke run of the many-parties simulation (`bench/run.py --parties`) at 2 and 3 parties with tiny feeds.

No timing assertions: only that every party's day and the full round ran, every bundle was counted, the
proposal signed by every member is adopted at every store, and the report says how the figures grow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_parties_simulation_runs_a_full_round_and_reports_growth(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--parties", "2,3", "--indicators", "40", "--out", str(out),
         "--workdir", str(tmp_path / "work"), "--cbm", str(Path(sys.executable).with_name("cbm"))],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# cbm at many parties") and "report written to" in proc.stderr
    doc = json.loads((out / "parties-2-3.json").read_text())
    assert doc["schema"] == "cbm.bench.parties/2"
    two, three = doc["rounds"]
    assert (two["bundles"], two["imports"], three["bundles"], three["imports"]) == (2, 2, 6, 6)
    # two rounds; each party's inbox imported by one process; the second round forwards nothing (ADR 0173)
    assert [r["import_processes"] for r in three["rounds"]] == [3, 3]
    assert [r["bundles"] for r in three["rounds"]] == [6, 6]
    assert three["rounds"][1]["forwarded_records"] == 0 and three["rounds"][1]["wire_bytes"] > 0
    assert three["noop_import_s"] > 0 and three["noop_inbox_per_bundle_s"] > 0
    assert two["adopted_at"] == "2/2" and three["adopted_at"] == "3/3"
    assert three["wire_bytes"] > two["wire_bytes"] > 0 and three["store_mean_bytes"] > 0
    assert doc["growth"][0]["pairs_ratio"] == 3.0
    hub = doc["hub_estimate"]
    assert hub["parties"] == 200 and hub["mesh"]["bundles"] == 200 * 199 and hub["hub"]["bundles"] == 2 * 199
    assert (out / "parties-2-3.md").read_text().startswith("# cbm at many parties")


def test_parties_option_refuses_nonsense(tmp_path: Path) -> None:
    for value in ("1", "three"):
        proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--parties", value, "--out",
                               str(tmp_path)], capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 2 and "--parties" in proc.stderr and proc.stdout == ""


@pytest.mark.bench
def test_hub_topology_routes_every_day_through_the_hub(tmp_path: Path) -> None:
    """4 parties through a hub: 3 spokes send to the hub, the hub relays to all; everyone ends with every
    signature (the proposal adopted everywhere), with 2(N-1) bundles a round instead of N(N-1)."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--parties", "4", "--indicators", "40", "--topology", "hub",
         "--out", str(out), "--workdir", str(tmp_path / "work"), "--cbm", str(Path(sys.executable).with_name("cbm"))],
        capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "parties-4-hub.json").read_text())
    assert doc["topology"] == "hub" and doc["hub_estimate"] is None
    [four] = doc["rounds"]
    assert four["adopted_at"] == "4/4"  # every spoke's signature reached every other spoke through the hub
    first, second = four["rounds"]
    assert (first["bundles"], first["imports"], first["import_processes"]) == (6, 6, 4)
    assert first["forwarded_records"] > 0  # the hub relayed the spokes' days at once
    assert first["hub_import_s"] > 0 and first["hub_export_s"] > 0
    assert first["critical_path_s"] <= first["round_s"]
    # CPU time of the same processes (robust where the machine is shared): every import costs some
    assert first["import_cpu_total_s"] > 0 and first["import_cpu_per_bundle_s"] > 0 and four["day_cpu_s"] > 0
    assert "hub import / export" in (out / "parties-4-hub.md").read_text()
