"""The Bloom filter bulk loads use to tell certainly-new indicator ids from maybe-seen ones."""

from cbm.core.bloom import SeenFilter


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
