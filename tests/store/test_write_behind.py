"""A long transaction's WAL written to disk while it lands (cbm/store/write_behind.py, docs/adr/0284): it changes
when the kernel writes, never what lands, what a rollback leaves, or what the process holds afterwards."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from cbm.store import write_behind
from cbm.store.db import Draft
from cbm.store.verify import verify_store
from tests.conftest import Party

THREAD = "cbm-write-behind"


def _running() -> bool:
    return any(thread.name == THREAD for thread in threading.enumerate())


def _drafts(n: int, tag: str) -> list[Draft]:
    return [Draft("inquiry.open", {"ref": f"{tag}-{i}", "text": "x" * 500}) for i in range(n)]


@pytest.fixture
def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every transaction writes behind from its first record, a thousand times a second."""
    monkeypatch.setattr(write_behind, "START_AFTER_BYTES", 0)
    monkeypatch.setattr(write_behind, "PERIOD_S", 0.001)


def test_a_large_transaction_lands_whole_and_leaves_no_thread_nor_open_file(make_party, eager):
    us: Party = make_party("US")
    with us.open() as store:
        files_before = sorted(os.listdir("/proc/self/fd"))
        seen_running = []
        with store.transaction():
            for n in range(5):
                store.append_locked(_drafts(40, f"A{n}"))
                seen_running.append(_running())
                time.sleep(0.005)  # periods pass: fdatasync runs beside the open transaction
        assert seen_running == [True] * 5
        assert not _running()
        assert sorted(os.listdir("/proc/self/fd")) == files_before
        assert store.conn.execute("SELECT COUNT(*) FROM records WHERE kind = 'inquiry.open'").fetchone()[0] == 200
        assert verify_store(store).ok
    with us.open() as store:  # another process's view: everything committed is there
        assert store.conn.execute("SELECT COUNT(*) FROM records WHERE kind = 'inquiry.open'").fetchone()[0] == 200


def test_a_rolled_back_transaction_leaves_the_store_as_it_was(make_party, eager):
    us: Party = make_party("US")
    with us.open() as store:
        store.append_many(_drafts(3, "before"))
        head = store.head("US")
        with pytest.raises(RuntimeError, match="a bad line"), store.transaction():
            store.append_locked(_drafts(100, "lost"))
            time.sleep(0.005)
            assert _running()
            raise RuntimeError("a bad line")
        assert not _running()
        assert head is not None and store.head("US") == head
        assert store.conn.execute("SELECT COUNT(*) FROM records WHERE kind = 'inquiry.open'").fetchone()[0] == 3
        assert store.append("inquiry.open", {"ref": "after"}).seq == head[0] + 1


def test_an_ordinary_command_starts_no_thread(make_party):
    """A few records (any command but a bulk load) stay single-threaded: forks (the warninglists' compile, the
    reader process) keep a process without other threads (docs/adr/0245)."""
    us: Party = make_party("US")
    with us.open() as store, store.transaction():
        store.append_locked(_drafts(200, "small"))
        assert not _running()


def test_no_wal_file_means_nothing_to_write_behind(tmp_path: Path):
    behind = write_behind.WriteBehind(tmp_path / "store.sqlite", start_after=0)
    behind.landed(1)
    assert not behind.running and not _running()
    behind.committing()
    behind.stop()
