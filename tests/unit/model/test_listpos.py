"""List positions (``geolru.model.listpos``): every new position falls where it was
asked to, and element records join the same in any order, a remove winning."""

from hypothesis import given
from hypothesis import strategies as st

from geolru.model import listpos
from geolru.model.record import Record


def test_pushes_stay_one_level_deep():
    first = listpos.between(None, None, 10, "a")
    right = listpos.between(first[-1], None, 11, "a", count=3)
    left = listpos.between(None, first[0], 12, "b", count=2)
    order = left + first + right
    assert sorted(order, key=listpos.decode) == order
    assert all(b";" not in p for p in order)
    assert listpos.created(right[1]) == (11, "a")


def test_two_regions_pushing_at_once_keep_each_push_together():
    base = listpos.between(None, None, 1, "a")
    mine = listpos.between(base[0], None, 5, "a", count=3)
    theirs = listpos.between(base[0], None, 5, "b", count=3)
    merged = sorted(mine + theirs, key=listpos.decode)
    assert merged == mine + theirs  # (a's version-mates first: by origin, then index)


@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=1, max_size=60))
def test_inserts_anywhere_fall_between_their_neighbours(steps):
    """Any sequence of inserts (between two neighbours, at either end) keeps every
    position unique and where it was put."""
    order = []
    for version, (at, ends) in enumerate(steps, start=1):
        where = at % (len(order) + 1)
        if ends:
            where = 0 if at % 2 else len(order)
        low = order[where - 1] if where > 0 else None
        high = order[where] if where < len(order) else None
        new = listpos.between(low, high, version, "r%d" % (at % 3))
        order[where:where] = new
        assert sorted(order, key=listpos.decode) == order
    assert len(set(order)) == len(order)


def _records():
    return st.tuples(st.one_of(st.none(), st.sampled_from([b"x", b"y"])),
                     st.integers(1, 5), st.sampled_from(["a", "b"])).map(
        lambda t: Record(t[0], None, t[1], t[2]))


@given(st.lists(_records(), min_size=1, max_size=6), st.randoms())
def test_element_records_join_in_any_order_and_a_remove_wins(records, rng):
    def fold(sequence):
        state = None
        for record in sequence:
            state = listpos.join(state, record)
        return state
    shuffled = list(records)
    rng.shuffle(shuffled)
    assert fold(records) == fold(shuffled) == fold(records + shuffled)
    assert (fold(records).value is None) == any(r.value is None for r in records)


def test_an_element_inserted_before_a_clear_is_not_in_the_list():
    name = listpos.between(None, None, 10, "a")[0]
    assert listpos.visible(name, Record(b"v", None, 20, "b"), (15, "a")) is None
    assert listpos.visible(name, Record(b"v", None, 20, "b"), (5, "a")) == b"v"
