"""`make bench`: time `cbm` on a national-scale feed, beside its references and the machine's floors.

Generates a synthetic two-party feed (``--size`` indicators, default 100k; ``--size 1000000`` for the full run)
and a MISP event, then runs each step as a whole `cbm` process, as an operator would, recording wall time, CPU
time (user+sys of the process and the workers it reaped, from ``os.wait4``) and peak memory: the peak of the RSS
summed over the process and all its descendants, sampled from /proc, beside the largest single process. The
references (``bench/references.py``: stix2, misp-stix, the landing checks alone, sqlite3, PyNaCl, orjson,
minisign) run as processes too, on the same data, in the same run. Each `cbm` figure is compared with its
reference in wall and in CPU time and checked against the targets of issue #20 (for 1M indicators; pro rata
below 1M, fixed for latency and memory); at 1M the `cbm` steps also run at 100k first, for the per-row growth.

Progress goes to stderr, the report tables to stdout; the report is written as Markdown and JSON to ``--out``
(default ``bench/results/``: ``latest.md``, ``latest.json`` and ``by-size/<size>.json``).

Usage:  python bench/run.py [--size N] [--growth-size N] [--misp-max N] [--out DIR] [--workdir DIR --keep]
                            [--profile STEP[,STEP]]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (bench/ is not a package: it sits beside the code it measures)
import probe  # noqa: E402
from verdicts import FULL, Judgement, evaluate, growth, peak_mb  # noqa: E402

MB = 1024 * 1024
SCHEMA = "cbm.bench/1"


# -- running one process ---------------------------------------------------------------------------------

@dataclass
class Run:
    """One child process: what it cost and what it said."""

    argv: list[str]
    exit_code: int | None
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    others_cores: float | None  # CPU the rest of the machine used meanwhile, in cores (concurrent load)
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    peak_sum_mb: float = 0.0  # peak of the summed RSS of the process and all its descendants (sampled)
    processes: int = 1  # the most processes of the tree seen at once
    samples: int = 0  # how many times the tree was sampled

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
SAMPLE_S = 0.02  # the tree is sampled every 20 ms (50 Hz); a sample reads a few small /proc files
VALIDATE_SAMPLE = 1000  # exported indicators the OASIS validator checks (with up to 200 other objects)
# Runs of each verify step and of each floor it is judged against, measured one after the other (medians)
VERIFY_RUNS = 3
# Runs of the peer's import (each into a fresh copy of RU's store as it was before) and of its sqlite3 floor
PEER_IMPORT_RUNS = 3
# Before each timed run: every dirty page written out and the kernel's dirty + writeback pages below this, so a
# step is never charged with flushing what an earlier one wrote (ADR 0274); waited for at most SETTLE_TIMEOUT_S
SETTLED_KB = 16 * 1024
SETTLE_TIMEOUT_S = 5.0  # sync itself waits for the writeback it starts; beyond that only others are writing


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (every thread's list, /proc/PID/task/TID/children), or [] once gone."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(resident set size, its high-water mark since exec) of one process in bytes, from /proc/PID/status;
    (0, 0) once it is gone or a zombie."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
                elif line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                    break  # VmRSS follows VmHWM
    except (OSError, ValueError, IndexError):
        return 0, 0
    return rss, hwm


def tree_memory(root: int) -> tuple[int, int, int]:
    """(summed RSS in bytes, the largest single high-water mark in bytes, number of processes) of ``root``
    and all its descendants, right now."""
    total = largest = count = 0
    todo = [root]
    seen: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        rss, hwm = _memory(pid)
        if rss:
            total += rss
            largest = max(largest, hwm)
            count += 1
        todo.extend(_children(pid))
    return total, largest, count


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree every ``SAMPLE_S`` until stopped; keeps the peak of the sum
    (a command's memory is all its processes': cbm's import forks a reader, deep verify runs workers)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.largest = 0  # the largest single process's own high-water mark (VmHWM)
        self.processes = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while True:
            total, largest, count = tree_memory(self.root)
            if count:
                self.samples += 1
                self.peak = max(self.peak, total)
                self.largest = max(self.largest, largest)
                self.processes = max(self.processes, count)
            if self.halt.wait(SAMPLE_S):
                return


def _machine_busy_s() -> float | None:
    """Seconds of CPU the whole machine has spent busy since boot (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
    except OSError:
        return None
    ticks = [int(x) for x in parts[1:]]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def unwritten_kb() -> int:
    """The kernel's dirty and under-writeback page cache, in kB (/proc/meminfo); 0 where it cannot be read."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return sum(int(fields[key].split()[0]) for key in ("Dirty", "Writeback"))
    except (OSError, KeyError, ValueError):
        return 0


def settle_page_cache(timeout: float = SETTLE_TIMEOUT_S) -> float:
    """Write every dirty page of the machine out (``sync``) and wait until less than ``SETTLED_KB`` are dirty or
    under writeback, or ``timeout`` seconds have passed; returns the seconds it took. Cached reads stay cached:
    what a step reads warm (the bundle it was just handed) stays warm, for steps and references alike."""
    start = time.perf_counter()
    os.sync()
    while unwritten_kb() >= SETTLED_KB and time.perf_counter() - start < timeout:
        time.sleep(0.05)
    return time.perf_counter() - start


def run_process(argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, timeout: float,
                stdin: Path | None = None) -> Run:
    """Run ``argv`` to completion and measure it with ``os.wait4`` (the child's own rusage).

    stdout and stderr go to files (no pipe can fill up and stall the child); a timer kills the child's
    process group after ``timeout`` seconds.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    with out_path.open("wb") as out, err_path.open("wb") as err, \
            (stdin.open("rb") if stdin else open(os.devnull, "rb")) as inp:
        busy0 = _machine_busy_s()
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdin=inp, stdout=out, stderr=err, cwd=cwd, env=env,
                                start_new_session=True)
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            sampler.halt.set()
            sampler.join()
        wall = time.perf_counter() - start
        busy1 = _machine_busy_s()
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
    cpu = usage.ru_utime + usage.ru_stime
    others = None
    if busy0 is not None and busy1 is not None and wall > 0.5:
        others = max(0.0, (busy1 - busy0 - cpu) / wall)
    # The largest single process: its own VmHWM, exact once sampled after its peak. Not wait4's ru_maxrss: Linux
    # carries the pre-exec memory of the forked runner into it (a `python -c pass` of 9 MB showed 34 MB).
    largest = sampler.largest / MB if sampler.samples else usage.ru_maxrss / 1024
    # a sample can miss a short peak of the sum, and the sum is never below the largest single process
    summed = max(sampler.peak / MB, largest)
    return Run(list(argv), proc.returncode, wall, usage.ru_utime, usage.ru_stime, largest,
               others, fired.is_set(), out_path.read_text("utf-8", "replace"),
               err_path.read_text("utf-8", "replace"), summed, max(1, sampler.processes), sampler.samples)


# -- steps and references --------------------------------------------------------------------------------

@dataclass
class Result:
    """A measured step or reference, as it goes into the report."""

    name: str
    title: str
    kind: str  # "cbm" | "reference" | "setup"
    status: str  # ok | failed | not available | timeout
    command: str = ""
    wall_s: float | None = None
    cpu_s: float | None = None
    maxrss_mb: float | None = None
    others_cores: float | None = None
    runs: int = 0
    wall_min_s: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    peak_sum_mb: float | None = None  # peak of the summed RSS over the command's processes (sampled)
    processes: int | None = None  # the most processes the command ran at once
    user_s: float | None = None  # median user CPU of the runs (cpu_s is the median of user + sys)
    sys_s: float | None = None  # median system CPU of the runs: the kernel's share (I/O, page faults, fsync)
    settle_s: float | None = None  # the longest wait, before a run, for the page cache to settle (untimed)


class Bench:
    def __init__(self, args: argparse.Namespace, *, size: int | None = None, work: Path | None = None,
                 cbm_only: bool = False) -> None:
        """``cbm_only``: the growth run at a second size: the throughput steps and `--help` (the start-up that
        per-row costs leave out), no references, no latency or encrypted steps."""
        self.args = args
        self.size: int = size or args.size
        self.work: Path = work or args.workdir
        self.cbm_only = cbm_only
        self.cbm: list[str] = [str(args.cbm)]
        self.python = str(Path(args.cbm).with_name("python")) if Path(args.cbm).with_name("python").exists() \
            else sys.executable
        self.results: dict[str, Result] = {}
        self.t0 = time.perf_counter()
        self._available: dict[tuple[str, ...], bool] = {}
        self._help: dict[tuple[str, ...], str] = {}
        self.env = self._environment()
        self.profile = set(filter(None, (args.profile or "").split(",")))

    # -- plumbing --

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CBM_")}
        home = self.work / "home"
        home.mkdir(parents=True, exist_ok=True)
        env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), COLUMNS="120", LC_ALL="C.UTF-8",
                   PYTHONHASHSEED="0")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def progress(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {text}", file=sys.stderr, flush=True)

    def help_text(self, *words: str) -> str | None:
        """``cbm WORDS --help`` output, or None when that command does not exist (yet)."""
        if words not in self._help:
            run = run_process([*self.cbm, *words, "--help"], env=self.env, cwd=self.work,
                              log=self.work / "logs" / ("help-" + "-".join(words)), timeout=60)
            ok = run.exit_code == 0 and "not available yet" not in run.stdout.lower()
            self._help[words] = run.stdout if ok else ""
            self._available[words] = ok
        return self._help[words] if self._available[words] else None

    def has_option(self, words: tuple[str, ...], option: str) -> bool:
        text = self.help_text(*words) or ""
        return option in text

    def store(self, party: str) -> list[str]:
        return ["--store", str(self.work / party.lower())]

    def record(self, result: Result) -> Result:
        self.results[result.name] = result
        if result.status == "ok":
            extra = f", {result.runs} runs, min {result.wall_min_s:.3f} s" if result.runs > 1 else ""
            self.progress(f"{result.name}: {result.wall_s:.3f} s wall, {result.cpu_s:.2f} s CPU, "
                          f"{result.peak_sum_mb or 0:.0f} MB peak over {result.processes} process(es) "
                          f"(largest single {result.maxrss_mb:.0f} MB){extra}")
        else:
            self.progress(f"{result.name}: {result.status}" + (f" ({result.note})" if result.note else ""))
        return result

    def measure(self, name: str, title: str, argv: list[str], *, kind: str = "cbm", repeat: int = 1,
                command: str | None = None, needs: Sequence[str] = (), words: tuple[str, ...] = (),
                stdin: Path | None = None, parse_json: bool = False, timeout: float | None = None,
                before_run: Callable[[int], None] | None = None) -> Result:
        """Run a step (``repeat`` times, reporting the median wall time and the median CPU time) and record it;
        killed after ``timeout`` seconds (default ``--timeout``). ``before_run(i)`` prepares run ``i`` (untimed,
        before the page cache settles): a step that changes its store gets the same store each time."""
        timeout = timeout or self.args.timeout
        shown = command or " ".join(_short(a, self.work) for a in
                                    (["cbm", *argv[len(self.cbm):]] if kind == "cbm" else argv))
        for need in needs:
            dep = self.results.get(need)
            if dep is None or dep.status != "ok":
                why = f"needs `{need}`, which is {dep.status if dep else 'not run'}"
                return self.record(Result(name, title, kind, "not available", shown, note=why))
        if words and self.help_text(*words) is None:
            return self.record(Result(name, title, kind, "not available", shown,
                                      note=f"`cbm {' '.join(words)}` does not exist in this build"))
        self.progress(f"{name}: {shown}")
        profiled = kind == "cbm" and name in self.profile
        if profiled:
            out = self.args.out / "profiles" / f"{name}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            argv = [self.python, "-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(out),
                    str(self.args.cbm), *argv[len(self.cbm):]]
        runs: list[Run] = []
        settled: list[float] = []
        for i in range(repeat):
            if before_run is not None:
                before_run(i)
            settled.append(settle_page_cache())
            run = run_process(argv, env=self.env, cwd=self.work, log=self.work / "logs" / f"{name}-{i}",
                              timeout=timeout)
            runs.append(run)
            if run.exit_code != 0:
                break
        last = runs[-1]
        if last.timed_out:
            return self.record(Result(name, title, kind, "timeout", shown, wall_s=last.wall_s,
                                      note=f"killed after {timeout:.0f} s"))
        if last.exit_code != 0:
            tail = (last.stderr.strip().splitlines() or ["(no message)"])[-1][:300]
            return self.record(Result(name, title, kind, "failed", shown, wall_s=last.wall_s,
                                      note=f"exit {last.exit_code}: {tail}"))
        ordered = sorted(runs, key=lambda r: r.wall_s)
        median = ordered[len(ordered) // 2]
        cpu = statistics.median(r.cpu_s for r in runs)  # the median of each: a step judged on CPU gets its own
        detail: dict[str, Any] = {}
        if parse_json:
            try:
                detail = json.loads(median.stdout)
            except ValueError:
                detail = {"stdout": median.stdout[-2000:]}
        result = Result(name, title, kind, "ok", shown, median.wall_s, cpu,
                        max(r.maxrss_mb for r in runs), median.others_cores, len(runs), ordered[0].wall_s,
                        detail, note="profiled under pyinstrument: times include its overhead" if profiled
                        else "", peak_sum_mb=max(r.peak_sum_mb for r in runs),
                        processes=max(r.processes for r in runs),
                        user_s=statistics.median(r.user_s for r in runs),
                        sys_s=statistics.median(r.sys_s for r in runs), settle_s=max(settled))
        return self.record(result)

    def reference(self, name: str, title: str, args: list[str], *, repeat: int = 1,
                  needs: Sequence[str] = (), slow: bool = False) -> Result:
        """Run a reference; ``slow`` ones (stix2, misp-stix: minutes at 100k) get three times ``--timeout``."""
        argv = [self.python, str(HERE / "references.py"), *args]
        return self.measure(name, title, argv, kind="reference", repeat=repeat, needs=needs, parse_json=True,
                            command="references.py " + " ".join(_short(a, self.work) for a in args),
                            timeout=self.args.timeout * 3 if slow else None)

    # -- the run --

    def setup(self) -> None:
        self.progress(f"generating a {self.size:,}-indicator feed (and the peer's) in {self.work}")
        t = time.perf_counter()
        self.feeds = generate.generate(self.work / "feeds", self.size, self.args.seed)
        self.progress(f"feeds ready in {time.perf_counter() - t:.1f} s "
                      f"({self.feeds['US'].stat().st_size / MB:.1f} MB CSV)")
        with self.feeds["RU"].open() as f:
            f.readline()
            self.search_value = f.readline().split(",")[1]  # the RU feed starts with values US also reports
        keyring = self.work / "keyring"
        keyring.mkdir(exist_ok=True)
        fingerprints = {}
        for party, name in (("US", "US-CERT"), ("RU", "RU-CERT")):
            self._setup_call([*self.store(party), "init", "--party", party, "--name", name, "--no-passphrase"])
            card = keyring / f"{party.lower()}.card"
            self._setup_call([*self.store(party), "keys", "export", "-o", str(card)])
            show = self._setup_call([*self.store(party), "keys", "show", "--json"])
            fingerprints[party] = json.loads(show)["fingerprint"]
        self._setup_call([*self.store("US"), "keys", "import", str(keyring / "ru.card"),
                          "--fingerprint", fingerprints["RU"]])
        self._setup_call([*self.store("RU"), "keys", "import", str(keyring / "us.card"),
                          "--fingerprint", fingerprints["US"]])

    def _setup_call(self, args: list[str]) -> str:
        run = run_process([*self.cbm, *args], env=self.env, cwd=self.work,
                          log=self.work / "logs" / "setup", timeout=120)
        if run.exit_code != 0:
            raise SystemExit(f"bench: setup failed: cbm {' '.join(args)}: {run.stderr.strip()}")
        return run.stdout

    def json_flag(self, words: tuple[str, ...]) -> list[str]:
        return ["--json"] if self.has_option(words, "--json") else []

    def steps(self) -> None:
        w = self.work
        imp = ("indicators", "import")
        # before any import: the store an operator has on day one (issue 16: under 150 ms)
        if not self.cbm_only:
            self.measure("status-tiny", "`cbm status` on a tiny store (US: keys only)",
                         [*self.cbm, *self.store("US"), "status"], repeat=self.args.repeat)
        # As an operator runs it: the human summary (its --json lists every new id, 1M of them at 1M).
        self.measure("import", "import from CSV (US, national feed)",
                     [*self.cbm, *self.store("US"), "indicators", "import", str(self.feeds["US"])], words=imp)
        self.stats("import", "US")
        self.second_feed_import()
        self.same_feed_import()
        self.measure("import-peer-feed", "import the peer's own feed (RU, 5 %; setup, no target)",
                     [*self.cbm, *self.store("RU"), "indicators", "import", str(self.feeds["RU"])], words=imp)
        stix = w / "us.stix.json"
        self.measure("export-stix", "export as a STIX 2.1 bundle",
                     [*self.cbm, *self.store("US"), "indicators", "export", "--format", "stix", "-o", str(stix)],
                     words=("indicators", "export"), needs=["import"])
        if self.results["export-stix"].status == "ok":
            self.results["export-stix"].detail["bytes"] = stix.stat().st_size
        if self.results["export-stix"].status == "ok" and not self.cbm_only:
            check = self.reference("check-stix", "STIX bundle check (object count, OASIS validator sample)",
                                   ["check-stix", str(stix), "--sample", str(self.args.validate_sample)])
            if check.status == "ok":
                self.results["export-stix"].detail["check"] = check.detail
        bundle = w / "us-to-ru.cbm"
        # the targets are for the plain bundle; the feed is mostly above TLP:CLEAR, so export would encrypt it
        plain = ["--no-encrypt"] if self.has_option(("bundle", "export"), "--no-encrypt") else []
        self.measure("bundle-export", "bundle export to the peer" + (" (plain: --no-encrypt)" if plain else ""),
                     [*self.cbm, *self.store("US"), "bundle", "export", "--to", "RU", "-o", str(bundle), *plain],
                     words=("bundle", "export"), needs=["import"])
        if self.results["bundle-export"].status == "ok":
            self.results["bundle-export"].detail["bytes"] = bundle.stat().st_size
        verify = ("bundle", "verify")
        keyring = ["--keyring", str(w / "keyring")]
        self.measure("verify-quick", "quick verify (manifest, hashes, chains)",
                     [*self.cbm, "bundle", "verify", str(bundle), *keyring, *self.json_flag(verify)],
                     words=verify, needs=["bundle-export"], parse_json=True, repeat=VERIFY_RUNS)
        self.measure("verify-deep", "deep verify (every signature, all cores)",
                     [*self.cbm, "bundle", "verify", str(bundle), "--deep", *keyring, *self.json_flag(verify)],
                     words=verify, needs=["bundle-export"], parse_json=True, repeat=VERIFY_RUNS)
        if not self.cbm_only:
            self.bundle_floors(bundle)
            self.sqlite_floor()
        self.twin_peer()
        self.measure("import-peer", "import at the peer (RU)",
                     [*self.cbm, *self.store("RU"), "bundle", "import", str(bundle),
                      *self.json_flag(("bundle", "import"))],
                     words=("bundle", "import"), needs=["bundle-export"], parse_json=True,
                     repeat=PEER_IMPORT_RUNS, before_run=self.fresh_peer)
        self.stats("import-peer", "RU")
        if self.cbm_only:
            self.measure("help", "`cbm --help`", [*self.cbm, "--help"], repeat=self.args.repeat)
            return
        self.encrypted_steps()
        fullest = "RU" if self.results["import-peer"].status == "ok" else "US"
        self.full_store = fullest
        search = ("indicators", "search")
        self.measure("search", f"search by value on the full store ({fullest})",
                     [*self.cbm, *self.store(fullest), "indicators", "search", self.search_value,
                      *self.json_flag(search)],
                     words=search, needs=["import"], repeat=self.args.repeat, parse_json=True)
        self.measure("status", f"`cbm status` on the full store ({fullest})",
                     [*self.cbm, *self.store(fullest), "status"], repeat=self.args.repeat)
        self.measure("help", "`cbm --help`", [*self.cbm, "--help"], repeat=self.args.repeat)

    def second_feed_import(self) -> None:
        """The next day's national feed, all new ids, into a copy of the store holding the first (issue 20: the
        bulk path with the filters seeded by what the store holds, docs/adr/0280). A copy, taken untimed before
        the run, so the steps after it see the store the first import left; no target yet."""
        if self.results.get("import") is None or self.results["import"].status != "ok":
            return
        feed = self.work / "feeds" / "us-feed-2.csv"
        self.progress(f"generating a second {self.size:,}-indicator US feed")
        generate.write_feed(feed, generate.rows(self.size, seed=self.args.seed, party_salt=7, base_day=80))
        store = self.work / "us-second"

        def copy(run: int) -> None:
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(self.work / "us", store)

        try:
            self.measure("import-second-feed", "import a second, different feed into the store holding the first "
                         "(US, a copy; no target)",
                         [*self.cbm, "--store", str(store), "indicators", "import", str(feed)],
                         words=("indicators", "import"), needs=["import"], before_run=copy)
        finally:
            shutil.rmtree(store, ignore_errors=True)
            feed.unlink(missing_ok=True)

    def same_feed_import(self) -> None:
        """The same national feed again, into a copy of the store holding it (issue 20: the daily re-import, every
        row unchanged, skipped by its digest, docs/adr/0292). A copy, taken untimed before each run, as for
        import-second-feed; no target yet."""
        if self.results.get("import") is None or self.results["import"].status != "ok":
            return
        store = self.work / "us-same"

        def copy(run: int) -> None:
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(self.work / "us", store)

        try:
            self.measure("import-same-feed", "import the same feed again into the store holding it "
                         "(US, a copy; no target)",
                         [*self.cbm, "--store", str(store), "indicators", "import", str(self.feeds["US"])],
                         words=("indicators", "import"), needs=["import"], before_run=copy)
        finally:
            shutil.rmtree(store, ignore_errors=True)

    def encrypted_steps(self) -> None:
        """The same bundle as the default export makes it (encrypted: the feed is mostly above TLP:CLEAR):
        export, the CI's outer check without the key, and import into RU's twin (a copy of RU's store taken
        before the plain import, same keys). No targets: the report shows the cost beside the plain steps."""
        w = self.work
        export = ("bundle", "export")
        enc = w / "us-to-ru.enc.cbm"
        if not self.has_option(export, "--no-encrypt"):  # a build without confidential-by-default
            for name in ("bundle-export-encrypted", "verify-encrypted-outer", "import-peer-encrypted"):
                self.record(Result(name, name, "cbm", "not available", "",
                                   note="this build has no encryption by default"))
            return
        self.measure("bundle-export-encrypted", "bundle export to the peer, encrypted (the default)",
                     [*self.cbm, *self.store("US"), "bundle", "export", "--to", "RU", "-o", str(enc), "--json"],
                     words=export, needs=["import"], parse_json=True)
        if self.results["bundle-export-encrypted"].status == "ok":
            self.results["bundle-export-encrypted"].detail["bytes"] = enc.stat().st_size
        verify = ("bundle", "verify")
        self.measure("verify-encrypted-outer", "verify an encrypted bundle without its key (outer layer: CI)",
                     [*self.cbm, "bundle", "verify", str(enc), "--keyring", str(w / "keyring"), "--json"],
                     words=verify, needs=["bundle-export-encrypted"], parse_json=True)
        self.measure("import-peer-encrypted", "import the encrypted bundle at the peer (RU's twin)",
                     [*self.cbm, *self.store("RU-twin"), "bundle", "import", str(enc), "--json"],
                     words=("bundle", "import"), needs=["bundle-export-encrypted"], parse_json=True)

    def twin_peer(self) -> None:
        """Untimed: copy RU's store (keys and its own feed) before the plain import, for the encrypted import."""
        src, dst = self.work / "ru", self.work / "ru-twin"
        if src.is_dir() and not dst.exists():
            shutil.copytree(src, dst)

    def fresh_peer(self, run: int) -> None:
        """Untimed, before each run of the peer's import: RU's store as it was before the import (its twin's
        copy), so that every run lands the same bundle into the same store."""
        src, dst = self.work / "ru-twin", self.work / "ru"
        if src.is_dir():
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)

    def misp(self) -> None:
        """Side by side with misp-stix: one MISP event of min(size, --misp-max) attributes converted to STIX 2.1
        by MISP's own converter, and by `cbm` as two processes (import the event into a fresh store, export it
        as STIX). Whole processes on both sides, start-up included."""
        count = min(self.size, self.args.misp_max)
        if count < 1:
            return
        event = self.work / "feeds" / "event.misp.json"
        self.progress(f"generating a MISP event of {count:,} attributes")
        generate.misp_event(event, count, self.args.seed)
        self._setup_call([*self.store("EU"), "init", "--party", "EU", "--name", "EU-CERT", "--no-passphrase"])
        imp = self.measure("misp-import", f"import a MISP event of {count:,} attributes (EU, fresh store)",
                           [*self.cbm, *self.store("EU"), "indicators", "import", str(event), "--format", "misp"],
                           words=("indicators", "import"))
        if imp.status == "ok":
            imp.detail["attributes"] = count
            self.stats("misp-import", "EU")
        stix = self.work / "eu.stix.json"
        exp = self.measure("misp-export", "export that store as a STIX 2.1 bundle (EU)",
                           [*self.cbm, *self.store("EU"), "indicators", "export", "--format", "stix", "-o",
                            str(stix)], words=("indicators", "export"), needs=["misp-import"])
        if exp.status == "ok":
            exp.detail["bytes"] = stix.stat().st_size
        self.reference("ref-misp-stix", f"misp-stix MISPtoSTIX21Parser: the same event to STIX 2.1 ({count:,} "
                                        "attributes)",
                       ["misp-stix", str(event), "--out", str(self.work / "ref.misp-stix.json")], slow=True)

    def taxii(self) -> None:
        """Opt-in (--taxii): a fresh store (FR) pulls the full store's TLP:GREEN collection from a real `cbm taxii
        serve` on loopback, pages of 1000: cbm's own TAXII throughput, server and client, with the import."""
        if not self.args.taxii:
            return
        words = ("taxii", "serve")
        full = getattr(self, "full_store", "US")
        if self.help_text(*words) is None or self.results.get("import", Result("", "", "", "")).status != "ok":
            self.record(Result("taxii-pull", "TAXII pull from `cbm taxii serve`", "cbm", "not available", "",
                               note="needs `cbm taxii serve` and the import step"))
            return
        from cbm.taxii.server import collection_id

        password = self.work / "taxii.pw"
        password.write_text("bench-taxii-password\n")
        self._setup_call([*self.store(full), "taxii", "user", "add", "bench", "--password-file", str(password)])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([*self.cbm, *self.store(full), "taxii", "serve", "--bind", f"127.0.0.1:{port}"],
                                  env=self.env, cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().decode().strip()
            self._setup_call([*self.store("FR"), "init", "--party", "FR", "--name", "FR-CERT", "--no-passphrase"])
            self._setup_call([*self.store("FR"), "taxii", "add", "full", url, "--api-root", "/cbm/", "--collection",
                              collection_id("GREEN"), "--user", "bench", "--password-file", str(password)])
            result = self.measure("taxii-pull", f"TAXII pull of {full}'s TLP:GREEN collection from `cbm taxii "
                                                "serve` into a fresh store (FR), pages of 1000",
                                  [*self.cbm, *self.store("FR"), "indicators", "pull", "full", "--json"],
                                  words=("indicators", "pull"), parse_json=True)
            if result.status == "ok":
                objects = int(result.detail.get("objects", 0))
                result.detail = {k: result.detail.get(k) for k in ("objects", "pages", "created", "records")}
                result.detail["objects_per_s"] = round(objects / result.wall_s) if result.wall_s else None
                result.detail["server_cpu_s"] = _process_cpu_s(server.pid)
                self.progress(f"taxii-pull: {objects:,} objects, {result.detail['objects_per_s']:,} objects/s; "
                              f"server CPU {result.detail['server_cpu_s']} s")
        finally:
            server.terminate()
            server.wait(timeout=30)

    def stats(self, step: str, party: str) -> None:
        """Untimed: `cbm indicators stats --json` after a step, so the report shows what the store holds."""
        result = self.results.get(step)
        if result is None or result.status != "ok" or self.help_text("indicators", "stats") is None:
            return
        run = run_process([*self.cbm, *self.store(party), "indicators", "stats", "--json"], env=self.env,
                          cwd=self.work, log=self.work / "logs" / f"stats-{step}", timeout=self.args.timeout)
        try:
            doc = json.loads(run.stdout)
        except ValueError:
            return
        result.detail["store_after"] = {k: doc.get(k) for k in ("total", "active", "by_party", "by_tlp", "by_type")}

    def bundle_floors(self, bundle: Path) -> None:
        """The floors the verify steps (and the peer's import) are judged against, measured right after the
        verify steps, each the median of ``VERIFY_RUNS`` runs as they are: a floor measured minutes later, after
        other work, on a machine whose speed drifts, is not the same machine (docs/adr/0232)."""
        if self.results["bundle-export"].status == "ok":
            self.reference("ref-parse", "JSON parse floor of the bundle (orjson per line)", ["parse", str(bundle)],
                           repeat=VERIFY_RUNS)
            self.minisign(bundle)
        else:
            self.record(Result("ref-parse", "JSON parse floor of the bundle", "reference", "not available",
                               note="no bundle file: `cbm bundle export` not available"))
            self.record(Result("ref-minisign", "`minisign -Vm` on the bundle (hashing floor)", "reference",
                               "not available", note="no bundle file: `cbm bundle export` not available"))
        count, size = self._signature_workload()
        self.reference("ref-signatures", f"bare pynacl loop, {count:,} Ed25519 verifications, one core",
                       ["signatures", "--count", str(count), "--message-bytes", str(size)], repeat=VERIFY_RUNS)

    def sqlite_floor(self) -> None:
        """The bare sqlite3 insert, the largest part of the peer's import floor (and the CSV import's reference),
        measured right before the peer's import with the bundle floors, not at the end of the bench after the
        MISP and stix2 references: the machine's speed drifts over minutes (ADR 0274, as ADR 0232 for verify)."""
        self.reference("ref-sqlite", "bare sqlite3 insert of the same rows (WAL, FULL sync, one txn)",
                       ["sqlite", str(self.feeds["US"]), "--db", str(self.work / "ref.sqlite")],
                       repeat=PEER_IMPORT_RUNS)

    def references(self) -> None:
        w = self.work
        self.reference("ref-lookup", "python start + one indexed sqlite3 lookup (search floor)",
                       ["lookup", str(w / "ref.sqlite"), self.search_value], repeat=self.args.repeat,
                       needs=["ref-sqlite"])
        self.measure("ref-python", "bare `python -c pass` (start-up floor)", [self.python, "-c", "pass"],
                     kind="reference", repeat=self.args.repeat, command="python -c pass")
        self.reference("ref-encode", "json / orjson encoding of the same records as STIX dicts",
                       ["encode", str(self.feeds["US"])])
        self.reference("ref-checks", "landing checks alone: cbm's own checker (US's settings and warninglists) "
                                     "over the feed's rows", ["checks", str(self.feeds["US"]), "--store",
                                                             str(w / "us")])
        limit = min(self.size, self.args.stix2_max)
        if self.args.stix2_from and self.reuse_stix2(self.args.stix2_from, limit):
            return
        self.reference("ref-stix2", f"stix2 objects: build, serialise, parse back ({limit:,} indicators)",
                       ["stix2", str(self.feeds["US"]), "--limit", str(limit), "--out", str(w / "ref.stix2.json")],
                       slow=True)

    def reuse_stix2(self, path: Path, limit: int) -> bool:
        """Take the stix2 reference from a kept report on the same rows (same seed, same first ``limit`` rows:
        the generator is sequential, so a bigger feed starts with the smaller one)."""
        try:
            kept = json.loads(path.read_text("utf-8"))
            old = next(r for r in kept["results"] if r["name"] == "ref-stix2")
        except (OSError, ValueError, KeyError, StopIteration) as e:
            self.progress(f"ref-stix2: cannot reuse {path} ({e}); measuring it")
            return False
        if kept.get("seed") != self.args.seed or old.get("status") != "ok" or old["detail"].get("rows") != limit:
            self.progress(f"ref-stix2: {path} measured other rows; measuring it")
            return False
        if not str(old.get("note", "")).startswith("reused from"):  # keep where it was really measured
            old["note"] = (f"reused from the run of {kept.get('started')} on the same {limit:,} rows "
                           f"(--stix2-from {path.name})")
        self.record(Result(**old))
        return True

    def _signature_workload(self) -> tuple[int, int]:
        """How many signatures deep verify checks (records in the bundle) and their mean message size."""
        parse = self.results.get("ref-parse")
        deep = self.results.get("verify-deep")
        count = None
        if deep is not None and deep.status == "ok":
            count = _find_count(deep.detail)
        if parse is not None and parse.status == "ok":
            envelopes = parse.detail.get("record_envelopes") or 0
            size = int(parse.detail.get("mean_record_payload_bytes") or 700)
            return int(count or envelopes or self.size), max(64, size)
        return int(count or self.size), 700

    def minisign(self, bundle: Path) -> None:
        """`minisign -Vm` on the bundle: with cbm's own detached signature and key when present."""
        binary = shutil.which("minisign")
        if binary is None:
            self.record(Result("ref-minisign", "`minisign -Vm` on the bundle", "reference", "not available",
                               note="minisign is not installed (`make tools`)"))
            return
        sig = Path(str(bundle) + ".minisig")
        pub = self.work / "us.minisign.pub"
        source = "cbm's detached signature and `cbm keys export --format minisign`"
        if not (sig.exists() and self._cbm_minisign_key(pub)):
            source = "a key made for the bench (`minisign -G -W`), bundle signed with `minisign -S`"
            key = self.work / "bench.minisign.key"
            pub.unlink(missing_ok=True)
            key.unlink(missing_ok=True)
            sig = self.work / "bench.minisig"
            for argv in ([binary, "-G", "-W", "-p", str(pub), "-s", str(key)],
                         [binary, "-S", "-s", str(key), "-m", str(bundle), "-x", str(sig)]):
                run = run_process(argv, env=self.env, cwd=self.work, log=self.work / "logs" / "minisign-setup",
                                  timeout=300)
                if run.exit_code != 0:
                    self.record(Result("ref-minisign", "`minisign -Vm` on the bundle", "reference", "failed",
                                       note=run.stderr.strip()[-300:]))
                    return
        result = self.measure("ref-minisign", "`minisign -Vm` on the bundle (hashing floor)",
                              [binary, "-Vm", str(bundle), "-x", str(sig), "-p", str(pub), "-q"],
                              kind="reference", repeat=VERIFY_RUNS, command="minisign -Vm us-to-ru.cbm -x SIG -p PUB")
        result.detail["signature"] = source

    def _cbm_minisign_key(self, pub: Path) -> bool:
        if not self.has_option(("keys", "export"), "minisign"):
            return False
        run = run_process([*self.cbm, *self.store("US"), "keys", "export", "--format", "minisign", "-o", str(pub)],
                          env=self.env, cwd=self.work, log=self.work / "logs" / "minisign-key", timeout=60)
        return run.exit_code == 0 and pub.exists()


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a running process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return None


def _short(arg: str, work: Path) -> str:
    return arg.replace(str(work) + "/", "")


def _find_count(doc: Any) -> int | None:
    """The number of records a `bundle verify --json` document reports checking, wherever it says it."""
    if isinstance(doc, dict):
        for key in ("signatures_checked", "records", "record_count", "records_checked", "signatures", "count"):
            value = doc.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        for value in doc.values():
            found = _find_count(value)
            if found:
                return found
    return None


# -- the machine and the report -----------------------------------------------------------------------------

def machine(python: str, cbm: str) -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "kernel": platform.release()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
        info["cpu_model"] = models[0] if models else platform.processor()
    except OSError:
        info["cpu_model"] = platform.processor()
    info["cores_online"] = os.cpu_count()
    info["cores_usable"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        info["ram_gb"] = round(int(meminfo["MemTotal"].split()[0]) / 1024 / 1024, 1)
    except (OSError, KeyError, ValueError):
        info["ram_gb"] = None
    versions = subprocess.run(
        [python, "-c", "import sys, sqlite3, importlib.metadata as m\n"
                       "v = {'python': sys.version.split()[0], 'sqlite': sqlite3.sqlite_version}\n"
                       "for p in ('cbm', 'stix2', 'pynacl', 'orjson', 'typer'):\n"
                       "    try: v[p] = m.version(p)\n"
                       "    except m.PackageNotFoundError: v[p] = None\n"
                       "print(__import__('json').dumps(v))"],
        capture_output=True, text=True, check=False)
    try:
        info.update(json.loads(versions.stdout))
    except ValueError:
        info.update(python=platform.python_version(), sqlite=sqlite3.sqlite_version)
    mini = shutil.which("minisign")
    info["minisign"] = subprocess.run([mini, "-v"], capture_output=True, text=True, check=False).stdout.strip() \
        if mini else None
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=False)
    info["commit"] = git.stdout.strip() or None
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "cbm"], capture_output=True,
                           text=True, check=False)
    info["uncommitted_cbm_files"] = len(dirty.stdout.splitlines())
    return info


