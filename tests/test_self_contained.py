"""The repository stands on its own: a clone anywhere passes `make test`, so no test reads outside it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import DATA

ROOT = Path(__file__).resolve().parents[1]


def test_fixture_folder_is_inside_the_repository() -> None:
    assert DATA.is_dir() and ROOT in DATA.parents


def test_no_test_names_a_path_outside_the_repository() -> None:
    outside = re.compile(r"""\.\./shared|["']shared["']\s*/|parents\[(?:[3-9])\]""")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "tests").rglob("*.py"))
                 if path.name != Path(__file__).name
                 for n, line in enumerate(path.read_text().splitlines(), 1) if outside.search(line)]
    assert offenders == []


def test_every_fixture_folder_names_its_source_and_licence() -> None:
    sources = (DATA / "SOURCES.md").read_text()
    folders = {f"{p.relative_to(DATA).as_posix()}/" for p in DATA.glob("*/*") if p.is_dir()}
    folders |= {f"{p.name}/" for p in DATA.iterdir() if p.is_dir() and not any(c.is_dir() for c in p.iterdir())}
    assert folders and all(f"`{folder}`" in sources for folder in folders), folders
