"""Sorted sets between two real regions whose links are cut while both write (redis-py
as the client): increments from both add up, a ZADD replaces the increments made on
an older score, an increment a remove did not see keeps the member."""


def test_a_leaderboard_written_in_two_regions_at_once(split):
    split.m.zadd("lb", {"ann": 10, "bob": 5})
    split.both(lambda c: c.zscore("lb", "ann") == 10.0, "the board everywhere")
    split.cut()
    split.m.zincrby("lb", 2, "ann")
    split.f.zincrby("lb", 5, "ann")  # both add up
    split.m.zadd("lb", {"bob": 30})  # a new score: Frankfurt's increment on 5 is void
    split.f.zincrby("lb", 1, "bob")
    split.m.zrem("lb", "cid")
    split.f.zincrby("lb", 4, "cid")  # new here
    assert split.m.zrange("lb", 0, -1, withscores=True) == [(b"ann", 12.0), (b"bob", 30.0)]
    split.heal()
    want = [(b"cid", 4.0), (b"ann", 17.0), (b"bob", 30.0)]
    split.both(lambda c: c.zrange("lb", 0, -1, withscores=True) == want,
               "the merged board everywhere")
    assert split.f.zrevrank("lb", "bob") == 0 and split.m.zcount("lb", 4, "(30") == 2


def test_an_increment_a_remove_did_not_see_keeps_the_member(split):
    split.m.zadd("gone", {"x": 1})
    split.both(lambda c: c.zscore("gone", "x") == 1.0, "the member everywhere")
    split.cut()
    split.m.zrem("gone", "x")
    split.f.zincrby("gone", 2, "x")
    split.heal()
    split.both(lambda c: c.zscore("gone", "x") == 3.0, "the increment kept it everywhere")
