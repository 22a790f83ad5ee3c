"""How fast this machine is right now: a fixed piece of work timed at the start and at the end of a benchmark run.

The machine the benchmark runs on is a shared virtual machine. Its speed drifts: the same bare csv + sqlite3
insert took 13.0 s one morning and 23.8 s the same day at noon, with nothing else running in the VM (the host was
busy). The references measured in the same run keep the *ratios* honest, but the targets of issue 20 are
absolute seconds, so a report must also say how fast the machine was while it ran. The probe is that figure: the
same work every time, whatever the code of `cbm` is, kept small (about a second at the machine's best) so it can
run twice per benchmark.

The work has the three shapes a large import is made of: interpreted Python (building and sorting tuples),
memory-bound hashing (SHA-256 over a buffer larger than the caches) and SQLite (rows inserted into an indexed
table in a temporary file database, WAL, one transaction). Each part is timed in process CPU time (the VM's
steal does not count) and wall time; the best of three runs is kept, as a slow moment inside one probe is noise,
a slow spell is not.

Run alone it prints one JSON document: ``python bench/probe.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNS = 3
SLOW_SPELL = 1.15  # a probe this many times its best on record: the report says the run met a slow spell
HASHED_BYTES = 128 * 1024 * 1024
ROWS = 60_000


def _python_work() -> None:
    rows = [(f"value-{i * 7919 % 1_000_003}", i % 97, str(i)) for i in range(200_000)]
    rows.sort()
    assert len({r[1] for r in rows}) == 97


def _hashing_work() -> None:
    block = os.urandom(1024 * 1024) * 32  # 32 MiB: larger than the caches
    h = hashlib.sha256()
    for _ in range(HASHED_BYTES // len(block)):
        h.update(block)
    assert len(h.digest()) == 32


def _sqlite_work() -> None:
    with tempfile.TemporaryDirectory(prefix="cbm-probe-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "probe.sqlite", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, value TEXT, n INTEGER) WITHOUT ROWID")
            conn.execute("CREATE INDEX t_value ON t (value)")
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO t VALUES (?, ?, ?)",
                             ((f"{i * 2654435761 % 2**32:08x}-{i}", f"host{i % 20_000}.example", i)
                              for i in range(ROWS)))
            conn.execute("COMMIT")
        finally:
            conn.close()


PARTS: dict[str, Callable[[], None]] = {"python": _python_work, "hashing": _hashing_work, "sqlite": _sqlite_work}


def _timed(work: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def probe(runs: int = RUNS) -> dict[str, Any]:
    """The best of ``runs`` timings of each part, and their sum (``cpu_s``: the figure runs are compared by)."""
    parts: dict[str, dict[str, float]] = {}
    for name, work in PARTS.items():
        timings = [_timed(work) for _ in range(runs)]
        parts[name] = {"wall_s": round(min(t[0] for t in timings), 4), "cpu_s": round(min(t[1] for t in timings), 4)}
    return {"parts": parts, "cpu_s": round(sum(p["cpu_s"] for p in parts.values()), 4),
            "wall_s": round(sum(p["wall_s"] for p in parts.values()), 4), "runs": runs,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def slowdown(now: dict[str, Any] | None, best: dict[str, Any] | None) -> float | None:
    """How many times slower than ``best`` the machine was for ``now`` (CPU time of the probe), or None."""
    try:
        return round(float(now["cpu_s"]) / float(best["cpu_s"]), 2)  # type: ignore[index]
    except (TypeError, KeyError, ValueError, ZeroDivisionError):
        return None


def measured(python: str, timeout: float = 300) -> dict[str, Any] | None:
    """The probe run as its own process with ``python`` (the interpreter the steps run with), or None."""
    done = subprocess.run([python, str(Path(__file__).resolve())], capture_output=True, text=True, timeout=timeout,
                          check=False)
    try:
        found = json.loads(done.stdout)
    except ValueError:
        return None
    return found if isinstance(found, dict) and "cpu_s" in found else None


def _same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("cpu_model", "cores_usable", "ram_gb"))


def best_on_record(out: Path, machine: dict[str, Any], *now: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fastest probe (least CPU) among ``now`` and the reports kept in ``out`` (latest.json, by-size/*.json)
    of runs on the same machine (CPU model, cores, memory)."""
    found = [p for p in now if p]
    for path in [out / "latest.json", *sorted((out / "by-size").glob("*.json"))]:
        try:
            kept = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        speed = kept.get("speed") if isinstance(kept, dict) else None
        if isinstance(speed, dict) and _same_machine(kept.get("machine") or {}, machine):
            found += [p for p in (speed.get("start"), speed.get("end")) if isinstance(p, dict) and "cpu_s" in p]
    return min(found, key=lambda p: float(p["cpu_s"])) if found else None


def speed(out: Path, machine: dict[str, Any], start: dict[str, Any] | None,
          end: dict[str, Any] | None) -> dict[str, Any]:
    """What a report keeps about the machine's speed during the run (``doc["speed"]``)."""
    best = best_on_record(out, machine, start, end)
    return {"start": start, "end": end, "best": best, "slowdown_start": slowdown(start, best),
            "slowdown_end": slowdown(end, best)}


def markdown(doc: dict[str, Any]) -> list[str]:
    """The report's paragraph on the machine's speed, or [] for a report made before the probe existed."""
    sp = doc.get("speed")
    if not isinstance(sp, dict) or not (sp.get("start") or sp.get("end")):
        return []

    def cpu(p: Any) -> str:
        return f"{float(p['cpu_s']):.2f} s" if isinstance(p, dict) else "not measured"

    best: dict[str, Any] = sp["best"] if isinstance(sp.get("best"), dict) else {}
    worst = max((x for x in (sp.get("slowdown_start"), sp.get("slowdown_end")) if isinstance(x, (int, float))),
                default=None)
    text = (f"Machine speed: the probe (`bench/probe.py`: fixed Python, SHA-256 and SQLite work, CPU time, best of "
            f"{(sp.get('start') or sp.get('end') or {}).get('runs', RUNS)}) took {cpu(sp.get('start'))} at the start "
            f"and {cpu(sp.get('end'))} at the end of the run; the fastest on record on this machine is "
            f"{cpu(best)} ({best.get('at', '?')}).")
    if worst is not None and worst >= SLOW_SPELL:
        text += (f" **This run met a slow spell of the machine (up to ×{worst:.2f} its best):** the same work took "
                 "that much more CPU time, so absolute times and the absolute targets read high; the ratios to the "
                 "references measured in the same run hold.")
    elif worst is not None:
        text += f" The machine ran at ×{worst:.2f} of its best at worst: absolute times are comparable."
    return [text, ""]


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    print(json.dumps(probe(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
