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


RUN_VALUES = st.lists(st.binary(max_size=5), min_size=1, max_size=20)


@given(RUN_VALUES, st.lists(st.integers(0, 2 ** 20 - 1), min_size=3, max_size=3))
def test_runs_join_as_their_removed_elements_add_up(values, removes):
    """Any order, any repeats: the run a region ends with has every element removed
    that any copy had removed, and is a tombstone once that is all of them."""
    stem, names = listpos.run_names(None, None, 7, "a", len(values))
    run = Record(listpos.pack_run(values), None, 7, "a")
    copies = [listpos.run_removing(run, bits % (1 << len(values))) for bits in removes]
    every = 0
    for bits in removes:
        every |= bits % (1 << len(values))
    joined = {}
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2, 1]):
        state = run
        for at in order:
            state = listpos.run_join(state, copies[at])
        joined[tuple(order)] = state
    assert len(set(joined.values())) == 1
    state = joined[(0, 1, 2)]
    if every == (1 << len(values)) - 1:
        assert state.value is None and (state.version, state.origin) == (7, "a")
    else:
        assert listpos.unpack_run(state.value) == (values, every)
    for index, name in enumerate(names):
        given = listpos.run_element(state, index)
        assert given.value == (None if every >> index & 1 else values[index])
        assert listpos.run_of(name) == (stem, index)
        assert listpos.created(name) == (7, "a")
    assert dict(listpos.run_elements(stem, state)) == (
        {} if state.value is None else {n: listpos.run_element(state, i)
                                        for i, n in enumerate(names)})


def test_a_run_orders_its_elements_as_pushed_and_keeps_long_values():
    base = listpos.between(None, None, 1, "a")
    stem, names = listpos.run_names(base[0], None, 5, "b", 3)
    assert listpos.is_run(stem) and not any(map(listpos.is_run, names))
    assert sorted(base + names, key=listpos.decode) == base + names
    inserted = listpos.between(names[0], names[1], 9, "c")[0]
    assert sorted([*names, inserted], key=listpos.decode) == [names[0], inserted, *names[1:]]
    assert listpos.run_of(inserted) is None and listpos.run_of(base[0]) is None
    values = [b"x" * 70_000, b"", b"y"]  # (one past 64 KiB: 4-byte lengths)
    assert listpos.unpack_run(listpos.pack_run(values, 0b010)) == (values, 0b010)


def test_odd_names_and_bits_of_a_run_change_nothing():
    """Names no geolru makes (a faulty peer's) neither mark another element nor stop
    a collection: a number with leading zeros is no element of a run, an element past
    the run's count is not in it, bits past its count remove nothing."""
    stem, names = listpos.run_names(None, None, 7, "a", 3)
    run = Record(listpos.pack_run([b"x", b"y", b"z"]), None, 7, "a")
    assert listpos.run_of(stem + b"01") is None and listpos.run_of(stem + b"1") == (stem, 1)
    assert listpos.run_element(run, 3) is None
    assert listpos.run_removing(run, 1 << 40) is run
    assert listpos.unpack_run(listpos.run_removing(run, 0b1000_0010).value)[1] == 0b010
    assert not listpos.in_a_run(b"0,7,a,1") and listpos.in_a_run(names[0])


def test_a_collection_marks_only_a_runs_own_elements():
    run = Record(listpos.pack_run([b"x", b"y"]), None, 7, "a")
    marked = listpos.run_removing_elements(run, [1, 10 ** 9])  # (a faulty peer's name)
    assert listpos.unpack_run(marked.value)[1] == 0b10
    assert listpos.run_removing_elements(marked, [0, 0]).value is None


@given(RUN_VALUES, st.lists(st.binary(max_size=5), max_size=6),
       st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2 ** 26 - 1)), min_size=1,
                max_size=4), st.randoms(use_true_random=False))
def test_grown_runs_join_to_the_longest_with_every_removal(values, later, copies, rng):
    """Copies of a run that later pushes grew by different lengths, each with some
    elements removed (a copy with all of its removed is a tombstone that counts them),
    joined in any order and with repeats: the longest, each element removed that any
    copy removed, its version the push's that made it."""
    run = Record(listpos.pack_run(values), None, 7, "a")
    grown = [run]
    for number, value in enumerate(later):
        grown.append(listpos.run_grown(grown[-1], Record(value, None, 9 + number, "a")))
    made = [copy for extra, bits in copies
            for copy in [listpos.run_removing(grown[min(extra, len(later))], bits)]]
    states = []
    for order in (made, made[::-1], rng.sample(made, len(made)) + made[:1]):
        state = None
        for copy in order:
            state = listpos.run_join(state, copy)
        states.append(state)
    assert states[0] == states[1] == states[2]
    state = states[0]
    every = [*values, *later]
    for index, value in enumerate(every):
        removed = any(
            (listpos.run_element(copy, index) or Record(b"", None, 0, "")).value is None
            for copy in made)
        given = listpos.run_element(state, index)
        longest = max(len(values) + min(extra, len(later)) for extra, _ in copies)
        if index >= longest:
            assert given is None or given.value is None
        elif removed:
            assert given.value is None
        else:
            assert given == Record(value, None, 7 if index < len(values)
                                   else 9 + index - len(values), "a")


def test_a_run_grows_only_by_a_version_it_can_keep():
    run = Record(listpos.pack_run([b"x"]), None, 7, "a")
    assert listpos.run_grown(run, Record(b"y", None, 6, "a")) is None
    assert listpos.run_grown(run, Record(b"y", None, 7 + (1 << 32), "a")) is None
    big = listpos.run_grown(run, Record(b"z" * 70_000, None, 8, "a"))  # (4-byte lengths)
    assert listpos.unpack_run(big.value) == ([b"x", b"z" * 70_000], 0)
    assert listpos.run_element(big, 1) == Record(b"z" * 70_000, None, 8, "a")
    assert listpos.run_count(big) == 2


def test_copies_of_a_run_that_took_in_different_writes_of_an_element_join_to_the_newer():
    """One region packed the push of element 1 into its copy, another (catching up)
    the run's region's later LSET of it, which it got first: they join to the LSET's
    value, whichever copy is the longer, in either order (wide seed 3007400650)."""
    run = Record(listpos.pack_run([b"a"]), None, 7, "m")
    pushed = listpos.run_grown(run, Record(b"push", None, 9, "m"))
    longer = listpos.run_grown(pushed, Record(b"more", None, 10, "m"))
    lset = listpos.run_grown(run, Record(b"lset", None, 12, "m"))
    for one, other in ((longer, lset), (pushed, lset)):
        joined = listpos.run_join(one, other)
        assert joined == listpos.run_join(other, one)
        assert listpos.run_element(joined, 1) == Record(b"lset", None, 12, "m")
    assert listpos.run_element(listpos.run_join(longer, lset), 2).value == b"more"
    marked = listpos.run_removing(lset, 0b10)
    assert listpos.run_element(listpos.run_join(longer, marked), 1).value is None
