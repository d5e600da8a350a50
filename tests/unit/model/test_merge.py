"""The merge rule: any order, duplication or interleaving converges (hypothesis), for
strings, counters and hashes' headers on one key."""

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.model import hyperloglog
from geolru.model.counters import add_registers, increment
from geolru.model.hashkeys import HashMeta
from geolru.model.headers import clear_point, header
from geolru.model.merge import merge, tombstone_when_expired, visible
from geolru.model.record import Record
from geolru.resp.codec import parse_int

ORIGINS = ("frankfurt", "montreal", "singapore")
ELEMENTS = [b"a", b"b", b"c", b"d", b"e"]


def registers(*elements: bytes) -> bytearray:
    out = hyperloglog.empty()
    hyperloglog.add(out, elements)
    return out


HLL_AB = hyperloglog.render(registers(b"a", b"b"))


@st.composite
def histories(draw):
    """Records one key gets from writes at several regions, each seeing some earlier one."""
    records = []
    for i in range(draw(st.integers(1, 12))):
        origin = draw(st.sampled_from(ORIGINS))
        seen = draw(st.sampled_from([None, *records])) if records else None
        version = (i + 1) * 65536 + draw(st.integers(0, 3))
        op = draw(st.sampled_from(["set", "del", "incr", "incr", "expire", "hset", "hexpire",
                                   "pfadd", "pfadd"]))
        if op in ("hset", "hexpire"):  # a write to a hash: its header
            if seen is not None and seen.hash_meta is not None:  # the same hash, on
                meta, deadline = seen.hash_meta, seen.deadline
            else:  # a new one, after whatever the key held
                meta, deadline = HashMeta(clear_point(seen), (version, origin)), None
            if op == "hexpire":
                meta, deadline = HashMeta(meta.cleared, (version, origin)), \
                    draw(st.sampled_from([None, 5000 + i]))
            records.append(header(version, origin, meta, deadline,
                                  draw(st.booleans())))
        elif op == "set":
            records.append(Record(draw(st.sampled_from([b"1", b"x", b"10", HLL_AB])), None,
                                  version, origin))
        elif op == "pfadd":
            now_ms = draw(st.integers(4995, 5015))
            seen_now = visible(seen, now_ms)
            try:
                if seen_now is not None:
                    hyperloglog.parse(seen_now[0])
            except hyperloglog.NotHyperLogLog:
                continue  # PFADD on another string is refused before it replicates
            records.append(add_registers(seen, version, now_ms, origin,
                                         registers(draw(st.sampled_from(ELEMENTS)))))
        elif op == "del":
            records.append(Record(None, None, version, origin))
        elif op == "expire" and seen is not None and seen.value is not None:
            records.append(Record(seen.value, 5000 + i, version, origin))  # a plain write
        else:
            now_ms = draw(st.integers(4995, 5015))  # some deadlines passed, some not
            seen_now = visible(seen, now_ms)
            if seen_now is not None and parse_int(seen_now[0]) is None:
                continue  # INCR on a non-integer is refused before it replicates
            records.append(increment(seen, version, now_ms, origin,
                                     draw(st.integers(-3, 3))))
    return records


def fold(records):
    """The merge of ``records``.  A hash header's value (whether the hash has fields)
    is each region's own fact, set from its fields after the merge: left out."""
    merged = functools.reduce(merge, records, None)
    if merged is not None and merged.hash_meta is not None:
        merged = merged._replace(value=b"")
    return merged


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_every_order_and_duplication_converges(records, rng):
    expected = fold(records)
    for _ in range(4):
        delivered = records + [rng.choice(records) for _ in range(3)]
        rng.shuffle(delivered)
        assert fold(delivered) == expected


@given(histories())
def test_merge_is_commutative(records):
    for x in records:
        for y in records:
            assert merge(x, y) == merge(y, x)


def test_concurrent_increments_from_three_regions_all_count():
    local = {origin: None for origin in ORIGINS}
    version = 65536
    for _ in range(100):
        for origin in ORIGINS:
            seen = local[origin]
            version += 1
            local[origin] = increment(seen, version, 0, origin, 1)
    assert fold(local.values()).value == b"300"


def test_set_newer_than_the_counter_base_replaces_the_counter():
    counter = increment(None, 10, 0, "a", 5)
    replaced = Record(b"hello", None, 20, "b")
    assert merge(counter, replaced) == replaced


def test_increments_on_a_set_value_build_on_it():
    base = Record(b"10", None, 10, "a")
    one = increment(base, 11, 0, "a", 1)
    two = increment(base, 12, 0, "b", 2)
    assert fold([base, one, two]).value == b"13"


def test_a_counter_after_a_delete_is_not_hidden_by_the_delete():
    gone = Record(None, None, 10, "a")
    counted = increment(gone, 11, 0, "b", 1)
    assert fold([counted, gone]).value == b"1"
    assert fold([gone, counted]).value == b"1"


def test_last_writer_wins_with_deterministic_ties():
    a = Record(b"a", None, 100, "frankfurt")
    b = Record(b"b", None, 100, "montreal")
    assert merge(a, b) == merge(b, a) == b
    older = Record(b"old", None, 99, "singapore")
    assert merge(older, a) == a


