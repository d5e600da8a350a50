"""A sorted set's member (``geolru.model.zmember``): any order, duplication or
interleaving of the same writes converges (hypothesis), and the rule of
docs/collections.md ("Sorted sets") holds on histories worked out by hand."""

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.model.zmember import ZMember

REGIONS = ("frankfurt", "montreal", "singapore")


def v(n: int, region: str = "montreal"):
    return (n << 16, region)


@st.composite
def histories(draw):
    """States made by ZADD, ZINCRBY and ZREM, each at a region on a state it had seen
    (the join of some earlier ones)."""
    states = []
    for i in range(draw(st.integers(1, 14))):
        region = draw(st.sampled_from(REGIONS))
        seen = functools.reduce(ZMember.join, draw(st.lists(st.sampled_from(states))
                                                   if states else st.just([])), ZMember())
        kind = draw(st.sampled_from(("assign", "increment", "remove")))
        version = ((i + 1) << 16, region)
        if kind == "assign":
            states.append(seen.assign(version, float(draw(st.integers(-5, 5)))))
        elif kind == "increment":
            states.append(seen.increment(version, float(draw(st.integers(-3, 3)))))
        else:
            states.append(seen.remove(version))
    return states


@settings(max_examples=300)
@given(histories(), st.randoms(use_true_random=False))
def test_any_order_of_the_same_writes_converges(states, rng):
    joined = functools.reduce(ZMember.join, states, ZMember())
    shuffled = states + states[: len(states) // 2]  # (some twice)
    rng.shuffle(shuffled)
    again = functools.reduce(ZMember.join, shuffled, ZMember())
    assert again == joined
    assert joined.join(joined) == joined
    assert (joined.present(), joined.score()) == (again.present(), again.score())


def test_concurrent_increments_all_count_on_the_base_they_saw():
    made = ZMember().assign(v(1), 10.0)
    a = made.increment(v(2, "frankfurt"), 2.0)
    b = made.increment(v(3, "singapore"), 5.0)
    assert a.join(b).score() == 17.0
    assert a.join(b).increment(v(4, "frankfurt"), 1.0).score() == 18.0


def test_a_zadd_replaces_the_increments_made_on_an_older_score_whatever_their_time():
    made = ZMember().assign(v(1), 10.0)
    later_base = made.assign(v(5, "frankfurt"), 20.0)
    increment = made.increment(v(6, "singapore"), 3.0)  # later, but on the older score
    assert later_base.join(increment).score() == 20.0
    assert later_base.join(increment).increment(v(7, "singapore"), 3.0).score() == 23.0


def test_an_increment_a_remove_did_not_see_keeps_the_member_and_its_score():
    made = ZMember().assign(v(1), 10.0)
    removed = made.remove(v(3, "singapore"))  # saw the ZADD only
    increment = made.increment(v(2, "frankfurt"), 5.0)
    joined = removed.join(increment)
    assert joined.present() and joined.score() == 15.0  # the base it built on comes along
    assert removed.present() is False and removed.score() is None


def test_a_member_removed_and_added_again_starts_from_what_the_add_says():
    gone = ZMember().assign(v(1), 10.0).increment(v(2), 5.0).remove(v(2, "s"))
    assert gone.increment(v(3), 1.0).score() == 1.0
    assert gone.assign(v(3, "frankfurt"), 7.0).score() == 7.0


def test_a_clear_of_the_key_hides_every_write_made_before_it():
    member = ZMember().assign(v(1), 10.0).increment(v(2, "frankfurt"), 1.0)
    assert member.present(cleared=v(3)) is False and member.score(v(3)) is None
    assert member.increment(v(4), 2.0, cleared=v(3)).score(v(3)) == 2.0


@settings(max_examples=200)
@given(histories())
def test_a_member_survives_the_codec_as_a_record(states):
    from geolru.model import members
    from geolru.model.record import decode, encode

    joined = functools.reduce(ZMember.join, states, ZMember())
    record = members.member_record(joined)
    assert decode(encode(record, 9)) == (9, record)
    assert members.zscore(record) == joined.score()


def test_the_examples_of_docs_types_md_and_collections_md():
    made = ZMember().assign(v(1), 10.0).assign(v(1, "montreal"), 10.0)
    step2 = made.increment(v(2), 2.0).join(made.increment(v(3, "frankfurt"), 5.0))
    assert step2.score() == 17.0
    after = step2.remove(v(4)).join(step2.increment(v(5, "frankfurt"), 1.0))
    assert after.score() == 16.0  # docs/types.md, sorted sets, step 4
    s1 = ZMember().assign(v(1, "m"), 10.0)
    s2 = s1.increment(v(2, "f"), 2.0).join(s1.increment(v(3, "s"), 5.0))
    s3 = s2.assign(v(4, "m"), 20.0).join(s2.increment(v(5, "f"), 3.0))
    assert (s2.score(), s3.score()) == (17.0, 20.0)
    s4 = s3.remove(v(6, "m")).join(s3.increment(v(7, "s"), 1.0))
    assert s4.score() == 21.0  # docs/collections.md, the table's last row


def test_since_drops_the_writes_made_before_a_clear():
    from geolru.model.zmember import ZMember
    state = ZMember().assign((10, "montreal"), 1.0).assign((30, "frankfurt"), 2.0)
    later = state.since((20, "montreal"))
    assert [region for region, _ in later.entries] == ["frankfurt"]
    assert later.score() == state.score((20, "montreal")) == 2.0
