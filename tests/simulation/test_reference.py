"""The simulator's reference model of the merge rules, on histories small enough to
work out by hand (docs/replication.md, "Counters")."""

from simulation.reference import (
    HashWrite,
    MemberOp,
    Op,
    ScoreOp,
    hash_outcome,
    outcomes,
    set_outcome,
    string_outcome,
    zscore,
)

NOW = 10_000


def write(version, origin, value, deadline=None):
    return Op((version, origin), value, deadline)


def incr(version, origin, delta, base=None, since=None):
    """An increment on ``base`` (a write its region had seen), or on nothing: a
    region's first starts at its own version, its next ones ``since`` then."""
    since = since or (base.stamp if base is not None else (version, origin))
    return Op((version, origin), delta=delta, since=since, base=base)


def test_the_later_write_wins_ties_broken_by_region():
    assert string_outcome([write(2, "a", b"x"), write(1, "b", b"y")], NOW) == (b"x", None)
    assert string_outcome([write(2, "a", b"x"), write(2, "b", b"y")], NOW) == (b"y", None)
    assert string_outcome([write(2, "a", b"x"), write(3, "b", None)], NOW) is None


def test_a_value_past_its_deadline_is_gone():
    assert string_outcome([write(1, "a", b"x", deadline=NOW)], NOW) is None
    assert string_outcome([write(1, "a", b"x", deadline=NOW + 1)], NOW) == (b"x", NOW + 1)


def test_concurrent_increments_on_one_base_all_count_and_the_base_once():
    base = write(1, "a", b"10")
    history = [base, incr(2, "a", 1, base), incr(3, "a", 2, base), incr(2, "b", 5, base),
               incr(4, "c", -3, base)]
    assert string_outcome(history, NOW) == (b"15", None)


def test_increments_on_nothing_count_from_zero():
    history = [incr(5, "a", 3), incr(6, "b", 4), incr(7, "a", 1, since=(5, "a"))]
    assert string_outcome(history, NOW) == (b"8", None)


def test_a_newer_set_or_del_voids_the_increments_made_before_it():
    base = write(1, "a", b"10")
    history = [base, incr(2, "b", 5, base), write(3, "a", b"7")]
    assert string_outcome(history, NOW) == (b"7", None)
    assert string_outcome([base, incr(2, "b", 5, base), write(3, "c", None)], NOW) is None
    # an increment started after the delete, on nothing, counts from zero
    assert string_outcome([base, write(3, "c", None), incr(4, "b", 2)], NOW) == (b"2", None)


def test_an_increment_carries_its_base_even_if_the_write_itself_was_lost():
    base = write(1, "a", b"10")
    assert string_outcome([incr(2, "b", 1, base)], NOW) == (b"11", None)


def test_increments_expire_with_their_base_those_on_nothing_never():
    base = write(1, "a", b"10", deadline=NOW)
    assert string_outcome([base, incr(2, "a", 1, base)], NOW) is None
    assert string_outcome([base, incr(2, "a", 1, base)], NOW - 1) == (b"11", NOW)
    # after the expiry, a region starts on nothing: only its own increments remain
    assert string_outcome([base, incr(2, "a", 1, base), incr(9, "b", 4)], NOW) == (
        b"4", None)


def test_a_regions_later_start_replaces_its_earlier_one():
    """A region starts again only once its earlier increments were voided or dead."""
    base = write(1, "a", b"10", deadline=NOW)
    history = [base, incr(2, "b", 1, base), incr(11_000, "b", 7)]
    assert string_outcome(history, NOW + 2_000) == (b"7", None)


def test_outcomes_are_the_certain_writes_with_any_subset_of_the_others():
    certain = [incr(1, "a", 1)]
    maybe = [incr(2, "a", 2, since=(1, "a")), write(3, "b", b"x")]
    assert outcomes(certain, maybe, NOW) == {(b"1", None), (b"3", None), (b"x", None)}


