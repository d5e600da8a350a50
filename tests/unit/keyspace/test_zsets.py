"""Sorted sets, sans-IO: two regions that exchange their writes by hand, in any
order (docs/collections.md, "Sorted sets")."""

import pytest
from regions import Region, exchange

from geolru.model.hashkeys import ZMEMBER_MARK


def scores(region, key) -> list:
    reply = region("ZRANGE", key, 0, -1, "WITHSCORES").split(b"\r\n")[2::2]
    return list(zip(reply[0::2], map(float, reply[1::2]), strict=True))


@pytest.mark.parametrize("reverse", [False, True])
def test_concurrent_zincrbys_add_up_on_the_score_they_saw(pair, clock, reverse):
    a, b = pair
    a("ZADD", "lb", 10, "ann")
    exchange(a, b)
    clock.advance(0.01)
    a("ZINCRBY", "lb", 2, "ann")
    b("ZINCRBY", "lb", 5, "ann")
    b("ZINCRBY", "lb", 1, "bob")  # on nothing
    clock.advance(0.01)
    a("ZINCRBY", "lb", 3, "bob")  # on nothing too, at the same time
    exchange(a, b, reverse)
    assert scores(a, "lb") == scores(b, "lb") == [(b"bob", 4.0), (b"ann", 17.0)]


def test_a_zadd_replaces_the_increments_made_on_an_older_score(pair, clock):
    a, b = pair
    a("ZADD", "lb", 10, "ann")
    exchange(a, b)
    clock.advance(0.01)
    a("ZADD", "lb", 20, "ann")
    clock.advance(0.01)
    b("ZINCRBY", "lb", 3, "ann")  # later, but on 10
    exchange(a, b)
    assert scores(a, "lb") == scores(b, "lb") == [(b"ann", 20.0)]


def test_an_increment_a_remove_did_not_see_keeps_the_member(pair, clock):
    a, b = pair
    a("ZADD", "lb", 10, "ann", 5, "bob")
    exchange(a, b)
    clock.advance(0.01)
    a("ZREM", "lb", "ann", "bob")
    b("ZINCRBY", "lb", 1, "ann")
    exchange(a, b)
    assert scores(a, "lb") == scores(b, "lb") == [(b"ann", 11.0)]
    clock.advance(0.01)
    a("ZREM", "lb", "ann")
    exchange(a, b)
    for region in pair:
        assert region("EXISTS", "lb") == b":0\r\n"
    clock.advance(0.01)
    b("ZINCRBY", "lb", 2, "ann")  # removed everywhere: it starts again from nothing
    exchange(a, b)
    assert scores(a, "lb") == scores(b, "lb") == [(b"ann", 2.0)]


def test_a_sorted_set_is_read_back_from_the_store_in_order(tmp_path, clock):
    a = Region(tmp_path, "a", clock)
    a("ZADD", "z", 3, "c", 1, "a", 2, "b", 1, "aa")
    a.store.commit_and_wait()
    assert len(list(a.store.fields(b"z", b"", ZMEMBER_MARK))) == 4
    a.keyspace.cache.clear()
    assert [m for m, _ in scores(a, "z")] == [b"a", b"aa", b"b", b"c"]
    assert a("ZRANK", "z", "b") == b":2\r\n" and a("TYPE", "z") == b"+zset\r\n"


def test_a_sorted_set_and_a_set_made_at_once_the_newer_replaces_the_older(pair, clock):
    a, b = pair
    a("SADD", "k", "m")
    clock.advance(0.01)
    b("ZADD", "k", 1, "z")
    exchange(a, b)
    for region in pair:
        assert region("TYPE", "k") == b"+zset\r\n" and scores(region, "k") == [(b"z", 1.0)]


def test_a_member_named_twice_in_one_zadd_is_written_once_as_it_ends(pair, clock):
    """Wide seed 3000030653: two states of one version, the regions kept different ones."""
    a, b = pair
    assert a("ZADD", "z", 7, "p", 17, "p") == b":1\r\n"
    exchange(a, b)
    assert scores(a, "z") == scores(b, "z") == [(b"p", 17.0)]


def test_the_cached_order_is_kept_through_writes_not_sorted_again(pair, clock):
    """Once a range was read, local writes (ZADD, ZINCRBY, ZREM, pops) and a peer's
    move members in the cached order itself: it stays the same list, and always equal
    to sorting the members afresh."""
    import random
    a, b = pair
    a("ZADD", "lb", *(x for i in range(200) for x in (i % 17, f"m{i}")))
    exchange(a, b)
    a("ZRANGE", "lb", 0, 0)
    b("ZRANGE", "lb", 0, 0)
    kept = {r: r.keyspace.cache.entry(b"lb").order for r in (a, b)}
    rng = random.Random(7)
    for step in range(300):
        region = a if step % 3 else b
        member = f"m{rng.randrange(220)}"
        roll = rng.random()
        if roll < 0.4:
            region("ZINCRBY", "lb", rng.randint(-5, 5), member)
        elif roll < 0.7:
            region("ZADD", "lb", rng.randint(0, 30), member)
        elif roll < 0.9:
            region("ZREM", "lb", member)
        else:
            region("ZPOPMIN", "lb")
        clock.advance(0.001)
        if step % 10 == 0:
            exchange(a, b)
    exchange(a, b)
    for region in (a, b):
        entry = region.keyspace.cache.entry(b"lb")
        assert entry.order is kept[region]  # (never dropped and sorted again)
        assert entry.order == sorted((float(s), m) for m, s in entry.fields.items())
    assert a("ZRANGE", "lb", 0, -1, "WITHSCORES") == b("ZRANGE", "lb", 0, -1, "WITHSCORES")


def test_zrank_withscore_answers_as_redis_7_2(pair):
    """``WITHSCORE`` came in Redis 7.2 (the differential test's redis-server is 7.0):
    the rank and the score, a null array for a missing member, in RESP2 and RESP3."""
    from geolru.commands.table import Session
    a, _ = pair
    a("ZADD", "z", "1.5", "x", "2", "y")
    assert a("ZRANK", "z", "y", "WITHSCORE") == b"*2\r\n:1\r\n$1\r\n2\r\n"
    assert a("ZREVRANK", "z", "y", "withscore") == b"*2\r\n:0\r\n$1\r\n2\r\n"
    assert a("ZRANK", "z", "nope", "WITHSCORE") == b"*-1\r\n"
    assert a("ZRANK", "none", "x", "WITHSCORE") == b"*-1\r\n"
    assert a("ZRANK", "z", "x", "WITHSCORES") == b"-ERR syntax error\r\n"
    assert a("ZRANK", "z", "x", "WITHSCORE", "x").startswith(b"-ERR wrong number")
    resp3 = Session(2)
    a.table.execute(resp3, [b"HELLO", b"3"])
    assert a.table.execute(resp3, [b"ZRANK", b"z", b"x", b"WITHSCORE"]) == \
        b"*2\r\n:0\r\n,1.5\r\n"
    assert a.table.execute(resp3, [b"ZRANK", b"z", b"q", b"WITHSCORE"]) == b"_\r\n"
