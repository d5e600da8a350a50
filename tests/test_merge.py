"""The merge rule: any order, duplication or interleaving converges (hypothesis)."""

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.merge import increment, merge
from geolru.protocols import parse_int
from geolru.record import Record

ORIGINS = ("frankfurt", "montreal", "singapore")


@st.composite
def histories(draw):
    """Records one key gets from writes at several regions, each seeing some earlier one."""
    records = []
    for i in range(draw(st.integers(1, 12))):
        origin = draw(st.sampled_from(ORIGINS))
        seen = draw(st.sampled_from([None, *records])) if records else None
        version = (i + 1) * 65536 + draw(st.integers(0, 3))
        op = draw(st.sampled_from(["set", "del", "incr", "incr", "expire"]))
        if op == "set":
            records.append(Record(draw(st.sampled_from([b"1", b"x", b"10"])), None, version,
                                  origin))
        elif op == "del":
            records.append(Record(None, None, version, origin))
        elif op == "expire" and seen is not None and seen.value is not None:
            records.append(Record(seen.value, 5000 + i, version, origin))  # a plain write
        else:
            live = seen is not None and seen.value is not None
            current = parse_int(seen.value) if live else 0
            if current is None:
                continue  # INCR on a non-integer is refused before it replicates
            records.append(increment(seen, version, origin, draw(st.integers(-3, 3)),
                                     current, seen.deadline if live else None))
    return records


def fold(records):
    return functools.reduce(merge, records, None)


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
            value = parse_int(seen.value) if seen is not None else 0
            version += 1
            local[origin] = increment(seen, version, origin, 1, value, None)
    assert fold(local.values()).value == b"300"


def test_set_newer_than_the_counter_base_replaces_the_counter():
    counter = increment(None, 10, "a", 5, 0, None)
    replaced = Record(b"hello", None, 20, "b")
    assert merge(counter, replaced) == replaced


def test_increments_on_a_set_value_build_on_it():
    base = Record(b"10", None, 10, "a")
    one = increment(base, 11, "a", 1, 10, None)
    two = increment(base, 12, "b", 2, 10, None)
    assert fold([base, one, two]).value == b"13"


def test_a_counter_after_a_delete_is_not_hidden_by_the_delete():
    gone = Record(None, None, 10, "a")
    counted = increment(gone, 11, "b", 1, 0, None)
    assert fold([counted, gone]).value == b"1"
    assert fold([gone, counted]).value == b"1"


def test_last_writer_wins_with_deterministic_ties():
    a = Record(b"a", None, 100, "frankfurt")
    b = Record(b"b", None, 100, "montreal")
    assert merge(a, b) == merge(b, a) == b
    older = Record(b"old", None, 99, "singapore")
    assert merge(older, a) == a