def test_a_hash_is_its_fields_written_after_its_clear_point():
    fields = {b"a": [write(1, "x", b"old")], b"b": [write(5, "y", b"new")]}
    history = [write(3, "z", None)]  # a DEL between the two HSETs
    hashes = [HashWrite((1, "x"), sets_deadline=True), HashWrite((5, "y"), sets_deadline=True)]
    assert hash_outcome(history, hashes, fields, NOW) == ("hash", ((b"b", b"new"),), None)


def test_a_string_newer_than_every_write_to_the_hash_wins_and_the_other_way_round():
    fields = {b"a": [write(2, "x", b"v")]}
    hashes = [HashWrite((2, "x"), sets_deadline=True)]
    assert hash_outcome([write(3, "y", b"s")], hashes, fields, NOW) == ("string", b"s", None)
    assert hash_outcome([write(1, "y", b"s")], hashes, fields, NOW) == (
        "hash", ((b"a", b"v"),), None)


def test_the_newest_deadline_setter_after_the_clear_point_decides():
    fields = {b"a": [write(2, "x", b"v")], b"b": [write(6, "y", b"w")]}
    hashes = [HashWrite((2, "x"), sets_deadline=True),  # made the hash
              HashWrite((4, "x"), sets_deadline=True, deadline=NOW + 5),  # PEXPIRE
              HashWrite((6, "y"))]  # an HSET of the hash: no deadline of its own
    assert hash_outcome([], hashes, fields, NOW) == (
        "hash", ((b"a", b"v"), (b"b", b"w")), NOW + 5)
    assert hash_outcome([], hashes, fields, NOW + 5) is None


def test_field_increments_before_the_clear_point_are_void():
    fields = {b"n": [incr(2, "x", 5), incr(4, "y", 3)]}
    hashes = [HashWrite((2, "x"), sets_deadline=True), HashWrite((4, "y"))]
    assert hash_outcome([write(3, "z", None)], hashes, fields, NOW) == (
        "hash", ((b"n", b"3"),), None)


def test_a_set_member_stays_while_an_add_no_remove_saw_stands():
    made = [HashWrite((1, "a"), sets_deadline=True, kind="set"),
            HashWrite((2, "b"), kind="set")]
    added_a, added_b = MemberOp((1, "a")), MemberOp((2, "b"))
    saw_a = MemberOp(seen=(("a", (1, "a")),))  # a remove at b, of a's add only
    assert set_outcome([], made, {b"x": [added_a, saw_a]}, NOW) is None
    assert set_outcome([], made, {b"x": [added_a, added_b, saw_a], b"y": [added_a]},
                       NOW) == ("set", (b"x", b"y"), None)  # b's add: unseen, it wins
    later = MemberOp(seen=(("a", (1, "a")), ("b", (2, "b"))))
    assert set_outcome([], made, {b"x": [added_a, added_b, later]}, NOW) is None


def test_a_delete_of_the_set_hides_the_adds_made_before_it():
    made = [HashWrite((1, "a"), sets_deadline=True, kind="set"),
            HashWrite((5, "b"), sets_deadline=True, kind="set")]
    members = {b"x": [MemberOp((1, "a"))], b"y": [MemberOp((5, "b"))]}
    assert set_outcome([write(3, "a", None)], made, members, NOW) == ("set", (b"y",), None)
    assert set_outcome([write(6, "a", b"s")], made, members, NOW) == ("string", b"s", None)


def test_a_collection_of_another_kind_made_later_replaces_the_older_whole():
    hash_made, set_made = HashWrite((1, "a"), sets_deadline=True), HashWrite(
        (2, "b"), sets_deadline=True, kind="set")
    fields = {b"f": [write(1, "a", b"v")]}
    members = {b"m": [MemberOp((2, "b"))]}
    assert set_outcome([], [hash_made, set_made], members, NOW, fields) == (
        "set", (b"m",), None)
    again = HashWrite((3, "a"), sets_deadline=True)  # the key made a hash again: f is gone
    assert set_outcome([], [hash_made, set_made, again], members, NOW,
                       {b"f": [write(1, "a", b"v")], b"g": [write(3, "a", b"w")]}) == (
        "hash", ((b"g", b"w"),), None)


