"""``kill -9`` at random moments during large writes (and key rotations), over and over.

After every kill: ``cbm store verify`` accepts the store and every seq the child reported as committed (it
prints each only after its transaction committed) is present; the next child carries on from there.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cbm.app.stores import open_store
from cbm.store.verify import verify_store
from tests.conftest import run_cli

CHILD = Path(__file__).with_name("writer_child.py")
ROUNDS = 10


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "child did not report in time"
    return proc.stdout.readline()


@pytest.mark.parametrize("eager_write_behind", [False, True], ids=["plain", "written-behind"])
def test_sigkill_mid_write_loses_nothing_committed(make_party, eager_write_behind):
    """Also with every transaction's WAL written behind by a thread while it lands (docs/adr/0284)."""
    us = make_party("US")
    rng = random.Random(20261123)
    committed: set[int] = set()
    highest = 0
    env = {**os.environ, "CBM_TEST_EAGER_WRITE_BEHIND": "1"} if eager_write_behind else None
    for round_no in range(ROUNDS):
        proc = subprocess.Popen([sys.executable, str(CHILD), str(us.root), str(round_no), "0", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(us.root.parent), env=env)
        assert _readline(proc, 30) == b"ready\n", proc.stderr.read() if proc.stderr else b""
        early: list[int] = []
        if round_no == 0:  # certain progress however loaded the machine: killed once it committed past seq 30
            while not early or early[-1] <= 30:
                early.append(int(_readline(proc, 60)))
        else:
            time.sleep(rng.uniform(0.005, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        assert b"Traceback" not in err, err.decode()
        reported = early + [int(line) for line in out.split(b"\n")[:-1]]  # only complete lines count as reports
        committed.update(reported)
        highest = max([highest, *reported])
        with open_store(us.root) as store:
            result = verify_store(store)
            assert result.ok, [vars(f) for f in result.faults]
            present = {seq for (seq,) in store.conn.execute("SELECT seq FROM records WHERE author = 'US'")}
        assert committed <= present, f"round {round_no}: lost {sorted(committed - present)[:5]}"
        assert max(present, default=0) >= highest
    assert highest > 30, "the children should have written a fair amount"
    r = run_cli("--store", str(us.root), "store", "verify")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK: ")
    # the own log is still writable after all that, and a fresh record chains on
    with open_store(us.root) as store:
        record = store.append("inquiry.open", {"text": "after the crashes"})
        assert record.seq == max(present) + 1
        assert verify_store(store).ok
        assert len(store.party_keys("US")) > 1, "key rotations (key file rewrites) should have been exercised"
