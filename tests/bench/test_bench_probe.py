"""The benchmark's machine-speed probe: a report says how fast the machine ran against its best on record, so a
slow spell of the shared VM is read as one and not as a regression of `cbm`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import probe  # noqa: E402  (bench/ is not a package)

MACHINE = {"cpu_model": "AMD EPYC", "cores_usable": 2, "ram_gb": 23.5}


def _kept(out: Path, name: str, machine: dict, cpu_s: float, at: str) -> None:
    point = {"cpu_s": cpu_s, "wall_s": cpu_s, "runs": 3, "at": at, "parts": {}}
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_text(json.dumps({"machine": machine, "speed": {"start": point, "end": None}}))


def test_the_probe_times_each_part_of_its_fixed_work() -> None:
    found = probe.probe(runs=1)
    assert set(found["parts"]) == {"python", "hashing", "sqlite"}
    assert all(p["cpu_s"] > 0 for p in found["parts"].values())
    assert found["cpu_s"] == round(sum(p["cpu_s"] for p in found["parts"].values()), 4)


def test_a_slow_run_is_measured_against_the_best_run_of_the_same_machine(tmp_path: Path) -> None:
    _kept(tmp_path, "by-size/1000000.json", MACHINE, 1.0, "2026-12-07T07:30:00Z")
    _kept(tmp_path, "by-size/100000.json", {**MACHINE, "cpu_model": "Intel Xeon"}, 0.4, "elsewhere")  # not ours
    _kept(tmp_path, "latest.json", MACHINE, 1.2, "2026-12-07T09:00:00Z")
    now = {"cpu_s": 1.8, "runs": 3, "at": "2026-12-07T12:40:00Z"}
    speed = probe.speed(tmp_path, MACHINE, now, {**now, "cpu_s": 1.5})
    assert speed["best"]["at"] == "2026-12-07T07:30:00Z"
    assert (speed["slowdown_start"], speed["slowdown_end"]) == (1.8, 1.5)
    text = " ".join(probe.markdown({"speed": speed}))
    assert "slow spell" in text and "×1.80" in text and "1.00 s (2026-12-07T07:30:00Z)" in text


def test_a_run_at_the_machines_usual_speed_says_its_times_are_comparable(tmp_path: Path) -> None:
    _kept(tmp_path, "latest.json", MACHINE, 1.0, "2026-12-07T07:30:00Z")
    speed = probe.speed(tmp_path, MACHINE, {"cpu_s": 1.05, "runs": 3, "at": "now"}, None)
    text = " ".join(probe.markdown({"speed": speed}))
    assert "slow spell" not in text and "×1.05" in text and "comparable" in text
    assert "and not measured at the end" in text


def test_the_first_run_on_a_machine_is_its_own_best_and_old_reports_have_no_paragraph(tmp_path: Path) -> None:
    first = {"cpu_s": 2.0, "runs": 3, "at": "now"}
    speed = probe.speed(tmp_path, MACHINE, first, {**first, "cpu_s": 2.2})
    assert speed["best"] is first and speed["slowdown_start"] == 1.0 and speed["slowdown_end"] == 1.1
    assert probe.markdown({}) == [] and probe.markdown({"speed": {"start": None, "end": None}}) == []
