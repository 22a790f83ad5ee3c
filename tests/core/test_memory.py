"""The cyclic collector is paused for bulk work and always resumes, whatever happens inside."""

from __future__ import annotations

import gc

import pytest

from cbm.core.memory import cycle_collector_paused


def test_paused_inside_and_resumed_after_even_on_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cycle_collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_resume_only_at_the_outermost():
    with cycle_collector_paused():
        with cycle_collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_as_a_decorator_each_call_pauses_and_resumes():
    @cycle_collector_paused()
    def work() -> bool:
        return gc.isenabled()

    assert work() is False and work() is False
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
