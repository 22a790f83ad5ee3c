"""`make setup` installs cbm editable as one plain path entry (docs/adr/0228-editable-install-as-a-path-entry.md):
every Python process in the environment, each `cbm` command and each test subprocess, starts without setuptools'
import-hook finder, and the tests run against this working tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cbm

ROOT = Path(__file__).resolve().parents[1]

PROBE = "import sys; print(sorted(m for m in sys.modules if m.startswith('__editable__')))"


def test_cbm_is_imported_from_this_working_tree() -> None:
    assert Path(cbm.__file__).resolve().parent == ROOT / "cbm"


def test_python_starts_without_an_editable_finder() -> None:
    # run outside the repository, so that the current directory does not put the tree on sys.path by itself
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True,
                          cwd=Path(sys.executable).parent)
    assert proc.stdout.strip() == "[]"


def test_a_fresh_interpreter_finds_cbm_in_this_working_tree() -> None:
    proc = subprocess.run([sys.executable, "-c", "import cbm; print(cbm.__file__)"], capture_output=True,
                          text=True, timeout=60, check=True, cwd=Path(sys.executable).parent)
    assert Path(proc.stdout.strip()).resolve().parent == ROOT / "cbm"
