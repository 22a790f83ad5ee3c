"""The targets of issue #20 and how a run is judged against them (PASS / MISS / n/a), with each ratio.

Targets are for 1M indicators on 2 cores. Below 1M, throughput targets apply pro rata plus the start-up of one
`cbm` process (the measured `cbm --help`, its wall time for wall targets and its CPU time for CPU targets), which
no size removes; latency and memory targets apply as they are.

Every comparison with a reference is given twice, as a wall-time ratio and a CPU-time ratio (``Comparison``).
Where the `cbm` step used more than one core (it ran more than one process, or its CPU time exceeds its wall time
by more than 10 %: threads), the verdict is judged on the CPU-time ratio: a wall-time ratio would credit a
second core as if it were less work (docs/adr/0205-bench-cpu-ratios-and-summed-memory.md). Peak memory is the
peak of the summed RSS of all the processes of one command. Growth from a smaller to a larger feed is judged
per row (docs/adr/0206).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

FULL = 1_000_000
RSS_LIMIT_MB = 500
FLAT_GROWTH = 1.5  # peak memory may grow at most this much while the feed grows >= 4x
FLAT_SLACK_MB = 16.0  # ... unless it grows by less than this: a few MB of a 5 MB `--help` is sampling, not the feed
MULTI_CORE = 1.1  # CPU / wall above this: the step used more than one core, judged on CPU ratios
GROWTH_LIMIT = 0.20  # per-row cost may grow at most 20 % from the smaller to the larger feed
CHECKS_SHARE = 0.10  # the landing checks may cost at most 10 % of the import (issue 15)
QUIET = 0.5  # others' load (cores) under which a step's wall time is trusted for growth
GROWTH_STEPS = ("import", "export-stix", "bundle-export", "verify-quick", "verify-deep", "import-peer")


class Measured(Protocol):
    name: str
    kind: str
    status: str
    note: str
    wall_s: float | None
    cpu_s: float | None
    maxrss_mb: float | None
    wall_min_s: float | None
    detail: dict[str, Any]
    peak_sum_mb: float | None
    processes: int | None


@dataclass
class Verdict:
    step: str
    target: str
    measured: str
    verdict: str  # PASS | MISS | n/a
    reference: str = ""
    ratio: float | None = None  # the ratio the verdict was judged on, when there is one
    cpu_note: str = ""
    judged_on: str = ""  # "wall" | "CPU" | "" (no ratio)


@dataclass
class Comparison:
    """One `cbm` step beside one reference: ratios are cbm ÷ reference (below 1: cbm is faster)."""

    step: str
    reference: str
    cbm_wall_s: float
    cbm_cpu_s: float
    ref_wall_s: float
    ref_cpu_s: float
    scaled: str = ""  # how the reference was scaled to the feed's size, if it was
    judged_on: str = ""  # the ratio a verdict uses: "wall" | "CPU" | "" (shown, not judged)
    processes: int = 1  # the most processes the cbm step ran at once

    @property
    def multi_core(self) -> bool:
        """Whether the cbm step used more than one core: several processes, or CPU above wall (threads)."""
        return self.processes > 1 or self.cores > MULTI_CORE

    @property
    def wall_ratio(self) -> float:
        return self.cbm_wall_s / self.ref_wall_s if self.ref_wall_s > 0 else float("inf")

    @property
    def cpu_ratio(self) -> float:
        return self.cbm_cpu_s / self.ref_cpu_s if self.ref_cpu_s > 0 else float("inf")

    @property
    def cores(self) -> float:
        return self.cbm_cpu_s / self.cbm_wall_s if self.cbm_wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "reference": self.reference, "cbm_wall_s": round(self.cbm_wall_s, 4),
                "cbm_cpu_s": round(self.cbm_cpu_s, 4), "ref_wall_s": round(self.ref_wall_s, 4),
                "ref_cpu_s": round(self.ref_cpu_s, 4), "wall_ratio": round(self.wall_ratio, 4),
                "cpu_ratio": round(self.cpu_ratio, 4), "cbm_cores": round(self.cores, 2), "scaled": self.scaled,
                "judged_on": self.judged_on, "processes": self.processes}


@dataclass
class GrowthRow:
    """A step's cost per row at two sizes, start-up (`cbm --help` of the same run) taken out."""

    step: str
    small: int
    large: int
    wall_us: tuple[float, float]
    cpu_us: tuple[float, float]
    loaded: bool = False  # other work used ≥ QUIET cores during either run: wall growth is shown, not judged

    @property
    def wall_growth(self) -> float:
        return self.wall_us[1] / self.wall_us[0] - 1 if self.wall_us[0] > 0 else 0.0

    @property
    def cpu_growth(self) -> float:
        return self.cpu_us[1] / self.cpu_us[0] - 1 if self.cpu_us[0] > 0 else 0.0

    @property
    def superlinear(self) -> bool:
        return self.cpu_growth > GROWTH_LIMIT or (not self.loaded and self.wall_growth > GROWTH_LIMIT)

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "small": self.small, "large": self.large,
                "wall_us_per_row": [round(x, 3) for x in self.wall_us],
                "cpu_us_per_row": [round(x, 3) for x in self.cpu_us], "wall_growth": round(self.wall_growth, 4),
                "cpu_growth": round(self.cpu_growth, 4), "loaded": self.loaded, "superlinear": self.superlinear}


