"""The Bloom filter bulk loads use to tell certainly-new indicator ids from maybe-seen ones."""

from cbm.core.bloom import SeenFilter


def test_an_id_seen_before_is_always_reported_and_a_batch_agrees_with_one_by_one():
    ids = [f"indicator--{n:08x}-0000-4000-8000-{n:012x}" for n in range(20_000)]
    one, many = SeenFilter(), SeenFilter()
    first = [one.check_and_add(i) for i in ids]
    assert many.seen_before(ids) == first
    assert one.bits == many.bits
    # no false negatives: everything added is "maybe seen" the second time, whichever way it is asked
    assert all(many.seen_before(ids[:100] + ids[-100:]))
    assert all(one.check_and_add(i) for i in ids[5000:5100])
    # and a fresh filter is rarely wrong about new ids (false positives stay well under 1 %)
    assert sum(first) < len(ids) // 100


def test_repeats_inside_one_batch_are_caught():
    f = SeenFilter()
    assert f.seen_before(["a", "b", "a", "c", "b"]) == [False, False, True, False, True]
