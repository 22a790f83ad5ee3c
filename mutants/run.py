"""`make mutants`: weaken each check of mutants/checks.py in a copy of the tree and run the tests named for it.

    python -m mutants.run                      # every mutant, one worker per core
    python -m mutants.run --only wg-sign-draft --only taxii-password
    python -m mutants.run --list               # the mutants and the rules they weaken
    python -m mutants.run --json               # the report as JSON on stdout

Every mutant must be caught (its tests fail). Exit 0 when all are; 1 when one survived, no longer applies (its
text is not in its file exactly once: the code moved, update checks.py) or names tests that do not exist; 2 for
a usage error. The named tests are run once unmutated first: they must pass, or nothing else is meaningful.

The copies hold the repository's files (tracked and new, as `git ls-files` lists them) and run with
``PYTHONPATH`` set to the copy, so the `cbm` processes the tests start import the mutated code too.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mutants.checks import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds for one mutant's tests; a hang counts as not caught

# pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted (a collection error), 4 usage (a node id not
# found), 5 no test collected
CAUGHT, SURVIVED, STALE, HUNG = "caught", "SURVIVED", "STALE", "HUNG"


@dataclass
class Outcome:
    id: str
    rule: str
    result: str
    seconds: float
    detail: str = ""


SKIPPED = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "demo-out",
           "work", "crashes", "tmp"}


def repository_files(root: Path) -> list[str]:
    """The files of the working tree a clone would have, plus new ones not yet committed (not the ignored); in
    a tree that is no git checkout (an unpacked archive), every file outside caches, the venv and scratch."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and not SKIPPED.intersection(p.relative_to(root).parts))
    return [name for name in out.decode().split("\0") if name and (root / name).is_file()]


def copy_tree(root: Path, files: list[str], target: Path) -> Path:
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, destination)
    return target


def applied(source: str, mutant: Mutant) -> str:
    """``source`` with the mutant applied. ValueError when its text is not there exactly once."""
    found = source.count(mutant.old)
    if found != 1:
        raise ValueError(f"its text occurs {found} times in {mutant.path}, not once: update mutants/checks.py")
    return source.replace(mutant.old, mutant.new)


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    """Run the named tests in ``tree`` (its code first on the path); (pytest's exit code, its last line)."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1")
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return -1, f"no result after {TIMEOUT} s"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    return proc.returncode, (failed[0] if failed else lines[-1] if lines else proc.stderr.strip()[-200:])


def judge(tree: Path, mutant: Mutant) -> Outcome:
    """Apply ``mutant`` in ``tree``, run its tests, put the file back."""
    path = tree / mutant.path
    source = path.read_text(encoding="utf-8")
    started = time.monotonic()
    try:
        mutated = applied(source, mutant)
        compile(mutated, str(path), "exec")
    except (ValueError, SyntaxError) as e:
        return Outcome(mutant.id, mutant.rule, STALE, 0.0, str(e))
    path.write_text(mutated, encoding="utf-8")
    try:
        code, last = run_tests(tree, mutant.tests)
    finally:
        path.write_text(source, encoding="utf-8")
    seconds = round(time.monotonic() - started, 1)
    if code == 1:
        return Outcome(mutant.id, mutant.rule, CAUGHT, seconds, last)
    if code == 0:
        return Outcome(mutant.id, mutant.rule, SURVIVED, seconds, "its tests passed with the check weakened")
    if code == -1:
        return Outcome(mutant.id, mutant.rule, HUNG, seconds, last)
    return Outcome(mutant.id, mutant.rule, STALE, seconds, f"pytest exit {code}: {last}")


def run(mutants: list[Mutant], workers: int, progress: bool = True) -> tuple[list[Outcome], str | None]:
    """Judge every mutant on ``workers`` copies of the tree; (outcomes in the given order, a baseline failure)."""
    files = repository_files(ROOT)
    with tempfile.TemporaryDirectory(prefix="cbm-mutants-") as scratch:
        copies: queue.Queue[Path] = queue.Queue()
        for n in range(max(1, min(workers, len(mutants)))):
            copies.put(copy_tree(ROOT, files, Path(scratch) / f"tree-{n}"))
        baseline_tree = copies.get()
        every_test = tuple(dict.fromkeys(test for m in mutants for test in m.tests))
        if progress:
            print(f"mutants: the {len(every_test)} named tests, unmutated", file=sys.stderr, flush=True)
        code, last = run_tests(baseline_tree, every_test)
        copies.put(baseline_tree)
        if code != 0:
            return [], f"the named tests do not pass unmutated (pytest exit {code}): {last}"
        outcomes: dict[str, Outcome] = {}

        def one(mutant: Mutant) -> Outcome:
            tree = copies.get()
            try:
                return judge(tree, mutant)
            finally:
                copies.put(tree)

        with concurrent.futures.ThreadPoolExecutor(max_workers=copies.qsize()) as pool:
            futures = {pool.submit(one, m): m for m in mutants}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                outcome = future.result()
                outcomes[outcome.id] = outcome
                if progress:
                    bar = "#" * (20 * done // len(mutants))
                    print(f"mutants [{bar:<20}] {done}/{len(mutants)}  {outcome.id}: {outcome.result} "
                          f"({outcome.seconds} s)", file=sys.stderr, flush=True)
    return [outcomes[m.id] for m in mutants], None


def table(outcomes: list[Outcome]) -> str:
    width = max(len(o.id) for o in outcomes)
    lines = [f"{o.id:<{width}}  {o.result:<8}  {o.seconds:>6.1f} s" for o in outcomes]
    lines += [f"  {o.id}: {o.detail}" for o in outcomes if o.result != CAUGHT]
    caught = sum(o.result == CAUGHT for o in outcomes)
    lines.append(f"{caught} of {len(outcomes)} mutants caught")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    summary, examples = __doc__.split("\n\n")[:2]
    parser = argparse.ArgumentParser(prog="python -m mutants.run", description=summary, epilog="examples:\n" + examples,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="this mutant only (repeatable)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="copies judged at once")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    args = parser.parse_args(argv)
    known = {m.id: m for m in MUTANTS}
    unknown = [name for name in args.only if name not in known]
    if unknown:
        print(f"error: no mutant {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    chosen = [known[name] for name in dict.fromkeys(args.only)] or list(MUTANTS)
    if args.list:
        for m in chosen:
            print(f"{m.id:<36} {m.rule}")
        return 0
    outcomes, failure = run(chosen, args.workers)
    if failure is not None:
        print(f"error: {failure}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"schema": "cbm.mutants/1", "outcomes": [asdict(o) for o in outcomes]}, indent=1))
    else:
        print(table(outcomes))
    return 0 if all(o.result == CAUGHT for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