@dataclass
class Judgement:
    verdicts: list[Verdict]
    comparisons: list[Comparison] = field(default_factory=list)
    growth: list[GrowthRow] = field(default_factory=list)


def peak_mb(r: Any) -> float:
    """The summed peak of a result (a Result or its dict), or its largest single process for older reports."""
    get = r.get if isinstance(r, dict) else lambda k: getattr(r, k, None)
    return float(get("peak_sum_mb") or get("maxrss_mb") or 0.0)


class Judge:
    def __init__(self, results: dict[str, Measured], size: int, cores: int) -> None:
        self.results, self.size, self.cores = results, size, cores
        self.scale = size / FULL
        helped = self.ok("help")
        small = helped is not None and size < FULL
        self.startup = (helped.wall_s or 0.0) if small and helped else 0.0
        self.startup_cpu = (helped.cpu_s or 0.0) if small and helped else 0.0
        self.comparisons: list[Comparison] = []

    def ok(self, name: str) -> Measured | None:
        r = self.results.get(name)
        return r if r is not None and r.status == "ok" else None

    def value(self, name: str, *path: str) -> float | None:
        r = self.ok(name)
        node: Any = r.detail if r else None
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None

    def phase(self, name: str, *path: str) -> tuple[float, float] | None:
        """(wall, CPU) seconds of a reference's phase."""
        wall, cpu = self.value(name, *path, "wall_s"), self.value(name, *path, "cpu_s")
        return (wall, cpu if cpu is not None else wall) if wall is not None else None

    def compare(self, step: str, reference: str, ref: tuple[float, float], *, scaled: str = "",
                judged: bool = False, cbm: tuple[float, float] | None = None) -> Comparison | None:
        """Record ``step`` beside a reference of (wall, CPU) seconds; ``judged``: a verdict uses it, on the
        CPU ratio when the step used more than one core, else on the wall ratio."""
        processes = 1
        if cbm is None:
            r = self.ok(step)
            if r is None or r.wall_s is None:
                return None
            cbm = (r.wall_s, r.cpu_s or 0.0)
            processes = getattr(r, "processes", None) or 1
        c = Comparison(step, reference, cbm[0], cbm[1], ref[0], ref[1], scaled, processes=processes)
        if judged:
            c.judged_on = "CPU" if c.multi_core else "wall"
        self.comparisons.append(c)
        return c

    @staticmethod
    def ratio_text(c: Comparison) -> str:
        mark = {"wall": (" ←", ""), "CPU": ("", " ←")}.get(c.judged_on, ("", ""))
        return f"×{c.wall_ratio:.2f} wall{mark[0]}, ×{c.cpu_ratio:.2f} CPU{mark[1]}"

    @staticmethod
    def judged(c: Comparison) -> float:
        return c.cpu_ratio if c.judged_on == "CPU" else c.wall_ratio

    def parse_floor(self) -> tuple[float, float] | None:
        """The faster of orjson and json parsing the bundle's lines and payloads, (wall, CPU)."""
        found = [v for v in (self.phase("ref-parse", "orjson"), self.phase("ref-parse", "json")) if v is not None]
        return min(found) if found else None

    def missing(self, step: str, target: str) -> Verdict:
        r = self.results.get(step)
        why = (r.status + (f" ({r.note})" if r.note else "")) if r else "not run"
        return Verdict(step, target, why, "n/a")

    def limit(self, full: float, cpu: bool = False) -> float:
        return full if self.size >= FULL else full * self.scale + (self.startup_cpu if cpu else self.startup)

    def timed(self, step: str, full: float) -> tuple[bool, str, str]:
        """(passed, text, cpu note) for a wall-time target of ``full`` seconds at 1M."""
        r = self.ok(step)
        assert r is not None and r.wall_s is not None
        limit = self.limit(full)
        how = "" if self.size >= FULL else f" ({self.scale:g}× of {full:g} s + {self.startup:.2f} s start-up)"
        text = f"{r.wall_s:.2f} s (CPU {r.cpu_s or 0:.2f} s) vs ≤ {limit:.2f} s{how}"
        note = ""
        if r.wall_s > limit and (r.cpu_s or 0) <= limit:
            note = "CPU time is within the target: the wall time includes waiting on a loaded machine"
        return r.wall_s <= limit, text, note

    # -- one method per target row --

    def import_csv(self) -> Verdict:
        target = "≤ 12 s wall, ≤ 20 s CPU; ≥ 20× faster than stix2 objects"
        r = self.ok("import")
        if r is None or r.wall_s is None:
            return self.missing("import", target)
        passed, text, note = self.timed("import", 12)
        cpu_limit = self.limit(20, cpu=True)
        cpu_ok = (r.cpu_s or 0) <= cpu_limit
        text += f"; CPU {r.cpu_s or 0:.2f} s vs ≤ {cpu_limit:.2f} s"
        passed = passed and cpu_ok
        if note and not cpu_ok:
            note = ""
        build, rows = self.phase("ref-stix2", "build"), self.value("ref-stix2", "rows")
        ratio, judged_on, reference = None, "", "stix2 reference not available"
        if build and rows:
            factor = self.size / rows
            how = "" if rows >= self.size else f"scaled ×{factor:g} from {int(rows):,} rows"
            c = self.compare("import", "stix2 objects (build)", (build[0] * factor, build[1] * factor),
                             scaled=how, judged=True)
            assert c is not None
            ratio, judged_on = 1 / self.judged(c), c.judged_on
            reference = (f"stix2 objects {c.ref_wall_s:.1f} s wall, {c.ref_cpu_s:.1f} s CPU"
                         + (f" ({how})" if how else "") + f": cbm {1 / c.wall_ratio:.1f}× faster in wall time, "
                         f"{1 / c.cpu_ratio:.1f}× in CPU time (≥ 20 on {judged_on}: cbm ran {c.processes} process(es), "
                         f"{c.cores:.1f} cores busy)")
            text += f"; {ratio:.1f}× faster than stix2 ({judged_on})"
            passed = passed and ratio >= 20
        else:
            passed = False
        read, insert = self.phase("ref-sqlite", "read_csv"), self.phase("ref-sqlite", "insert")
        if read is not None and insert is not None:
            c = self.compare("import", "bare csv + sqlite3 insert", (read[0] + insert[0], read[1] + insert[1]))
            if c:
                reference += f"; bare csv + sqlite3 insert {c.ref_wall_s:.2f} s (cbm {self.ratio_text(c)})"
        return Verdict("import", target, text, "PASS" if passed else "MISS", reference, ratio, note, judged_on)

    def landing_checks(self) -> Verdict:
        target = f"≤ {CHECKS_SHARE:.0%} of the import"
        r = self.ok("import")
        load, run = self.phase("ref-checks", "load"), self.phase("ref-checks", "check")
        for needed in ("import", "ref-checks"):
            if self.ok(needed) is None:
                missing = self.missing(needed, target)
                missing.step, missing.measured = "landing checks", f"{needed}: {missing.measured}"
                return missing
        assert r is not None and r.wall_s is not None and load is not None and run is not None
        if self.size >= FULL:
            cost = (load[0] + run[0], load[1] + run[1])
            base = (r.wall_s, r.cpu_s or 0.0)
            how = "lists loaded and every row checked"
        else:  # the one-off loading of the lists is not pro rata: judge the per-row part against the rows' part
            cost = run
            base = (max(1e-9, r.wall_s - self.startup), max(1e-9, (r.cpu_s or 0.0) - self.startup_cpu))
            how = (f"every row checked; the one-off load of the lists ({load[0]:.2f} s) and cbm's start-up left out "
                   "below 1M")
        c = Comparison("import", "landing checks alone", base[0], base[1], cost[0], cost[1],
                       processes=getattr(r, "processes", None) or 1)
        c.judged_on = "CPU" if c.multi_core else "wall"
        wall_share, cpu_share = 1 / c.wall_ratio, 1 / c.cpu_ratio
        share = cpu_share if c.judged_on == "CPU" else wall_share
        self.comparisons.append(c)
        text = (f"{cost[0]:.2f} s wall, {cost[1]:.2f} s CPU ({how}): {wall_share:.1%} of the import's wall time, "
                f"{cpu_share:.1%} of its CPU time (judged on {c.judged_on})")
        flagged, rows = self.value("ref-checks", "flagged"), self.value("ref-checks", "rows")
        reference = f"{int(flagged or 0):,} of {int(rows or 0):,} rows flagged" if rows else ""
        return Verdict("landing checks", target, text, "PASS" if share <= CHECKS_SHARE else "MISS", reference,
                       share, "", c.judged_on)

    def export_stix(self) -> Verdict:
        target = "≤ 8 s, valid STIX 2.1"
        r = self.ok("export-stix")
        if r is None or r.wall_s is None:
            return self.missing("export-stix", target)
        passed, text, note = self.timed("export-stix", 8)
        check = r.detail.get("check") or {}
        indicators = (check.get("by_type") or {}).get("indicator", 0)
        valid = bool(check.get("valid")) and indicators >= self.size
        if not check:
            text += "; validity not checked (check-stix failed)"
        elif valid:
            text += f"; valid ({indicators:,} indicators, {check.get('validated_sample')} objects validated)"
        else:
            text += f"; NOT valid or incomplete: {indicators:,} indicators, {check.get('errors')}"
        parts = []
        orj = self.phase("ref-encode", "orjson")
        if orj:
            c = self.compare("export-stix", "orjson encode of the same STIX dicts", orj)
            if c:
                parts.append(f"orjson encode {orj[0]:.2f} s (cbm {self.ratio_text(c)})")
        ser, rows = self.phase("ref-stix2", "serialise"), self.value("ref-stix2", "rows")
        if ser and rows:
            factor = self.size / rows
            how = "" if rows >= self.size else f"scaled ×{factor:g} from {int(rows):,} rows"
            c = self.compare("export-stix", "stix2 serialise", (ser[0] * factor, ser[1] * factor), scaled=how)
            if c:
                parts.append(f"stix2 serialise {c.ref_wall_s:.1f} s" + (f" ({how})" if how else "")
                             + f" (cbm {self.ratio_text(c)})")
        return Verdict("export-stix", target, text, "PASS" if passed and valid else "MISS", "; ".join(parts),
                       None, note, "wall")

    def bundle_export(self) -> Verdict:
        target = "≤ 20 s"
        r = self.ok("bundle-export")
        if r is None or r.wall_s is None:
            return self.missing("bundle-export", target)
        passed, text, note = self.timed("bundle-export", 20)
        mini = self.ok("ref-minisign")
        reference = ""
        if mini and mini.wall_s:
            c = self.compare("bundle-export", "minisign -Vm of the same file", (mini.wall_s, mini.cpu_s or 0.0))
            if c:
                reference = f"minisign -Vm of the same file {mini.wall_s:.3f} s (hashing it; cbm {self.ratio_text(c)})"
        return Verdict("bundle-export", target, text, "PASS" if passed else "MISS", reference, None, note, "wall")

    def quick_floor(self) -> tuple[tuple[float, float], str] | None:
        mini, parse = self.ok("ref-minisign"), self.parse_floor()
        if mini is None or mini.wall_s is None or parse is None:
            return None
        return ((mini.wall_s + parse[0], (mini.cpu_s or 0.0) + parse[1]),
                f"minisign -Vm {mini.wall_s:.3f} s + JSON parse {parse[0]:.3f} s")

    def verify_quick(self) -> Verdict:
        target = "≤ 3× (minisign -V + JSON parse); ≤ 10 s"
        r = self.ok("verify-quick")
        if r is None or r.wall_s is None:
            return self.missing("verify-quick", target)
        passed, text, note = self.timed("verify-quick", 10)
        floor = self.quick_floor()
        ratio, judged_on, reference = None, "", "minisign or parse floor not available"
        c = self.compare("verify-quick", "minisign -Vm + JSON parse", floor[0], judged=True) if floor else None
        if floor and c:
            ratio, judged_on = self.judged(c), c.judged_on
            passed = passed and ratio <= 3
            text += f"; {self.ratio_text(c)} the floor (≤ 3)"
            reference = f"{floor[1]} = {floor[0][0]:.3f} s"
        else:
            passed = False
        return Verdict("verify-quick", target, text, "PASS" if passed else "MISS", reference, ratio, note, judged_on)

    def verify_deep(self) -> Verdict:
        target = "≤ 1.3× (signatures / cores + quick-verify floor)"
        r = self.ok("verify-deep")
        sigs = self.ok("ref-signatures")
        if r is None or r.wall_s is None:
            return self.missing("verify-deep", target)
        loop = self.phase("ref-signatures", "verify")
        if sigs is None or loop is None:
            return Verdict("verify-deep", target, f"{r.wall_s:.2f} s", "n/a", "pynacl reference not available")
        quick = self.quick_floor()
        # A deep check also does all the quick check's work; with indicators batched into few large records
        # (5,000 per signed record) that hashing, not Ed25519, is most of it, so the floor counts both (ADR 0072).
        # In wall time the signatures spread over the cores; in CPU time they cost the loop's whole CPU time.
        floor_wall = loop[0] / self.cores + (quick[0][0] if quick else 0.0)
        floor_cpu = loop[1] + (quick[0][1] if quick else 0.0)
        c = self.compare("verify-deep", "signatures (/ cores in wall time) + quick-verify floor",
                         (floor_wall, floor_cpu), judged=True)
        assert c is not None
        ratio = self.judged(c)
        literal = r.wall_s / (loop[0] / self.cores) if loop[0] > 0 else float("inf")
        passed = ratio <= 1.3
        text = (f"{r.wall_s:.2f} s (CPU {r.cpu_s or 0:.2f} s, {c.cores:.1f} cores busy): {self.ratio_text(c)} the "
                f"floor (≤ 1.3); ×{literal:.1f} signatures alone")
        count, size = sigs.detail.get("signatures"), sigs.detail.get("message_bytes")
        reference = (f"pynacl {count:,} verifications of {size:,} B: {loop[0]:.3f} s on one core, / {self.cores} = "
                     f"{loop[0] / self.cores:.3f} s" + (f"; + quick floor ({quick[1]})" if quick else ""))
        return Verdict("verify-deep", target, text, "PASS" if passed else "MISS", reference, ratio, "",
                       c.judged_on)

    def import_peer(self) -> Verdict:
        target = "≤ 1.2× (sqlite3 insert + signatures / cores + quick-verify floor)"
        r = self.ok("import-peer")
        if r is None or r.wall_s is None:
            return self.missing("import-peer", target)
        insert, loop, quick = self.phase("ref-sqlite", "insert"), self.phase("ref-signatures", "verify"), \
            self.quick_floor()
        if insert is None or loop is None:
            return Verdict("import-peer", target, f"{r.wall_s:.2f} s (CPU {r.cpu_s or 0:.2f} s)", "n/a",
                           "sqlite3 or pynacl reference not available")
        floor_wall = insert[0] + loop[0] / self.cores + (quick[0][0] if quick else 0.0)
        floor_cpu = insert[1] + loop[1] + (quick[0][1] if quick else 0.0)
        c = self.compare("import-peer", "sqlite3 insert + signatures + quick-verify floor", (floor_wall, floor_cpu),
                         judged=True)
        assert c is not None
        ratio = self.judged(c)
        text = (f"{r.wall_s:.2f} s (CPU {r.cpu_s or 0:.2f} s, {c.cores:.1f} cores busy): {self.ratio_text(c)} "
                "the floor (≤ 1.2)")
        reference = (f"bare sqlite3 insert {insert[0]:.2f} s + signatures / cores {loop[0] / self.cores:.2f} s"
                     + (f" + quick-verify floor {quick[0][0]:.2f} s" if quick else "")
                     + f" = {floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU")
        return Verdict("import-peer", target, text, "PASS" if ratio <= 1.2 else "MISS", reference, ratio, "",
                       c.judged_on)

    def latency(self, step: str, limit: float, refname: str, label: str) -> Verdict:
        target = f"≤ {limit * 1000:.0f} ms (whole process)"
        r = self.ok(step)
        if r is None or r.wall_s is None:
            return self.missing(step, target)
        ref = self.ok(refname)
        text = (f"{r.wall_s * 1000:.0f} ms median (min {(r.wall_min_s or 0) * 1000:.0f}, "
                f"CPU {(r.cpu_s or 0) * 1000:.0f} ms)")
        note = ""
        if r.wall_s > limit and (r.cpu_s or 0) <= limit:
            note = "CPU time is within the target: the wall time includes waiting on a loaded machine"
        reference = ""
        if ref and ref.wall_s:
            c = self.compare(step, label, (ref.wall_s, ref.cpu_s or 0.0))
            if c:
                reference = f"{label} {ref.wall_s * 1000:.0f} ms (cbm {self.ratio_text(c)})"
        return Verdict(step, target, text, "PASS" if r.wall_s <= limit else "MISS", reference, None, note, "wall")

    def misp_stix(self) -> None:
        """The misp-stix peer: no target, the comparison is reported (cbm's two processes against one)."""
        imp, exp, ref = self.ok("misp-import"), self.ok("misp-export"), self.ok("ref-misp-stix")
        if not (imp and exp and ref and imp.wall_s and exp.wall_s and ref.wall_s):
            return
        self.compare("misp-import + misp-export", "misp-stix MISPtoSTIX21Parser (whole process)",
                     (ref.wall_s, ref.cpu_s or 0.0),
                     cbm=(imp.wall_s + exp.wall_s, (imp.cpu_s or 0.0) + (exp.cpu_s or 0.0)))

    def memory(self, other_sizes: dict[int, dict[str, Any]]) -> Verdict | None:
        steps = [r for r in self.results.values() if r.kind == "cbm" and r.status == "ok" and peak_mb(r)]
        if not steps:
            return None
        worst = max(steps, key=peak_mb)
        passed = peak_mb(worst) <= RSS_LIMIT_MB
        text = (f"worst: {worst.name} {peak_mb(worst):.0f} MB summed over its {worst.processes or 1} process(es) "
                f"(largest single {worst.maxrss_mb or 0:.0f} MB) vs ≤ {RSS_LIMIT_MB} MB")
        flat = self.flatness(other_sizes)
        if flat:
            text += "; " + flat[0]
            passed = passed and flat[1]
        else:
            text += "; flatness not judged: no kept run at a size ≥ 4× apart (bench/results/by-size/)"
        return Verdict("peak memory", f"≤ {RSS_LIMIT_MB} MB any step (summed over its processes), flat as the "
                                      "feed grows", text, "PASS" if passed else "MISS")

    def flatness(self, other_sizes: dict[int, dict[str, Any]]) -> tuple[str, bool] | None:
        """Peak memory per step against a kept run at another size: flat = grows ≤ 1.5× over ≥ 4× the feed, or by
        less than ``FLAT_SLACK_MB`` (a step whose peak is a few MB, `--help`, moves by more than half between two
        runs of the same work: ADR 0281)."""
        others = [s for s in other_sizes if s * 4 <= self.size or s >= self.size * 4]
        if not others:
            return None
        other = max(others, key=lambda s: abs(s - self.size))
        then = {r["name"]: peak_mb(r) for r in other_sizes[other]["results"]
                if r.get("kind") == "cbm" and r.get("status") == "ok"}
        growth = []
        for r in self.results.values():
            if r.kind == "cbm" and r.status == "ok" and then.get(r.name) and peak_mb(r):
                now, before = peak_mb(r), float(then[r.name])
                if abs(now - before) < FLAT_SLACK_MB:
                    continue
                growth.append((now / before if self.size > other else before / now, r.name))
        if not growth:
            return None
        grow, name = max(growth)
        small, large = sorted((other, self.size))
        return (f"flat? worst growth ×{grow:.2f} ({name}) for ×{large / small:.0f} indicators "
                f"({small:,} → {large:,}; ≤ ×{FLAT_GROWTH})", grow <= FLAT_GROWTH)


