"""An observed-remove set's member: any order, duplication or interleaving of the same
adds and removes converges (hypothesis), and agrees with the rule as the tags of the
adds a remove saw (docs/collections.md)."""

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from geolru.model.orset import NONE, UNKNOWN, Member

REGIONS = ("frankfurt", "montreal", "singapore")


@st.composite
def histories(draw):
    """(states, tags): each write is an add or a remove at a region that had seen
    some earlier state; ``tags`` follows the same history as sets of add tags, each
    remove taking away the adds its region had seen (a region's later add holds its
    earlier ones)."""
    states, tags = [], []
    for i in range(draw(st.integers(1, 12))):
        region = draw(st.sampled_from(REGIONS))
        j = draw(st.integers(-1, len(states) - 1))
        seen, seen_tags = (states[j], tags[j]) if j >= 0 else (Member(), (frozenset(),
                                                                           frozenset()))
        added, removed = seen_tags
        version = ((i + 1) << 16, region)
        if draw(st.booleans()):
            states.append(seen.add(version))
            tags.append((added | {version}, removed))
        else:
            states.append(seen.remove(version))
            tags.append((added, removed | added))
    return states, tags


def fold(states):
    return functools.reduce(Member.join, states, Member())


def reference(tags, cleared=NONE) -> bool:
    """Present: some add not removed, nor held by a later add of its region that a
    remove saw, nor older than the clear."""
    added = frozenset().union(*(a for a, _ in tags))
    removed = frozenset().union(*(r for _, r in tags))
    newest = {}
    for version in added:
        newest[version[1]] = max(version, newest.get(version[1], NONE))
    covered = {}
    for version in removed:
        covered[version[1]] = max(version, covered.get(version[1], NONE))
    return any(v > covered.get(region, NONE) and v > cleared for region, v in newest.items())


@settings(max_examples=300, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_every_order_and_duplication_converges_to_what_the_tags_say(history, rng):
    states, tags = history
    expected = fold(states)
    assert expected.present() == reference(tags)
    for _ in range(4):
        shuffled = states + rng.sample(states, len(states) // 2)
        rng.shuffle(shuffled)
        assert fold(shuffled) == expected
    assert Member.decode(expected.encode()) == expected


def test_an_add_wins_over_a_concurrent_remove():
    montreal = Member().add((1 << 16, "montreal"))
    removed = montreal.remove((2 << 16, "frankfurt"))  # frankfurt saw montreal's add, removes it
    again = montreal.add((2 << 16, "singapore"))  # singapore adds it again, concurrently
    assert not removed.present()
    assert removed.join(again).present() and again.join(removed).present()


def test_a_remove_after_every_add_was_seen_removes_it_for_good():
    both = Member().add((1 << 16, "montreal")).add((2 << 16, "singapore"))
    gone = both.remove((3 << 16, "frankfurt"))
    assert not gone.join(Member().add((1 << 16, "montreal"))).present()  # (a late copy)
    assert gone.join(gone.add((3 << 16, "frankfurt"))).present()  # added again, after


def test_a_clear_hides_the_adds_made_before_it():
    member = Member().add((1 << 16, "montreal")).add((5 << 16, "frankfurt"))
    assert member.present((3 << 16, "x")) and not member.present((6 << 16, "x"))
    assert member.version == (5 << 16, "frankfurt")


@settings(max_examples=200, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_member_records_join_in_any_order_and_survive_the_codec(history, rng):
    """The record form (``geolru.model.members``): joins in any order agree, and
    encode/decode gives the same record back (what the store and the wire carry)."""
    from geolru.model import members
    from geolru.model.record import decode, encode

    records = [members.member_record(state) for state in history[0]]
    shuffled = list(records)
    rng.shuffle(shuffled)
    joined = functools.reduce(members.join, records, None)
    assert functools.reduce(members.join, shuffled, None) == joined
    assert members.join(joined, joined) == joined
    assert decode(encode(joined, 7)) == (7, joined)
    assert members.present(joined) == fold(history[0]).present()


def test_a_set_header_says_its_kind_and_a_hash_header_reads_as_before():
    from geolru.model.hashkeys import SET, HashMeta

    assert HashMeta((1, "a"), (2, "b")).encode() == "1 a 2 b"  # (as older releases wrote)
    meta = HashMeta((1, "a"), (2, "b"), SET)
    assert HashMeta.decode(meta.encode()) == meta


def test_removers_say_whose_stream_carries_each_remove():
    member = Member().add((1 << 16, "montreal"))
    gone = member.remove((2 << 16, "frankfurt")).join(member.remove((3 << 16, "singapore")))
    assert gone.removers == (("frankfurt", (2 << 16, "frankfurt")),
                             ("singapore", (3 << 16, "singapore")))
    assert Member.decode(gone.encode()) == gone


def test_a_record_of_a_release_before_removers_decodes_with_an_unknown_remover():
    old = Member((("montreal", (1, "montreal")),), (("montreal", (1, "montreal")),))
    text = old.encode()  # (no removers: the old words)
    assert "/" not in text
    assert Member.decode(text).removers == ((UNKNOWN, (1, UNKNOWN)),)
    assert Member.decode(Member.decode(text).encode()) == Member.decode(text)
    assert Member.decode(Member().add((1, "montreal")).encode()).removers == ()


def test_since_drops_the_writes_made_before_a_clear():
    state = Member().add((10, "montreal")).add((30, "frankfurt")).remove((40, "montreal"))
    later = state.since((20, "montreal"))
    assert later.adds == (("frankfurt", (30, "frankfurt")),)
    assert later.present() == state.present((20, "montreal")) is False
    assert later.version == state.version == (40, "montreal")
    assert state.since((50, "x")) == Member()
