"""Smoke run of `make bench` at 2,000 indicators: the report is produced with every step and every reference,
the misp-stix comparison (a 200-attribute event), the growth from a 500-indicator run of the same invocation,
wall and CPU ratios for every reference and memory summed over each command's processes.

No timing assertions (times depend on the machine and its load); the benchmark's own verdicts are not checked
either, only that it ran each step to an outcome a reader can act on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CBM_STEPS = ("import", "import-second-feed", "import-same-feed", "import-peer-feed", "export-stix", "bundle-export",
             "verify-quick", "verify-deep", "import-peer", "bundle-export-encrypted", "verify-encrypted-outer",
             "import-peer-encrypted", "search", "status", "status-tiny", "help", "misp-import", "misp-export")
REFERENCES = ("ref-parse", "ref-minisign", "ref-signatures", "ref-sqlite", "ref-lookup", "ref-python",
              "ref-encode", "ref-stix2", "ref-checks", "ref-misp-stix")
TARGET_ROWS = ("import", "landing checks", "export-stix", "bundle-export", "verify-quick", "verify-deep",
               "import-peer", "search", "status", "status-tiny", "help", "peak memory", "growth")
GROWTH_STEPS = ("import", "export-stix", "bundle-export", "verify-quick", "verify-deep", "import-peer")


@pytest.mark.bench
def test_bench_smoke_run_writes_a_complete_report(tmp_path: Path) -> None:
    out, work = tmp_path / "results", tmp_path / "work"
    cbm = Path(sys.executable).with_name("cbm")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "2000", "--out", str(out), "--workdir",
         str(work), "--repeat", "1", "--cbm", str(cbm), "--timeout", "120", "--misp-max", "200",
         "--growth-size", "500", "--stix2-max", "500", "--validate-sample", "50"],
        capture_output=True, text=True, timeout=400, check=False)
    assert proc.returncode == 0, proc.stderr
    # stdout: the targets table only; stderr: progress
    assert proc.stdout.startswith("| step | verdict | measured | reference |")
    assert "report written to" in proc.stderr and "report written to" not in proc.stdout

    doc = json.loads((out / "latest.json").read_text())
    assert doc["schema"] == "cbm.bench/1" and doc["size"] == 2000
    assert (out / "by-size" / "2000.json").is_file()
    for key in ("cpu_model", "cores_usable", "ram_gb", "python", "sqlite"):
        assert doc["machine"][key], key
    results = {r["name"]: r for r in doc["results"]}
    for name in CBM_STEPS + REFERENCES:
        assert name in results, f"{name} missing from the report"
        # a step that ran must succeed; one whose command is not built yet says so
        assert results[name]["status"] in ("ok", "not available"), (name, results[name]["note"])
        if results[name]["status"] == "ok":
            r = results[name]
            assert r["wall_s"] > 0 and r["cpu_s"] >= 0 and r["maxrss_mb"] > 0, name
            # memory is summed over the command's processes, never below its largest single process
            assert r["processes"] >= 1 and r["peak_sum_mb"] >= r["maxrss_mb"], name
            # user and system CPU apart (a kernel's share shows), each run after the page cache settled
            assert r["user_s"] >= 0 and r["sys_s"] >= 0 and r["settle_s"] >= 0, name
    # the verify steps and the floors they are judged against run one after the other, medians of 3 runs each
    names = [r["name"] for r in doc["results"]]
    at = names.index("verify-quick")
    assert names[at:at + 5] == ["verify-quick", "verify-deep", "ref-parse", "ref-minisign", "ref-signatures"]
    for name in ("verify-quick", "verify-deep", "ref-parse", "ref-signatures"):
        assert results[name]["runs"] == 3, name
    # the peer's import runs right after every floor it is judged against, the sqlite3 insert included
    at = names.index("ref-signatures")
    assert names[at:at + 3] == ["ref-signatures", "ref-sqlite", "import-peer"]
    # ... both three times, each import into a fresh copy of RU's store as it was before (the same landing)
    assert results["ref-sqlite"]["runs"] == 3 and results["import-peer"]["runs"] == 3
    for run in range(3):  # no run was a re-import of what an earlier one landed
        landing = json.loads((work / "logs" / f"import-peer-{run}.out").read_text())
        assert landing["landed"]["US"] > 0 and landing["already_imported"] is None, run
    # the floors that need no cbm command always run
    for name in ("ref-signatures", "ref-sqlite", "ref-lookup", "ref-python", "ref-encode", "ref-stix2"):
        assert results[name]["status"] == "ok", name
    assert results["ref-stix2"]["detail"]["objects"] == 500
    assert results["help"]["status"] == "ok"
    # the default export encrypts (the feed is mostly above TLP:CLEAR); the plain steps stay plain
    assert results["bundle-export-encrypted"]["detail"]["encrypted"] is True
    assert results["verify-encrypted-outer"]["detail"]["result"] == "verified-outer-only"
    assert results["verify-quick"]["detail"]["contents_checked"] is True
    assert results["import-peer-encrypted"]["detail"]["landed"] == results["import-peer"]["detail"]["landed"]
    # the stix2 reference was measured in this run
    assert results["ref-stix2"]["detail"]["rows"] == 500 and "reused" not in results["ref-stix2"]["note"]
    # the export was checked by the OASIS validator, on the sample asked for (50 indicators and the other objects)
    check = results["export-stix"]["detail"]["check"]
    assert check["valid"] is True and 50 < check["validated_sample"] <= 250
    # the landing checks alone, over every row of the feed, with cbm's own checker
    assert results["ref-checks"]["detail"]["rows"] == 2000 and results["ref-checks"]["detail"]["lists"] > 0
    # misp-stix converted the same event cbm imported: 200 attributes, 5 % of them context (to_ids false)
    misp = results["ref-misp-stix"]["detail"]
    assert misp["attributes"] == 200 and misp["errors"] == 0 and misp["by_type"]["indicator"] > 150
    assert results["misp-import"]["detail"]["store_after"]["total"] == misp["by_type"]["indicator"]
    # every comparison carries both ratios; the judged ones say which they were judged on
    comparisons = {(c["step"], c["reference"]): c for c in doc["comparisons"]}
    # the stix2 reference ran on its capped 500 rows and is scaled to the feed, saying so
    assert comparisons[("import", "stix2 objects (build)")]["scaled"] == "scaled ×4 from 500 rows"
    assert ("misp-import + misp-export", "misp-stix MISPtoSTIX21Parser (whole process)") in comparisons
    for c in comparisons.values():
        assert c["wall_ratio"] > 0 and c["cpu_ratio"] > 0 and c["judged_on"] in ("", "wall", "CPU"), c
    assert {c["step"] for c in comparisons.values() if c["judged_on"]} >= {"import", "verify-deep", "import-peer"}
    # growth: per-row cost of each throughput step at 500 (run first, same invocation) and 2,000
    assert doc["growth_run"]["size"] == 500
    growth = {g["step"]: g for g in doc["growth"]["rows"]}
    assert set(growth) == set(GROWTH_STEPS)
    assert all(g["small"] == 500 and g["large"] == 2000 and len(g["wall_us_per_row"]) == 2 for g in growth.values())
    # a small misp event, a capped stix2 reference, a small validator sample: development options, each said
    for option in ("--misp-max", "--stix2-max", "--validate-sample"):
        assert any(option in reason for reason in doc["invalid"]), option
    verdicts = {v["step"]: v for v in doc["verdicts"]}
    assert set(TARGET_ROWS) <= set(verdicts)
    for v in verdicts.values():
        assert v["verdict"] in ("PASS", "MISS", "n/a")

    md = (out / "latest.md").read_text()
    for title in ("## Targets", "## Every step", "## Reference phases", "## Ratios to the references",
                  "## Side by side: misp-stix", "## Growth", "**NOT A VALID RUN**", doc["machine"]["cpu_model"],
                  "Machine speed: the probe"):
        assert title in md
    # the machine's speed at both ends of the run, against its best on record (a slow spell is named as one)
    assert doc["speed"]["start"]["cpu_s"] > 0 and doc["speed"]["end"]["cpu_s"] > 0
    assert doc["speed"]["slowdown_start"] >= 1.0 and doc["speed"]["slowdown_end"] >= 1.0
    assert "| cbm step | reference |" in proc.stdout and "NOT A VALID RUN" in proc.stdout

    # judged again with the stix2 reference of another report: never a valid run
    again = tmp_path / "again"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--rerender", str(out / "latest.json"),
                           "--stix2-from", str(out / "latest.json"), "--out", str(again)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert any("--stix2-from" in reason for reason in json.loads((again / "latest.json").read_text())["invalid"])
    for name in TARGET_ROWS:
        assert f"| {name} |" in md


def test_bench_rejects_a_non_empty_workdir(tmp_path: Path) -> None:
    (tmp_path / "stray").write_text("x")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--size", "2000", "--workdir",
                           str(tmp_path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "is not empty" in proc.stderr and proc.stdout == ""
