"""BackgroundVerifier: signatures checked on worker threads while the caller reads on; failures by tag."""

from __future__ import annotations

import pytest

from cbm.core.dsse import pae
from cbm.core.keys import KeyPair
from cbm.core.parallel import BackgroundVerifier, SignatureCheck

PAIR = KeyPair.from_seed(b"background-verifier", "2026-11-23T00:00:00Z")
TYPE = "application/vnd.cbm.indicators.v1+json"


def _check(i: int, size: int, *, bad: bool = False) -> SignatureCheck:
    payload = (b"%06d" % i) * (size // 6)
    sig = bytearray(PAIR.signing.sign(pae(TYPE, payload)).signature)
    if bad:
        sig[0] ^= 1
    return (TYPE, payload, bytes(sig), PAIR.verify_key)


@pytest.mark.parametrize("workers, chunk_bytes", [(1, 1 << 20), (2, 4096), (2, 1 << 30)])
def test_failures_are_reported_by_tag_in_order_whatever_the_chunking(workers, chunk_bytes):
    bad = {3, 17, 40}
    with BackgroundVerifier(workers=workers, chunk_items=7, chunk_bytes=chunk_bytes, max_in_flight=2) as v:
        for i in range(50):
            v.add(_check(i, 3000, bad=i in bad), ("RU", i))
        failed = v.finish()
    assert failed == [("RU", i) for i in sorted(bad)]
    assert v.checked == 50


def test_large_payloads_are_cut_by_bytes_and_not_held():
    """An indicator batch is ~1 MB: each is handed to a worker as it arrives, so memory holds only the chunks
    in flight, whatever the bundle's size."""
    with BackgroundVerifier(workers=2, chunk_items=1000, chunk_bytes=1 << 19, max_in_flight=2) as v:
        for i in range(6):
            v.add(_check(i, 1 << 20, bad=i == 1), i)
            assert v._pending == []  # handed over, not held
            assert len(v._in_flight) <= 2
        assert v.finish() == [1]
        assert v.checked == 6


def test_many_small_records_go_to_the_workers():
    with BackgroundVerifier(workers=2, chunk_items=100) as v:
        for i in range(250):
            v.add(_check(i, 300, bad=i == 200), i)
        assert v._pool is not None
        assert v.finish() == [200]


def test_a_small_job_starts_no_pool():
    with BackgroundVerifier(workers=2) as v:
        v.add(_check(1, 100, bad=True), "x")
        assert v.finish() == ["x"]
        assert v._pool is None
