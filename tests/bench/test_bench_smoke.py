"""Smoke run of `make bench` at 2,000 indicators: the report is produced with every step and every reference.

No timing assertions (times depend on the machine and its load); the benchmark's own verdicts are not checked
either, only that it ran each step to an outcome a reader can act on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CBM_STEPS = ("import", "import-peer-feed", "export-stix", "bundle-export", "verify-quick", "verify-deep",
             "import-peer", "bundle-export-encrypted", "verify-encrypted-outer", "import-peer-encrypted", "search",
             "status", "status-tiny", "help")
REFERENCES = ("ref-parse", "ref-minisign", "ref-signatures", "ref-sqlite", "ref-lookup", "ref-python",
              "ref-encode", "ref-stix2")
TARGET_ROWS = ("import", "export-stix", "bundle-export", "verify-quick", "verify-deep", "import-peer", "search",
               "status", "status-tiny", "help", "peak memory")


def test_bench_smoke_run_writes_a_complete_report(tmp_path: Path) -> None:
    out, work = tmp_path / "results", tmp_path / "work"
    cbm = Path(sys.executable).with_name("cbm")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--size", "2000", "--out", str(out), "--workdir",
         str(work), "--repeat", "1", "--cbm", str(cbm), "--timeout", "120"],
        capture_output=True, text=True, timeout=300, check=False)
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
    # the floors that need no cbm command always run
    for name in ("ref-signatures", "ref-sqlite", "ref-lookup", "ref-python", "ref-encode", "ref-stix2"):
        assert results[name]["status"] == "ok", name
    assert results["ref-stix2"]["detail"]["objects"] == 2000
    assert results["help"]["status"] == "ok"
    # the default export encrypts (the feed is mostly above TLP:CLEAR); the plain steps stay plain
    assert results["bundle-export-encrypted"]["detail"]["encrypted"] is True
    assert results["verify-encrypted-outer"]["detail"]["result"] == "verified-outer-only"
    assert results["verify-quick"]["detail"]["contents_checked"] is True
    assert results["import-peer-encrypted"]["detail"]["landed"] == results["import-peer"]["detail"]["landed"]
    verdicts = {v["step"]: v for v in doc["verdicts"]}
    assert set(TARGET_ROWS) <= set(verdicts)
    for v in verdicts.values():
        assert v["verdict"] in ("PASS", "MISS", "n/a")

    md = (out / "latest.md").read_text()
    for title in ("## Targets", "## Every step", "## Reference phases", doc["machine"]["cpu_model"]):
        assert title in md
    for name in TARGET_ROWS:
        assert f"| {name} |" in md


def test_bench_rejects_a_non_empty_workdir(tmp_path: Path) -> None:
    (tmp_path / "stray").write_text("x")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--size", "2000", "--workdir",
                           str(tmp_path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "is not empty" in proc.stderr and proc.stdout == ""
