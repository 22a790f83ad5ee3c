"""A large paper goes in and out of the store streamed: peak memory of the ``cbm`` process stays far below
the file's size (measured with getrusage in a wrapper whose only child is that process)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

SIZE = 48 * 1024 * 1024

# Runs one `cbm` command as its only child and prints that child's peak RSS (KiB on Linux).
WRAPPER = """
import resource, subprocess, sys
code = subprocess.call([sys.executable, "-c", "from cbm.cli.main import main; main()", *sys.argv[1:]],
                       stdout=subprocess.DEVNULL)
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_kib(*args: str) -> int:
    done = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, check=True,
                          env={**os.environ, "CBM_PASSPHRASE": ""})
    code, peak = done.stdout.split()
    assert code == "0", done.stderr
    return int(peak)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ outside Linux")
def test_publish_and_get_stream_a_large_file_in_bounded_memory(make_party, tmp_path):
    us = make_party("US")
    store = str(us.root)
    small, big = tmp_path / "small.bin", tmp_path / "big.bin"
    small.write_bytes(os.urandom(1024))
    digest = hashlib.sha256()
    with open(big, "wb") as out:  # 48 MiB of incompressible bytes, written in pieces
        for _ in range(SIZE // (4 * 1024 * 1024)):
            block = os.urandom(4 * 1024 * 1024)
            digest.update(block)
            out.write(block)
    meta = ["--issuer", "MoD", "--lang", "en", "--classification", "UNCLASSIFIED"]
    baseline = peak_kib("--store", store, "whitepaper", "publish", str(small), "--title", "Small", *meta)
    publish_peak = peak_kib("--store", store, "whitepaper", "publish", str(big), "--title", "Annex", *meta)
    listing = subprocess.run([sys.executable, "-c", "from cbm.cli.main import main; main()", "--store", store,
                              "whitepaper", "list", "--search", "annex", "--json"],
                             capture_output=True, text=True, check=True)
    [doc] = [p["doc"] for p in json.loads(listing.stdout)["papers"]]
    get_peak = peak_kib("--store", store, "whitepaper", "get", doc, "-o", str(tmp_path / "out.bin"))
    out_digest = hashlib.sha256()
    with open(tmp_path / "out.bin", "rb") as f:
        while chunk := f.read(1 << 20):
            out_digest.update(chunk)
    assert out_digest.hexdigest() == digest.hexdigest()
    budget = baseline + SIZE // 1024 // 2  # half the file: loading it whole would blow through this
    assert publish_peak < budget, (baseline, publish_peak)
    assert get_peak < budget, (baseline, get_peak)
    print(f"peak RSS KiB: baseline {baseline}, publish {publish_peak}, get {get_peak}, file {SIZE // 1024}")
