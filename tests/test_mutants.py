"""`make mutants` stays meaningful: every mutant still applies to the code and names tests that exist, and the
runner tells a caught mutant from one its tests let through (docs/adr/0307)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mutants import run as runner
from mutants.checks import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[1]


def test_every_mutant_applies_once_and_still_compiles() -> None:
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    for m in MUTANTS:
        source = (ROOT / m.path).read_text(encoding="utf-8")
        mutated = runner.applied(source, m)  # ValueError unless its text is there exactly once
        assert mutated != source, m.id
        compile(mutated, m.path, "exec")


def test_every_named_test_exists() -> None:
    for m in MUTANTS:
        assert m.tests, m.id
        for node in m.tests:
            path, _, name = node.partition("::")
            function = re.sub(r"\[.*\]$", "", name)
            assert (ROOT / path).is_file(), (m.id, node)
            if function:
                assert re.search(rf"^def {re.escape(function)}\(", (ROOT / path).read_text(), re.M), (m.id, node)


def test_a_text_no_longer_in_its_file_is_reported_not_applied() -> None:
    moved = Mutant("moved", "x", "cbm/core/records.py", "    if record.seq < key.first_seq_renamed:", "    if False:",
                   ("tests/core/test_records_and_cards.py",))
    with pytest.raises(ValueError, match="occurs 0 times"):
        runner.applied((ROOT / moved.path).read_text(), moved)


def test_the_runner_tells_caught_from_survived(tmp_path: Path) -> None:
    """The same weakened check judged twice in a copy of the tree: against the test that holds it (caught), and
    against a test about something else (survived); the copy's file is put back after each."""
    tree = runner.copy_tree(ROOT, runner.repository_files(ROOT), tmp_path / "tree")
    [payload] = [m for m in MUTANTS if m.id == "record-payload-type"]
    before = (tree / payload.path).read_bytes()
    assert runner.judge(tree, payload).result == runner.CAUGHT
    elsewhere = Mutant(payload.id, payload.rule, payload.path, payload.old, payload.new,
                       ("tests/core/test_records_and_cards.py::test_verify_record_key_validity_window",))
    outcome = runner.judge(tree, elsewhere)
    assert (outcome.result, outcome.detail) == (runner.SURVIVED, "its tests passed with the check weakened")
    assert (tree / payload.path).read_bytes() == before