def invalid_reasons(args: argparse.Namespace, size: int) -> list[str]:
    """Why this run's figures are not the benchmark's (development options), or [] for a valid run."""
    reasons = []
    if args.stix2_from:
        reasons.append(f"the stix2 reference was not measured in this run (--stix2-from {args.stix2_from.name})")
    if args.stix2_max < min(size, 100_000):
        reasons.append(f"the stix2 reference ran on {args.stix2_max:,} rows, not min(size, 100k) (--stix2-max)")
    if 0 < args.misp_max < min(size, 100_000) or (args.misp_max == 0 and size >= 100_000):
        reasons.append(f"the misp-stix comparison ran on {min(size, args.misp_max):,} attributes, not "
                       "min(size, 100k) (--misp-max)")
    if args.validate_sample < VALIDATE_SAMPLE:
        reasons.append(f"the OASIS validator checked {args.validate_sample:,} exported indicators, not "
                       f"{VALIDATE_SAMPLE:,} (--validate-sample)")
    if args.profile:
        reasons.append(f"steps ran under a profiler (--profile {args.profile})")
    return reasons


def load_findings() -> dict[str, dict[str, str]]:
    path = HERE / "findings.toml"
    if not path.exists():
        return {}
    return tomllib.loads(path.read_text("utf-8"))


