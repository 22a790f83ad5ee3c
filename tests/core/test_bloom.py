"""The Bloom filter bulk loads use to tell certainly-new indicator ids from maybe-seen ones."""

import uuid

from cbm.core.bloom import IndependentFilter, SeenFilter


def test_an_id_seen_before_is_always_reported_and_a_batch_agrees_with_one_by_one():
    ids = [f"indicator--{n:08x}-0000-4000-8000-{n:012x}" for n in range(20_000)]
    one, many = SeenFilter(), SeenFilter()
    first = [one.check_and_add(i) for i in ids]
    assert many.seen_before(ids) == first
    assert bytes(one.bits) == bytes(many.bits)
    # no false negatives: everything added is "maybe seen" the second time, whichever way it is asked
    assert all(many.seen_before(ids[:100] + ids[-100:]))
    assert all(one.check_and_add(i) for i in ids[5000:5100])
    # and a fresh filter is rarely wrong about new ids (false positives stay well under 1 %)
    assert sum(first) < len(ids) // 100


def test_repeats_inside_one_batch_are_caught():
    f = SeenFilter()
    assert f.seen_before(["a", "b", "a", "c", "b"]) == [False, False, True, False, True]


def test_the_filter_is_sized_for_the_ids_expected_and_stays_under_one_percent_wrong_there():
    assert len(SeenFilter().bits) == len(SeenFilter(10_000_000).bits) == 16 * 1024 * 1024  # unknown, or very many
    assert len(SeenFilter(1).bits) == 128 * 1024
    assert len(SeenFilter(50_000).bits) == 2 * 1024 * 1024  # a 50k-line feed touches 2 MiB, not 16
    expected = 50_000
    f = SeenFilter(expected)
    wrong = sum(f.seen_before([f"indicator--{n:08x}-0000-4000-8000-{n:012x}" for n in range(expected)]))
    assert wrong < expected // 100


def test_a_filter_handed_over_answers_as_the_one_it_came_from():
    ids = [f"id-{n}" for n in range(5000)]
    reader = SeenFilter(5000)
    reader.seen_before(ids)
    writer = SeenFilter.holding(bytes(reader.bits))
    assert all(writer.seen_before(ids)) and bytes(writer.bits) == bytes(reader.bits)
    assert writer.seen_before(["new-one"]) == reader.seen_before(["new-one"])
    import pytest

    with pytest.raises(ValueError):
        SeenFilter.holding(b"\x00" * 3)


def _resident_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_a_filter_costs_memory_only_where_ids_landed():
    """The writer makes a 16 MiB filter it never uses while the reader process makes the batches (and forks
    after making it): untouched, the filter must not be resident (docs/adr/0252)."""
    import os

    import pytest

    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads resident memory from /proc")
    ids = [f"id-{n}" for n in range(200_000)]
    before = _resident_kib()
    idle = SeenFilter()
    assert _resident_kib() - before < 2048  # 16 MiB made, under 2 MiB resident
    used = SeenFilter()
    used.seen_before(ids)  # every page gets bits: now it is resident
    assert _resident_kib() - before > 12 * 1024
    assert len(idle.bits) == 16 * 1024 * 1024 and not any(idle.seen_before(["id-1", "id-2"]))


def test_a_filter_made_before_a_fork_stays_private_to_each_process():
    import os

    f = SeenFilter(1000)
    pid = os.fork()
    if pid == 0:  # the child writes its own copy only
        try:
            f.seen_before([f"child-{n}" for n in range(1000)])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert not any(bytes(f.bits)) and f.seen_before(["child-1"]) == [False]


def test_an_independent_filter_does_not_share_a_filters_false_positives():
    """Ids that collide in a SeenFilter (one lets the other through as "maybe") do not collide in an
    IndependentFilter of the same size: a re-import asks the filter of ids that went on to the exact path about
    held ids the seeded filter let through, and must not mark the very id each false positive collided with."""
    ids = [f"indicator--{uuid.UUID(int=i * 7919 + 13)}" for i in range(5000)]
    slot: dict[int, str] = {}
    pairs = []
    mask = SeenFilter(1)._mask
    for sid in ids:  # same slot in a SeenFilter of the smallest size: a collision
        other = slot.setdefault(hash(sid) & mask, sid)
        if other != sid:
            pairs.append((other, sid))
    assert pairs  # about a dozen among 5,000 ids in 2^20 bits
    for first, second in pairs:
        seen, independent = SeenFilter(1), IndependentFilter(1)
        seen.seen_before([first])
        independent.seen_before([first])
        assert seen.may_hold([second]) == [True]
        assert independent.may_hold([second]) == [False] and independent.may_hold([first]) == [True]
