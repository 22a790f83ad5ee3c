"""Two processes appending to one store at once (one of them also rotating the key), a reader verifying
meanwhile: every record lands, the chain verifies, nobody sees "database is locked"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cbm.app.stores import open_store
from cbm.store.trust import rotate
from cbm.store.verify import verify_store
from tests.conftest import run_cli

CHILD = Path(__file__).with_name("writer_child.py")


def test_two_writers_and_a_reader(make_party, tmp_path: Path):
    us = make_party("US")
    go = tmp_path / "go"
    writers = [subprocess.Popen([sys.executable, str(CHILD), str(us.root), str(seed), "16", str(rotate_every),
                                 str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for seed, rotate_every in ((1, 0), (2, 5))]
    for proc in writers:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    go.touch()
    snapshots = 0
    with open_store(us.root) as reader:
        while any(proc.poll() is None for proc in writers):
            result = verify_store(reader)  # each run reads one consistent snapshot
            assert result.ok, [vars(f) for f in result.faults]
            snapshots += 1
    reported: list[int] = []
    for proc in writers:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert b"locked" not in err and b"Traceback" not in err, err.decode()
        reported += [int(line) for line in out.split()]
    assert snapshots >= 1
    with open_store(us.root) as store:
        seqs = [seq for (seq,) in store.conn.execute("SELECT seq FROM records WHERE author = 'US' ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate: the two interleaved cleanly
        assert set(reported) <= set(seqs) and max(reported) == len(seqs)
        assert verify_store(store).ok
        assert len(store.party_keys("US")) == 1 + 16 // 5  # every rotation landed with its record
    r = run_cli("--store", str(us.root), "store", "verify")
    assert r.exit_code == 0 and r.stderr == "", r.stdout + r.stderr


def test_a_writer_that_cached_the_old_key_signs_with_the_new_one(make_party):
    """Regression: a process that had read the key file before another process rotated the key failed with
    "private key missing" (exit 6); the key is now chosen under the write lock, re-reading the file if needed
    (choosing it before the lock let a rotation slip in between: a record signed past the old key's last seq)."""
    us = make_party("US")
    with open_store(us.root) as first, open_store(us.root) as second:
        first.append("inquiry.open", {"text": "1"})  # `first` has read and cached its key pairs
        rotate(second)
        record = first.append("inquiry.open", {"text": "after the other process rotated"})
        assert record.keyid == second.signer().keyid
        result = verify_store(first)
        assert result.ok, [vars(f) for f in result.faults]
