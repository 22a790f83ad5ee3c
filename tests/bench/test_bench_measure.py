"""The benchmark's own measuring: memory summed over a command's processes, and per-row growth flagged."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402  (bench/ is not a package)
import verdicts  # noqa: E402

# A parent that forks a child; then each fills 60 MB of its own (not shared) and holds it for a second.
FORKING = """
import os, time
pid = os.fork()
block = bytearray(os.urandom(1)) * (60 * 1024 * 1024)
time.sleep(1.0)
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_peak_memory_is_the_sum_over_the_process_tree(tmp_path: Path) -> None:
    result = run.run_process([sys.executable, "-c", FORKING], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path,
                             log=tmp_path / "logs" / "forking", timeout=60)
    assert result.exit_code == 0, result.stderr
    assert result.processes == 2 and result.samples > 10
    # the largest single process holds one block (plus the interpreter); the tree holds two at once
    assert 60 < result.maxrss_mb < 100
    assert result.peak_sum_mb > 120 and result.peak_sum_mb > result.maxrss_mb + 50


def _step(wall: float, cpu: float) -> dict[str, object]:
    return {"status": "ok", "wall_s": wall, "cpu_s": cpu}


def test_growth_is_per_row_with_start_up_taken_out_and_flags_superlinear_steps() -> None:
    small = {"help": _step(0.2, 0.2), "import": _step(1.2, 1.7), "export-stix": _step(0.7, 0.7)}
    # import: 10x the rows in 10x the time after start-up (linear); export: 10x the rows in 13x the time
    large = {"help": _step(0.2, 0.2), "import": _step(10.2, 15.2), "export-stix": _step(6.7, 6.7)}
    rows = {g.step: g for g in verdicts.growth(large, 1_000_000, small, 100_000)}
    assert set(rows) == {"import", "export-stix"}
    assert rows["import"].wall_us == (10.0, 10.0) and rows["import"].cpu_us == (15.0, 15.0)
    assert not rows["import"].superlinear
    assert round(rows["export-stix"].wall_growth, 2) == 0.3 and rows["export-stix"].superlinear
    verdict = verdicts.growth_verdict(list(rows.values()), "test")
    assert verdict.verdict == "MISS" and "superlinear: export-stix" in verdict.measured
    assert verdicts.growth_verdict([], "no second size").verdict == "n/a"


def test_wall_growth_on_a_loaded_machine_is_shown_but_only_cpu_growth_flags() -> None:
    small = {"help": _step(0.2, 0.2), "export-stix": {**_step(0.7, 0.7), "others_cores": 1.4}}
    waited = {"help": _step(0.2, 0.2), "export-stix": {**_step(9.2, 5.7), "others_cores": 1.4}}  # wall +80 %
    (row,) = verdicts.growth(waited, 100_000, small, 10_000)
    assert row.loaded and round(row.wall_growth, 2) == 0.8 and row.cpu_growth < 0.2 and not row.superlinear
    worked = {"help": _step(0.2, 0.2), "export-stix": {**_step(9.2, 9.2), "others_cores": 1.4}}  # CPU +80 %
    (row,) = verdicts.growth(worked, 100_000, small, 10_000)
    assert row.superlinear


def test_a_small_process_is_not_charged_with_the_runners_memory(tmp_path: Path) -> None:
    # wait4's ru_maxrss of an exec'd child includes the memory of the runner it was forked from (here pytest,
    # 60-200 MB): the report's figures come from the child's own /proc high-water mark instead
    ballast = bytearray(os.urandom(1)) * (80 * 1024 * 1024)  # make the runner big, whatever ran before
    result = run.run_process([sys.executable, "-c", "import time; time.sleep(0.3)"], env={"PATH": "/usr/bin:/bin"},
                             cwd=tmp_path, log=tmp_path / "logs" / "small", timeout=60)
    assert result.exit_code == 0 and result.samples > 3 and len(ballast) > 0
    assert result.maxrss_mb < 40 and result.peak_sum_mb < 40


def test_memory_flatness_ignores_a_few_mb_of_a_tiny_process_but_not_a_feed_sized_growth() -> None:
    """`--help` peaked at 5 MB in one run and 9 MB in the next (the same work): ×1.75, not a feed-sized growth.
    A step judged unflat must also grow by at least ``FLAT_SLACK_MB`` (ADR 0281); a real growth still fails."""
    from types import SimpleNamespace

    def measured(name: str, mb: float) -> SimpleNamespace:
        return SimpleNamespace(name=name, kind="cbm", status="ok", peak_sum_mb=mb)

    small = {100_000: {"results": [{"name": "help", "kind": "cbm", "status": "ok", "peak_sum_mb": 5.1},
                                   {"name": "import", "kind": "cbm", "status": "ok", "peak_sum_mb": 140.0}]}}
    flat = verdicts.Judge({"help": measured("help", 8.9), "import": measured("import", 170.0)}, 1_000_000, 2)
    text, passed = flat.flatness(small)
    assert passed and "(import)" in text
    grown = verdicts.Judge({"help": measured("help", 8.9), "import": measured("import", 260.0)}, 1_000_000, 2)
    text, passed = grown.flatness(small)
    assert not passed and "(import)" in text
