"""The layout is the architecture (docs/adr/0100-measure-packages-and-registry.md): imports point down only,
only the store touches SQLite, no module is over 500 lines, and every measure in the registry has the same rooms.

Read from the source with ``ast``, so a violation fails here whatever the tests happen to import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from cbm.measures.registry import MEASURES, ROOMS

PACKAGE = Path(__file__).resolve().parents[1] / "cbm"
MAX_LINES = 500

# Each layer and the layers it may import (besides itself and the standard library / third parties).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "bundle": {"core", "store"},
    "measures": {"core", "store"},
    "app": {"core", "store", "bundle", "measures"},
    "taxii": {"core", "store", "bundle", "measures"},  # an application-level integration of the indicators
    "cli": {"core", "store", "bundle", "measures", "app", "taxii"},
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(path: Path) -> str | None:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, also those deferred into functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_imports_point_down_only() -> None:
    wrong = []
    for path in _modules():
        layer = _layer(path)
        if layer is None:
            continue
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] != "cbm" or len(parts) < 2 or parts[1] == layer or parts[1] not in ALLOWED:
                continue
            if parts[1] not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({layer}) imports {module}")
    assert not wrong, "imports must point down (core <- store <- bundle, measures <- app <- cli):\n" + \
        "\n".join(wrong)


def test_only_the_store_touches_sqlite() -> None:
    wrong = []
    for path in _modules():
        if _layer(path) == "store":
            continue
        wrong += [f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
                  for line, module in _imports(path) if module.split(".")[0] == "sqlite3"]
        tree = ast.parse(path.read_text("utf-8"))
        wrong += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno} uses .conn" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and node.attr == "conn"]
    assert not wrong, "only cbm/store touches SQLite (others go through Store.query):\n" + "\n".join(wrong)


def test_no_module_is_over_500_lines() -> None:
    long = [f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p in _modules()
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES]
    assert not long, "split by concept:\n" + "\n".join(long)


@pytest.mark.parametrize("measure", MEASURES, ids=lambda m: m.name)
def test_every_measure_has_the_same_rooms(measure) -> None:
    package = PACKAGE / "measures" / measure.name
    missing = [room for room in ROOMS if not (package / f"{room}.py").is_file()]
    assert not missing, f"cbm/measures/{measure.name} lacks {missing}"
    assert (package / "__init__.py").is_file()
    assert all(kind.startswith(measure.prefix) for kind in measure.kinds)
    assert (PACKAGE / "cli" / f"{measure.cli}.py").is_file() or (PACKAGE / "cli" / measure.cli).is_dir()


def test_every_record_kind_has_a_typed_record() -> None:
    """Each measure's records.py declares one frozen dataclass per kind it owns, named in ``RECORDS``."""
    import dataclasses
    import importlib

    for measure in MEASURES:
        module = importlib.import_module(f"{measure.package}.records")
        assert set(module.RECORDS) == set(measure.kinds), measure.name
        for kind, cls in module.RECORDS.items():
            assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, kind
            assert callable(cls.from_body) and callable(cls.to_body), kind


def test_the_store_and_bundles_know_no_measure() -> None:
    names = {m.name for m in MEASURES}
    wrong = []
    for path in _modules():
        if _layer(path) not in ("store", "bundle", "core"):
            continue
        stem = path.stem
        if stem.startswith("index_") and stem[len("index_"):] in names:
            wrong.append(f"{path.relative_to(PACKAGE.parent)}: a measure's index belongs to the measure")
        source = path.read_text("utf-8")
        wrong += [f"{path.relative_to(PACKAGE.parent)}: scans module names"
                  for needle in ("pkgutil", "iter_modules") if needle in source]
    assert not wrong, "\n".join(wrong)


def test_help_imports_no_measure() -> None:
    """``cbm --help`` stays fast: the registry names measures as strings and loads none of them."""
    code = ("import sys\nfrom cbm.cli.main import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = sorted(m for m in sys.modules\n"
            "                if m.startswith('cbm.measures.') and m != 'cbm.measures.registry')\n"
            "print(loaded, 'stix2' in sys.modules, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stderr.strip().splitlines()[-1] == "[] False", done.stderr