def zadd(version, origin, score):
    return ScoreOp((version, origin), score=score)


def zincrby(version, origin, delta, since):
    """An increment its region started at ``since``: the ``ZADD`` it built on, or its
    region's first increment on nothing (its own version)."""
    return ScoreOp((version, origin), delta=delta, since=since)


def zrem(**seen):
    """A remove that had seen, per region, its writes up to that version."""
    return MemberOp(seen=tuple((region, (version, region)) for region, version in seen.items()))


def test_zscore_the_users_example_of_docs_types():
    """docs/types.md, "Sorted sets": M and F, ``ann`` and ``bob``."""
    ann_base, bob_base = zadd(1, "m", 10.0), zadd(1, "m", 5.0)
    ann = [ann_base, zincrby(2, "m", 2.0, (1, "m")), zincrby(2, "f", 5.0, (1, "m"))]
    assert zscore(ann) == 17.0
    bob = [bob_base, zadd(3, "m", 30.0), zincrby(3, "f", 1.0, (1, "m"))]
    assert zscore(bob) == 30.0  # the ZADD voids the increment made on the older score
    # M removes ann, having seen its own writes only; F adds 1 more, unseen by it
    ann += [zrem(m=2), zincrby(4, "f", 1.0, (1, "m"))]
    assert zscore(ann) == 16.0  # F's 5 and 1, on the 10 they built on


def test_zscore_the_example_of_docs_collections():
    """docs/collections.md, "Sorted sets": three regions."""
    ops = [zadd(1, "m", 10.0), zincrby(2, "f", 2.0, (1, "m")), zincrby(2, "s", 5.0, (1, "m"))]
    assert zscore(ops) == 17.0
    ops += [zadd(3, "m", 20.0), zincrby(3, "f", 3.0, (1, "m"))]  # F had not seen step 3
    assert zscore(ops) == 20.0
    # S, having seen step 3, adds 1 on the 20; M's remove had not seen that
    ops += [zrem(m=3, f=3, s=2), zincrby(4, "s", 1.0, (3, "m"))]
    assert zscore(ops) == 21.0


def test_zscore_increments_on_nothing_add_up_and_a_clear_removes_what_came_before():
    ops = [zincrby(1, "a", 2.0, (1, "a")), zincrby(2, "b", 3.0, (2, "b"))]
    assert zscore(ops) == 5.0
    assert zscore(ops, cleared=(2, "b")) is None
    # an increment made after the clear, at a region that had not seen it, keeps its
    # region's start, and the base that start was
    ops = [zadd(1, "a", 10.0), zincrby(3, "a", 1.0, (1, "a"))]
    assert zscore(ops, cleared=(2, "b")) == 11.0


def test_zscore_a_regions_increments_of_one_start_count_together_or_not_at_all():
    ops = [zadd(1, "a", 10.0), zincrby(2, "b", 1.0, (1, "a")), zincrby(4, "b", 2.0, (1, "a"))]
    assert zscore([*ops, zrem(a=1, b=2)]) == 13.0  # the remove missed B's newest
    assert zscore([*ops, zrem(a=1, b=4)]) is None
    # a member removed at its region starts again on nothing there
    assert zscore([*ops, zrem(a=1, b=4), zincrby(5, "b", 7.0, (5, "b"))]) == 7.0


def test_zscore_a_region_that_begins_again_on_a_start_it_had_counts_from_there():
    """Singapore's 3 on the base 2, then a clear that saw it; Frankfurt, not having
    seen the clear, adds 3 on that base; Singapore, having seen it, adds 1 on
    Frankfurt's 5: 6, not 9 (wide seed 3008200347)."""
    base = zadd(1, "s", 2.0)
    ops = [base, zincrby(2, "s", 3.0, (1, "s")), zincrby(4, "f", 3.0, (1, "s")),
           ScoreOp((5, "s"), delta=1.0, since=(1, "s"), again=True)]
    assert zscore(ops, cleared=(3, "m")) == 6.0