def misp_section(doc: dict[str, Any]) -> list[str]:
    """Side by side with misp-stix: the same MISP event to STIX 2.1, cbm as two processes against one."""
    res = {r["name"]: r for r in doc["results"]}
    imp, exp, ref = res.get("misp-import"), res.get("misp-export"), res.get("ref-misp-stix")
    if not (imp and exp and ref):
        return []
    lines = ["", "## Side by side: misp-stix", ""]
    if not all(r["status"] == "ok" for r in (imp, exp, ref)):
        return lines + ["Not measured: " + "; ".join(f"{r['name']} {r['status']} {r['note']}".strip()
                                                     for r in (imp, exp, ref) if r["status"] != "ok")]
    wall, cpu = imp["wall_s"] + exp["wall_s"], imp["cpu_s"] + exp["cpu_s"]
    d = ref["detail"]
    lines += [f"One generated MISP event of {d.get('attributes', 0):,} attributes (ip-dst/ip-src, domain/hostname, "
              "url, sha256, md5, sha1, filename|sha256, email-src; TLP and other tags; a fifth carry a "
              "`stix-2.1-malware` galaxy; 5 % `to_ids` false) turned into a STIX 2.1 bundle file. Whole processes "
              "on both sides, interpreter start-up included.", "",
              "| | wall s | CPU s | peak MB | STIX objects written |", "|---|---|---|---|---|",
              f"| misp-stix `MISPtoSTIX21Parser` (one process: load {d['load']['wall_s']:.2f} s, convert "
              f"{d['convert']['wall_s']:.2f} s, serialise {d['serialise']['wall_s']:.2f} s) | {ref['wall_s']:.3f} | "
              f"{ref['cpu_s']:.2f} | {peak_mb(ref):.0f} | {d.get('objects', 0):,} |",
              f"| cbm `indicators import` + `indicators export --format stix` (two processes) | {wall:.3f} | "
              f"{cpu:.2f} | {max(peak_mb(imp), peak_mb(exp)):.0f} | "
              f"{((imp['detail'].get('store_after') or {}).get('total') or 0):,} indicators + context |",
              f"| cbm ÷ misp-stix | ×{wall / ref['wall_s']:.3f} | ×{cpu / max(ref['cpu_s'], 1e-9):.3f} | | |", "",
              "They do not write the same bundle: misp-stix converts every attribute, context ones included "
              "(the objects it wrote, by type: " + ", ".join(f"{k} {v:,}" for k, v in sorted(
                  (d.get("by_type") or {}).items(), key=lambda kv: -kv[1])) + "); cbm imports the IDS "
              "attributes as signed, attributable indicators (context attributes skipped, galaxies kept as related "
              "objects) and exports those."]
    return lines