def _per_row_us(r: dict[str, Any] | None, startup: tuple[float, float], size: int) -> tuple[float, float] | None:
    if not r or r.get("status") != "ok" or r.get("wall_s") is None:
        return None
    wall = max(0.0, float(r["wall_s"]) - startup[0])
    cpu = max(0.0, float(r.get("cpu_s") or 0.0) - startup[1])
    return wall / size * 1e6, cpu / size * 1e6


def growth(now: dict[str, dict[str, Any]], size: int, then: dict[str, dict[str, Any]], then_size: int) \
        -> list[GrowthRow]:
    """Per-row cost of each throughput step at two sizes (results as dicts by name), start-up taken out."""
    def startup(results: dict[str, dict[str, Any]]) -> tuple[float, float]:
        h = results.get("help") or {}
        return (float(h.get("wall_s") or 0.0), float(h.get("cpu_s") or 0.0)) if h.get("status") == "ok" \
            else (0.0, 0.0)

    (small, small_res), (large, large_res) = sorted(((size, now), (then_size, then)), key=lambda p: p[0])
    rows = []
    for step in GROWTH_STEPS:
        a = _per_row_us(small_res.get(step), startup(small_res), small)
        b = _per_row_us(large_res.get(step), startup(large_res), large)
        if a and b:
            load = [r.get("others_cores") for r in (small_res[step], large_res[step])]
            loaded = any(x is not None and x >= QUIET for x in load)
            rows.append(GrowthRow(step, small, large, (a[0], b[0]), (a[1], b[1]), loaded))
    return rows