def test_an_increment_after_the_key_expired_starts_from_zero_everywhere():
    """Seed 21850: a counter on a value with a TTL, incremented at one region before the
    deadline and at another after it; each region expires what it holds.  Every
    region must show what Redis shows: only the increment made after the expiry."""
    base = Record(b"5", 1000, 10, "f")  # SET k 5 PX ..., deadline 1000
    before = increment(base, 20, 900, "m", -3)  # at m, before the deadline: 2
    assert visible(before, 900) == (b"2", 1000)
    gone_at_f = tombstone_when_expired(base)  # f expires its copy of the SET
    after = increment(gone_at_f, 30, 1100, "f", -2)  # at f, after it: -2
    assert visible(after, 1100) == (b"-2", None)
    gone_at_m = tombstone_when_expired(before)  # m expires its counter: the base's tombstone
    assert gone_at_m == gone_at_f
    for parts in ([before, after], [after, before], [gone_at_m, after, before],
                  [before, gone_at_f, after], [gone_at_m, gone_at_f, before, after]):
        assert visible(fold(parts), 1100) == (b"-2", None)


def test_a_dead_counter_leaves_the_tombstone_of_its_base_which_merges_to_nothing_new():
    base = Record(b"1", 500, 10, "a")
    counter = increment(base, 11, 0, "b", 4)
    assert counter.deadline == 500 and visible(counter, 400) == (b"5", 500)
    assert visible(counter, 600) is None
    tombstone = tombstone_when_expired(counter)
    assert (tombstone.version, tombstone.origin, tombstone.value) == (10, "a", None)
    assert merge(tombstone, counter) == merge(counter, tombstone) == counter


def count(record, now_ms=0) -> int:
    return hyperloglog.count(hyperloglog.parse(visible(record, now_ms)[0]))


def test_concurrent_pfadds_from_three_regions_all_count():
    """Each region's first PFADD on a missing key starts a contribution of its own."""
    adds = [add_registers(None, (i + 1) << 16, 0, origin, registers(b"x%d" % i, b"shared"))
            for i, origin in enumerate(ORIGINS)]
    merged = functools.reduce(merge, adds)
    assert count(merged) == 4
    assert merged == functools.reduce(merge, reversed(adds))


def test_a_delete_newer_than_pfadds_replaces_them_and_a_later_pfadd_starts_again():
    first = add_registers(None, 1 << 16, 0, "montreal", registers(b"a", b"b"))
    gone = Record(None, None, 2 << 16, "frankfurt")
    assert visible(merge(first, gone), 0) is None
    again = add_registers(gone, 3 << 16, 0, "montreal", registers(b"c"))
    assert count(merge(merge(first, gone), again)) == 1


def test_a_pfadd_on_a_hyperloglog_string_builds_on_it_and_keeps_its_deadline():
    base = Record(HLL_AB, 9000, 1 << 16, "frankfurt")  # (a SET, or an EXPIRE, of one)
    added = add_registers(base, 2 << 16, 0, "montreal", registers(b"c"))
    assert count(added) == 3 and visible(added, 0)[1] == 9000
    assert visible(added, 9000) is None  # they expire together
    concurrent = add_registers(base, 2 << 16 | 1, 0, "singapore", registers(b"d"))
    assert count(merge(added, concurrent)) == 4


def test_an_incr_and_a_pfadd_on_a_missing_key_read_as_the_newest_of_them():
    incr = increment(None, 1 << 16, 0, "montreal", 5)
    pfadd = add_registers(None, 2 << 16, 0, "frankfurt", registers(b"a"))
    merged = merge(incr, pfadd)
    assert merged == merge(pfadd, incr)
    assert count(merged) == 1
    later = increment(None, 3 << 16, 0, "singapore", 2)
    assert visible(merge(merged, later), 0)[0] == b"7"


def test_an_incr_where_its_region_holds_an_outshone_pfadd_starts_a_counter_part():
    """The simulator's wide schedules with HyperLogLogs: a region whose part of a key
    is a HyperLogLog's, while a newer first INCR elsewhere made the key a counter,
    added its INCR to its registers (a TypeError)."""
    pfadd = add_registers(None, 1 << 16, 0, "montreal", registers(b"a"))
    incr = increment(None, 2 << 16, 0, "frankfurt", 5)
    merged = merge(pfadd, incr)
    assert visible(merged, 0)[0] == b"5"
    again = increment(merged, 3 << 16, 0, "montreal", 2)
    assert visible(again, 0)[0] == b"7"
    assert visible(merge(again, pfadd), 0)[0] == b"7"


def test_a_hyperloglog_keeps_its_deadline_when_a_second_region_adds_to_it():
    """(Review) A plain HyperLogLog with a deadline, a PFADD in one region built on it,
    then a PFADD in another on that record: its part had started from nothing and
    never expired, so the key outlived its TTL."""
    base = Record(HLL_AB, 10_000, 1 << 16, "frankfurt")
    first = add_registers(base, 2 << 16, 0, "montreal", registers(b"c"))
    second = add_registers(first, 3 << 16, 0, "singapore", registers(b"d"))
    assert count(second, 5000) == 4 and visible(second, 5000)[1] == 10_000
    assert visible(second, 20_000) is None
