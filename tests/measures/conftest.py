"""Fixtures shared by the indicator import tests of this folder."""

from __future__ import annotations

from typing import Any

import pytest

from cbm.measures.indicators.writer import BatchWriter


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tags of the reader's messages the writer took, in order (empty: the reader sent plain rows)."""
    tags: list[str] = []
    real = BatchWriter.add_made

    def spy(self: BatchWriter, message: tuple[Any, ...]) -> None:
        tags.append(message[0])
        real(self, message)

    monkeypatch.setattr(BatchWriter, "add_made", spy)
    return tags


@pytest.fixture
def held_versions_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The records the writers read a held version back from (the exact path's cost for a held row)."""
    calls: list[int] = []
    real = BatchWriter._old_row

    def spy(self: BatchWriter, rec: int, pos: int) -> Any:
        calls.append(rec)
        return real(self, rec, pos)

    monkeypatch.setattr(BatchWriter, "_old_row", spy)
    return calls


@pytest.fixture(params=["reader process", "in-process reader"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test that asks for it twice: the feed read by a reader process, and read in-process."""
    if request.param == "in-process reader":
        monkeypatch.setenv("CBM_NO_PARALLEL", "1")
    return str(request.param)