def growth_verdict(rows: list[GrowthRow], source: str) -> Verdict:
    target = f"per-row cost grows ≤ {GROWTH_LIMIT:.0%} (CPU, and wall where the machine was quiet; start-up out)"
    if not rows:
        return Verdict("growth", target, f"not judged: {source}", "n/a")
    worst = max(rows, key=lambda g: max(g.wall_growth, g.cpu_growth))
    bad = [g.step for g in rows if g.superlinear]
    text = (f"{rows[0].small:,} → {rows[0].large:,} ({source}): worst {worst.step} {worst.wall_growth:+.0%} wall, "
            f"{worst.cpu_growth:+.0%} CPU per row" + (" (loaded: wall growth not judged)" if worst.loaded else "")
            + (f"; superlinear: {', '.join(bad)}" if bad else ""))
    return Verdict("growth", target, text, "MISS" if bad else "PASS")


def evaluate(results: dict[str, Any], size: int, cores: int, other_sizes: dict[int, dict[str, Any]],
             growth_rows: list[GrowthRow] | None = None, growth_source: str = "no run at a second size") \
        -> Judgement:
    """One Verdict per target row of the issue, in the issue's order, with every comparison and the growth."""
    j = Judge(results, size, cores)
    out = [j.import_csv(), j.landing_checks(), j.export_stix(), j.bundle_export(), j.verify_quick(),
           j.verify_deep(), j.import_peer(),
           j.latency("search", 0.120, "ref-lookup", "python + one indexed sqlite3 lookup"),
           j.latency("status", 0.120, "ref-python", "python -c pass"),
           j.latency("status-tiny", 0.150, "ref-python", "python -c pass"),
           j.latency("help", 0.080, "ref-python", "python -c pass")]
    j.misp_stix()
    memory = j.memory(other_sizes)
    if memory:
        out.append(memory)
    out.append(growth_verdict(growth_rows or [], growth_source))
    return Judgement(out, j.comparisons, growth_rows or [])