def growth_section(doc: dict[str, Any]) -> list[str]:
    g = doc.get("growth") or {}
    rows = g.get("rows") or []
    lines = ["", "## Growth: cost per row at two sizes", ""]
    if not rows:
        return lines + [f"Not measured: {g.get('source', 'no second size')}."]
    small, large = rows[0]["small"], rows[0]["large"]
    lines += [f"µs per indicator at {small:,} and {large:,} ({g['source']}), the start-up of one `cbm` process "
              "(`cbm --help` of the same run) taken out; a step whose per-row cost grows by more than 20 % in "
              "CPU time, or in wall time where other work used under 0.5 cores during both runs, is flagged "
              "superlinear (\"loaded\": wall growth shown, not judged).", "",
              f"| step | wall µs/row at {small:,} | at {large:,} | growth | CPU µs/row at {small:,} | at {large:,} | "
              "growth | flag |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        w, c = r["wall_us_per_row"], r["cpu_us_per_row"]
        flag = "**superlinear**" if r["superlinear"] else "loaded" if r.get("loaded") else "—"
        lines.append(f"| {r['step']} | {w[0]:.2f} | {w[1]:.2f} | {r['wall_growth']:+.0%} | {c[0]:.2f} | {c[1]:.2f} | "
                     f"{r['cpu_growth']:+.0%} | {flag} |")
    return lines


def fmt(value: float | None, unit: str = "s", digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [f"# cbm benchmark — {doc['size']:,} indicators", ""]
    if doc.get("invalid"):
        lines += ["**NOT A VALID RUN** — " + "; ".join(doc["invalid"]) + ". Its figures are for development, not "
                  "for the README.", ""]
    lines += [
             f"Run {doc['started']} → {doc['finished']} ({doc['elapsed_s']:.0f} s), commit `{m.get('commit')}`"
             + (f" plus {m['uncommitted_cbm_files']} uncommitted files under cbm/ (work in progress measured as it "
                "stood)." if m.get("uncommitted_cbm_files") else "."),
             "",
             f"Machine: {m['cpu_model']}, {m['cores_usable']} usable cores ({m['cores_online']} online), "
             f"{m['ram_gb']} GB RAM; {m['platform']}; Python {m['python']}, SQLite {m['sqlite']}, "
             f"stix2 {m.get('stix2')}, PyNaCl {m.get('pynacl')}, orjson {m.get('orjson')}, {m.get('minisign')}.",
             "",
             f"Concurrent load: load average {doc['load']['before']} before, {doc['load']['after']} after; "
             f"the rest of the machine used {doc['load']['others_cores_mean']} cores on average during the "
             "timed steps (other engineers' builds and tests share this machine), so wall times are "
             "pessimistic where that is above 0.", ""]
    lines += probe.markdown(doc)
    if doc["size"] < FULL:
        lines += [f"Targets are for 1M indicators: throughput targets are applied pro rata ({doc['size'] / FULL:g}×) "
                  "plus the start-up of one `cbm` process (the measured `cbm --help`); latency and memory targets "
                  "as they are.", ""]
    lines += ["## Targets", "", "| step | target | measured | verdict | reference |", "|---|---|---|---|---|"]
    for v in doc["verdicts"]:
        note = f" ({v['cpu_note']})" if v.get("cpu_note") else ""
        lines.append(f"| {v['step']} | {v['target']} | {v['measured']}{note} | **{v['verdict']}** | "
                     f"{v['reference']} |")
    lines += ["", "## Every step (whole `cbm` processes) and reference", "",
              "| step | status | wall s | CPU s | of which sys s | peak MB (sum of its processes) | "
              "largest single process MB | processes | others' load (cores) | command |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["results"]:
        wall = fmt(r["wall_s"])
        if r["runs"] > 1:
            wall += f" (median of {r['runs']}, min {fmt(r['wall_min_s'])})"
        status = r["status"] + (f": {r['note']}" if r["note"] else "")
        summed = peak_mb(r) if r["status"] == "ok" else None
        lines.append(f"| {r['title']} | {status} | {wall} | {fmt(r['cpu_s'], digits=2)} | "
                     f"{fmt(r.get('sys_s'), digits=2)} | {fmt(summed, digits=0)} | {fmt(r['maxrss_mb'], digits=0)} | "
                     f"{r.get('processes') or '—'} | "
                     f"{fmt(r['others_cores'], digits=2)} | `{r['command'][:140]}` |")
    lines.append("")
    if any(r.get("settle_s") is not None for r in doc["results"]):  # runs made before ADR 0274 did not settle
        settled = max(r.get("settle_s") or 0.0 for r in doc["results"])
        lines += [f"Every run of a step or reference started after `sync`, once the kernel's dirty and "
                  f"under-writeback pages were below {SETTLED_KB // 1024} MB (untimed; the longest wait "
                  f"{settled:.1f} s): no step is charged with writing out what an earlier one wrote.", ""]
    lines += [f"Peak memory is the peak of the RSS summed over the step's process and all its descendants, "
              f"sampled every {doc.get('sampling_s', 0.02) * 1000:.0f} ms from /proc (never below the kernel's "
              "exact high-water mark of the largest single process, shown beside it); pages a forked child "
              "still shares with its parent count twice, so the sum errs high."]
    if doc.get("comparisons"):
        lines += ["", "## Ratios to the references (wall and CPU)", "",
                  "cbm ÷ reference: below 1, cbm is faster. A verdict uses the CPU ratio where the cbm step used "
                  "more than one core (more than one process, or CPU > 1.1 × wall), else the wall ratio "
                  "(\"judged on\").", "",
                  *comparison_table(doc["comparisons"])]
    lines += misp_section(doc)
    lines += growth_section(doc)
    lines += ["", "## Reference phases", ""]
    for r in doc["results"]:
        if r["kind"] == "reference" and r["status"] == "ok" and r["detail"]:
            phases = {k: v for k, v in r["detail"].items() if isinstance(v, dict) and "wall_s" in v}
            facts = {k: v for k, v in r["detail"].items() if not isinstance(v, (dict, list))}
            text = ", ".join(f"{k} {v['wall_s']:.3f} s" for k, v in phases.items())
            lines.append(f"- **{r['title']}**: {text}" + (f" — {facts}" if facts else ""))
    lines += ["", "Deep verify: a deep check does all the quick check's work too; `cbm` batches up to 5,000 "
              "indicators into one signed record, so a bundle carries few, large records and Ed25519 is a small "
              "part of the work. The verdict therefore uses signatures / cores + the quick-verify floor "
              "(minisign + JSON parse); the ratio to the signature loop alone, as the issue words it, is shown "
              "beside it.", "",
              "Notes: the references' phase times exclude interpreter start-up and data loading; the `cbm` "
              "figures are whole processes, so at small sizes the ratios include ~0.2-0.4 s of start-up. "
              "The stix2 reference runs on min(size, 100k) indicators and is extrapolated linearly where "
              "said (its build cost is per object). The pynacl loop cycles through 4,096 distinct signed "
              "messages of the bundle's mean record size (libsodium caches nothing between calls). "
              "The deep-verify floor is that one-core loop divided by the usable cores. The verify steps and "
              f"these floors run one after the other, right after the bundle export, {VERIFY_RUNS} runs each "
              "(medians of wall and of CPU time): the same minutes of the same machine."]
    if doc["findings"]:
        lines += ["", "## Findings (profiles of missed targets)", ""]
        verdict = {v["step"].replace(" ", "-"): v["verdict"] for v in doc["verdicts"]}
        for step, f in doc["findings"].items():
            now = " — *passes in this run; kept for the record*" if verdict.get(step) == "PASS" else ""
            lines.append(f"- **{step}**{now} ({f.get('measured', '')}): {f.get('finding', '')}"
                         + (f" *What would close it:* {f['fix']}" if f.get("fix") else ""))
    return "\n".join(lines) + "\n"


def table(judgement: Judgement, doc: dict[str, Any]) -> str:
    """The targets table and the ratios to the references as Markdown (what stdout carries)."""
    lines = ["| step | verdict | measured | reference |", "|---|---|---|---|"]
    lines += [f"| {v.step} | {v.verdict} | {v.measured}" + (f" ({v.cpu_note})" if v.cpu_note else "")
              + f" | {v.reference} |" for v in judgement.verdicts]
    lines += ["", *comparison_table([c.as_dict() for c in judgement.comparisons])]
    if doc.get("invalid"):
        lines += ["", "NOT A VALID RUN: " + "; ".join(doc["invalid"])]
    return "\n".join(lines)


def comparison_table(comparisons: list[dict[str, Any]]) -> list[str]:
    lines = ["| cbm step | reference | cbm wall / CPU s | reference wall / CPU s | ratio wall | ratio CPU | "
             "cbm cores | judged on |", "|---|---|---|---|---|---|---|---|"]
    for c in comparisons:
        ref = f"{c['reference']}" + (f" ({c['scaled']})" if c["scaled"] else "")
        lines.append(f"| {c['step']} | {ref} | {c['cbm_wall_s']:.3f} / {c['cbm_cpu_s']:.3f} | "
                     f"{c['ref_wall_s']:.3f} / {c['ref_cpu_s']:.3f} | ×{c['wall_ratio']:.2f} | ×{c['cpu_ratio']:.2f} | "
                     f"{c['cbm_cores']:.1f} | {c['judged_on'] or '—'} |")
    return lines


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def growth_source(doc: dict[str, Any], results: dict[str, Result], kept: dict[int, dict[str, Any]]) \
        -> tuple[list[Any], str]:
    """The per-row growth rows and where the second size came from: this invocation's growth run, else a kept
    by-size run of the same commit (a run of other code would not tell this code's growth)."""
    now = {r.name: asdict(r) for r in results.values()}
    run = doc.get("growth_run")
    if run:
        then = {r["name"]: r for r in run["results"]}
        return growth(now, doc["size"], then, int(run["size"])), f"{int(run['size']):,} measured in this invocation"
    commit = doc["machine"].get("commit")
    same = {size: d for size, d in kept.items() if size != doc["size"] and commit
            and d.get("machine", {}).get("commit") == commit and not d.get("machine", {}).get("uncommitted_cbm_files")
            and not doc["machine"].get("uncommitted_cbm_files")}
    if not same:
        return [], "no run at a second size of the same commit (--growth-size N runs one)"
    size = max(same, key=lambda s: abs(s - doc["size"]))
    then = {r["name"]: r for r in same[size]["results"]}
    return (growth(now, doc["size"], then, size),
            f"{size:,} from the kept run of {same[size].get('started')} (bench/results/by-size/, same commit)")


def report(doc: dict[str, Any], results: dict[str, Result], out: Path) -> Judgement:
    """Judge ``results``, add the verdicts, comparisons, growth and findings to ``doc``, write
    latest.md/latest.json/by-size."""
    by_size_dir = out / "by-size"
    other_sizes: dict[int, dict[str, Any]] = {}
    if by_size_dir.is_dir():
        for path in by_size_dir.glob("*.json"):
            try:
                kept = json.loads(path.read_text("utf-8"))
                other_sizes[int(kept["size"])] = kept
            except (ValueError, KeyError, TypeError):
                continue
    if doc.get("growth_run"):  # the same invocation's run at the second size: the fairest base for flatness too
        other_sizes[int(doc["growth_run"]["size"])] = doc["growth_run"]
    stix2 = results.get("ref-stix2")
    if stix2 is not None and stix2.note.startswith(("reused from", "measured in the run of")):
        reason = f"the stix2 reference was not measured in this run ({stix2.note})"
        if not any(r.startswith("the stix2 reference") for r in doc.get("invalid", [])):
            doc["invalid"] = [*doc.get("invalid", []), reason]
    rows, source = growth_source(doc, results, other_sizes)
    judgement = evaluate(results, doc["size"], doc["machine"]["cores_usable"] or 1, other_sizes, rows, source)
    doc["verdicts"] = [asdict(v) for v in judgement.verdicts]
    doc["comparisons"] = [c.as_dict() for c in judgement.comparisons]
    doc["growth"] = {"source": source, "rows": [g.as_dict() for g in judgement.growth]}
    doc["results"] = [asdict(r) for r in results.values()]
    doc["findings"] = load_findings()
    out.mkdir(parents=True, exist_ok=True)
    by_size_dir.mkdir(exist_ok=True)
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    (out / "latest.json").write_text(text, "utf-8")
    (by_size_dir / f"{doc['size']}.json").write_text(text, "utf-8")
    (out / "latest.md").write_text(markdown(doc), "utf-8")
    return judgement


def rerender(path: Path, out: Path, stix2_from: Path | None = None) -> int:
    """Judge a kept JSON report again (current targets and findings) and rewrite the report files; with
    ``stix2_from``, take the stix2 reference from that report (same seed, same rows) instead."""
    try:
        doc = json.loads(path.read_text("utf-8"))
        results = {r["name"]: Result(**r) for r in doc["results"]}
        if stix2_from is not None:
            kept = json.loads(stix2_from.read_text("utf-8"))
            new = next(r for r in kept["results"] if r["name"] == "ref-stix2" and r["status"] == "ok")
            old = results.get("ref-stix2")
            if kept.get("seed") != doc.get("seed") or (old and old.detail.get("rows") != new["detail"]["rows"]):
                print(f"bench: {stix2_from} measured stix2 on other rows", file=sys.stderr)
                return 2
            if not str(new.get("note", "")).startswith("reused from"):
                new["note"] = (f"measured in the run of {kept.get('started')} on the same "
                               f"{new['detail']['rows']:,} rows (--stix2-from {stix2_from.name})")
            results["ref-stix2"] = Result(**new)
            doc["invalid"] = [*doc.get("invalid", []), f"the stix2 reference was taken from another run "
                                                       f"(--rerender with --stix2-from {stix2_from.name})"]
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as e:
        print(f"bench: cannot read {path}: {e}", file=sys.stderr)
        return 2
    judgement = report(doc, results, out)
    print(f"report rewritten in {out / 'latest.md'} and latest.json", file=sys.stderr)
    print(table(judgement, doc))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark cbm against its references (issue #20).")
    ap.add_argument("--size", type=int, default=100_000, help="indicators in the national feed (default 100k)")
    ap.add_argument("--seed", type=int, default=2013)
    ap.add_argument("--out", type=Path, default=HERE / "results", help="report directory (default bench/results)")
    ap.add_argument("--workdir", type=Path, help="where stores and files go (default: a new temporary dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--cbm", type=Path, default=Path(sys.executable).with_name("cbm"),
                    help="the cbm executable (default: beside this Python)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of the sub-second steps (median reported)")
    ap.add_argument("--stix2-max", type=int, default=100_000, help="cap for the stix2 reference (default 100k)")
    ap.add_argument("--stix2-from", type=Path, metavar="REPORT",
                    help="development only: reuse the stix2 reference of a kept report on the same rows instead of "
                         "measuring it; the report is then marked NOT A VALID RUN")
    ap.add_argument("--misp-max", type=int, default=100_000,
                    help="attributes in the MISP event of the misp-stix comparison: min(size, this) (default 100k; "
                         "0 skips it)")
    ap.add_argument("--validate-sample", type=int, default=VALIDATE_SAMPLE, metavar="N",
                    help=f"exported indicators the OASIS validator checks (default {VALIDATE_SAMPLE:,}; fewer marks "
                         "the report NOT A VALID RUN)")
    ap.add_argument("--growth-size", type=int, metavar="N",
                    help="also run the cbm steps at N indicators first, for the per-row growth table (default: "
                         "100000 when --size is 1M or more, else none: a kept by-size run of the same commit is "
                         "used if there is one; 0: none)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before a step is killed")
    ap.add_argument("--profile", help="comma-separated cbm steps to run under pyinstrument "
                                      "(profiles go to OUT/profiles/STEP.txt)")
    ap.add_argument("--taxii", action="store_true",
                    help="also measure a TAXII pull of the full store's TLP:GREEN collection from `cbm taxii serve` "
                         "(half the feed: --size 200000 for 100k objects)")
    ap.add_argument("--rerender", type=Path, metavar="REPORT",
                    help="run nothing: judge a kept JSON report again and rewrite the report files in --out")
    ap.add_argument("--parties", metavar="N,N,...",
                    help="run the many-parties simulation instead (bench/parties.py): N stores, one full round each")
    ap.add_argument("--indicators", type=int, default=10_000, help="with --parties: indicators per party's day")
    ap.add_argument("--rounds", type=int, default=2, help="with --parties: full exchange rounds after the day")
    ap.add_argument("--import-mode", choices=("inbox", "each"), default="inbox",
                    help="with --parties: one `bundle import FILE...` per party and round, or one process per bundle")
    ap.add_argument("--forwarding", choices=("late", "relay"), default="late",
                    help="with --parties: late forwarding (ADR 0173) or every store relaying at once (the rule before)")
    ap.add_argument("--topology", choices=("mesh", "hub"), default="mesh",
                    help="with --parties: every party exchanges with every other (mesh), or only with the first "
                         "party, which relays for all (hub)")
    args = ap.parse_args(argv)
    args.out = args.out.resolve()
    if args.parties:
        from parties import run as run_parties

        try:
            counts = [int(n) for n in args.parties.split(",")]
        except ValueError:
            ap.error(f"--parties {args.parties!r}: give numbers of parties, e.g. 3,10")
        if any(n < 2 for n in counts) or args.indicators < 1 or args.rounds < 1:
            ap.error("--parties needs at least 2 parties, --indicators and --rounds at least 1")
        return run_parties(counts, cbm=args.cbm, out=args.out, indicators=args.indicators, seed=args.seed,
                           keep=args.workdir.resolve() if args.workdir else None, rounds=args.rounds,
                           import_mode=args.import_mode, forwarding=args.forwarding, topology=args.topology)
    if args.rerender:
        return rerender(args.rerender, args.out, args.stix2_from)
    if args.size < 100:
        ap.error("--size must be at least 100")
    if args.growth_size is None:
        args.growth_size = 100_000 if args.size >= 1_000_000 else 0
    if args.growth_size and not 100 <= args.growth_size != args.size:
        ap.error("--growth-size must be at least 100 and differ from --size")
    if args.misp_max < 0 or args.stix2_max < 1 or args.validate_sample < 1:
        ap.error("--misp-max must be 0 or more, --stix2-max and --validate-sample at least 1")
    args.cbm = args.cbm.absolute()  # steps run in the work directory: a relative --cbm would name nothing there
    if not args.cbm.exists():
        ap.error(f"no cbm executable at {args.cbm} (install with `make setup`, or pass --cbm)")
    temporary = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="cbm-bench-")) if temporary else args.workdir.resolve()
    if not temporary and args.workdir.exists() and any(args.workdir.iterdir()):
        ap.error(f"--workdir {args.workdir} is not empty")
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    before = loadavg()
    bench = Bench(args)
    growth_run: Bench | None = None
    bench.progress("probing the machine's speed (bench/probe.py)")
    speed_start = probe.measured(bench.python)
    try:
        if args.growth_size:
            growth_run = Bench(args, size=args.growth_size, work=args.workdir / f"growth-{args.growth_size}",
                               cbm_only=True)
            growth_run.progress(f"growth run: the cbm steps at {args.growth_size:,} indicators first")
            growth_run.setup()
            growth_run.steps()
            shutil.rmtree(growth_run.work, ignore_errors=True)  # its stores are not needed any more
        bench.setup()
        bench.steps()
        bench.misp()
        bench.taxii()
        bench.references()
    finally:
        if temporary and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
        elif args.keep or not temporary:
            bench.progress(f"work directory kept: {args.workdir}")
    bench.progress("probing the machine's speed again")
    speed_end = probe.measured(bench.python)
    finished = dt.datetime.now(dt.UTC)
    others = [r.others_cores for r in bench.results.values() if r.others_cores is not None]
    doc: dict[str, Any] = {
        "schema": SCHEMA, "size": args.size, "seed": args.seed, "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"), "elapsed_s": (finished - started).total_seconds(),
        "machine": machine(bench.python, str(args.cbm)),
        "load": {"before": before, "after": loadavg(),
                 "others_cores_mean": round(statistics.fmean(others), 2) if others else None,
                 "others_cores_max": round(max(others), 2) if others else None},
        "search_value": bench.search_value, "full_store": getattr(bench, "full_store", None),
        "invalid": invalid_reasons(args, bench.size),
        "sampling_s": SAMPLE_S,
    }
    doc["speed"] = probe.speed(args.out, doc["machine"], speed_start, speed_end)
    if growth_run is not None:
        doc["growth_run"] = {"size": growth_run.size, "source": "this run",
                             "results": [asdict(r) for r in growth_run.results.values()]}
    judgement = report(doc, bench.results, args.out)
    bench.progress(f"report written to {args.out / 'latest.md'} and latest.json")
    print(table(judgement, doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
